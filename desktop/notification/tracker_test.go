package notification

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"
)

// The tracker's tests need no bus: they drive it as the manager and the signal reader
// do, with a clock of their own.

var t0 = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

// clock is a settable time, safe for the goroutines of one test.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

const testKeepAlive = 10 * time.Minute

func newTestTracker(max int) (*tracker, *clock) {
	c := &clock{now: t0}
	return newTracker(max, testKeepAlive, c.Now), c
}

var yesNo = []Action{{ID: "yes", Label: "Yes"}, {ID: "no", Label: "No"}}

// step is one thing done to a tracker, at a time after t0.
type step struct {
	at time.Duration
	// post: id posted to server (freedesktop unless gtk) with serverID, actions
	// and expiry as given, shown with its actions unless hidden.
	post     string
	gtk      bool
	serverID uint32
	actions  []Action
	expire   time.Duration
	hidden   bool
	// signal: what a freedesktop server said of serverID (state, action); end: id
	// ended in state (as a signal would end it).
	signal       State
	action       string
	end          string
	forgetOrphan bool
}

func (s step) server() string {
	if s.gtk {
		return ServerGTK
	}
	return ServerFreedesktop
}

// run applies steps in order, failing on an unexpected error.
func run(t *testing.T, tr *tracker, c *clock, steps []step) {
	t.Helper()
	for _, s := range steps {
		c.set(t0.Add(s.at))
		switch {
		case s.post != "":
			if _, err := tr.reserve(s.post, s.server()); err != nil {
				t.Fatalf("reserve %s: %v", s.post, err)
			}
			res := postResult{serverID: s.serverID, actionsShown: len(s.actions) > 0 && !s.hidden}
			if _, err := tr.record(s.post, s.server(), &Message{Title: s.post, Actions: s.actions, Expire: s.expire}, res); err != nil {
				t.Fatalf("record %s: %v", s.post, err)
			}
		case s.end != "":
			st, err := tr.status(s.end)
			if err != nil {
				t.Fatal(err)
			}
			tr.mu.Lock()
			tr.setLocked(tr.entries[st.ID], s.signal, s.action)
			tr.mu.Unlock()
		case s.signal != "":
			tr.fdoEvent(s.serverID, s.signal, s.action)
		case s.forgetOrphan:
			tr.forgetOrphans()
		}
	}
}

func kindOf(err error) Kind {
	if nerr, ok := errors.AsType[*Error](err); ok {
		return nerr.Kind
	}
	return ""
}

// A full tracker forgets the oldest finished notification, else the oldest posted
// longer than MaxKeepAlive ago, and otherwise refuses a new one.
func TestTrackerEviction(t *testing.T) {
	full := []step{{post: "a", serverID: 1}, {post: "b", serverID: 2}, {post: "c", serverID: 3}}
	// a, b and c a minute apart, then a again.
	aReplaced := []step{{post: "a", serverID: 1}, {at: time.Minute, post: "b", serverID: 2}, {at: 2 * time.Minute, post: "c", serverID: 3},
		{at: 5 * time.Minute, post: "a", serverID: 1}}
	for _, tc := range []struct {
		name    string
		steps   []step
		at      time.Duration
		post    string
		forgets string // "" with tooMany false: nothing forgotten, room was there
		tooMany bool
	}{{
		name:    "all open and fresh: too many, nothing forgotten",
		steps:   full,
		post:    "d",
		tooMany: true,
	}, {
		name:    "the oldest finished goes, before an older open one",
		steps:   append(slices.Clone(full), step{end: "c", signal: StateDismissed}, step{end: "b", signal: StateExpired}),
		post:    "d",
		forgets: "b",
	}, {
		name:    "a finished one goes before an older stale one",
		steps:   append(slices.Clone(full), step{end: "c", signal: StateClosed}),
		at:      testKeepAlive + time.Hour,
		post:    "d",
		forgets: "c",
	}, {
		name:    "without a finished one, the oldest posted longer than MaxKeepAlive ago goes",
		steps:   []step{{post: "a", serverID: 1}, {at: time.Minute, post: "b", serverID: 2}, {at: 2 * time.Minute, post: "c", serverID: 3}},
		at:      testKeepAlive + 90*time.Second,
		post:    "d",
		forgets: "a",
	}, {
		name:    "posted exactly MaxKeepAlive ago is not stale yet",
		steps:   full,
		at:      testKeepAlive,
		post:    "d",
		tooMany: true,
	}, {
		name:    "a replacement is as old as its last post",
		steps:   aReplaced,
		at:      testKeepAlive + 3*time.Minute,
		post:    "d",
		forgets: "b",
	}, {
		name:    "a replacement keeps its id's place in the order",
		steps:   aReplaced,
		at:      testKeepAlive + 6*time.Minute,
		post:    "d",
		forgets: "a",
	}, {
		name:  "replacing a known id needs no room",
		steps: full,
		post:  "b",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			tr, c := newTestTracker(3)
			run(t, tr, c, tc.steps)
			before := append([]string(nil), tr.order...)
			c.set(t0.Add(tc.at))
			_, err := tr.reserve(tc.post, ServerFreedesktop)
			if tc.tooMany {
				if kindOf(err) != KindTooMany {
					t.Fatalf("reserve %s: %v, want kind %s", tc.post, err, KindTooMany)
				}
			} else if err != nil {
				t.Fatalf("reserve %s: %v", tc.post, err)
			}
			for _, id := range before {
				_, err := tr.status(id)
				if gone := kindOf(err) == KindUnknown; gone != (id == tc.forgets) {
					t.Errorf("%s forgotten: %v, want %v (order before %v)", id, gone, id == tc.forgets, before)
				}
			}
		})
	}
}

// Two posts of new ids that both found room: the second to record finds it taken and
// is not remembered.
func TestTrackerRecordFailsWhenTheRoomWasTaken(t *testing.T) {
	tr, _ := newTestTracker(1)
	for _, id := range []string{"a", "b"} {
		if _, err := tr.reserve(id, ServerFreedesktop); err != nil {
			t.Fatalf("reserve %s: %v", id, err)
		}
	}
	if _, err := tr.record("a", ServerFreedesktop, &Message{Title: "a"}, postResult{serverID: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.record("b", ServerFreedesktop, &Message{Title: "b"}, postResult{serverID: 2}); kindOf(err) != KindTooMany {
		t.Fatalf("record b in a full tracker: %v, want kind %s", err, KindTooMany)
	}
	if _, err := tr.status("b"); kindOf(err) != KindUnknown {
		t.Fatalf("b is remembered after its record failed: %v", err)
	}
}

// A freedesktop signal that overtakes the answer of Notify waits as an orphan for the
// post of its server ID.
func TestTrackerOrphanAdoption(t *testing.T) {
	for _, tc := range []struct {
		name   string
		steps  []step
		id     string
		state  State
		action string
	}{{
		name:  "a signal before the post's answer applies to it",
		steps: []step{{signal: StateDismissed, serverID: 7}, {post: "a", serverID: 7}},
		id:    "a", state: StateDismissed,
	}, {
		name:  "an action it was offered applies",
		steps: []step{{signal: StateAction, action: "yes", serverID: 7}, {post: "a", serverID: 7, actions: yesNo}},
		id:    "a", state: StateAction, action: "yes",
	}, {
		name:  "an action it was not offered is dropped",
		steps: []step{{signal: StateAction, action: "maybe", serverID: 7}, {post: "a", serverID: 7, actions: yesNo}},
		id:    "a", state: StateShown,
	}, {
		name: "an orphan is adopted once",
		steps: []step{{signal: StateExpired, serverID: 7}, {post: "a", serverID: 7},
			{post: "b", serverID: 7}},
		id: "b", state: StateShown,
	}, {
		name: "the first orphan of a server ID goes first",
		steps: []step{{signal: StateExpired, serverID: 7}, {signal: StateDismissed, serverID: 7},
			{post: "a", serverID: 7}, {post: "b", serverID: 7}},
		id: "b", state: StateDismissed,
	}, {
		name:  "a signal for a shown notification applies at once and leaves no orphan",
		steps: []step{{post: "a", serverID: 7}, {signal: StateExpired, serverID: 7}, {post: "b", serverID: 7}},
		id:    "b", state: StateShown,
	}, {
		name: "only the newest orphans are kept",
		steps: append(orphanSignals(maxOrphans+1),
			step{post: "first", serverID: 1}, step{post: "last", serverID: maxOrphans + 1}),
		id: "first", state: StateShown,
	}, {
		name: "the newest of many orphans is kept",
		steps: append(orphanSignals(maxOrphans+1),
			step{post: "last", serverID: maxOrphans + 1}),
		id: "last", state: StateExpired,
	}, {
		name:  "a new server's notification does not adopt the old server's orphans",
		steps: []step{{signal: StateDismissed, serverID: 7}, {forgetOrphan: true}, {post: "a", serverID: 7}},
		id:    "a", state: StateShown,
	}, {
		name:  "a GTK notification adopts no freedesktop signal",
		steps: []step{{signal: StateDismissed}, {post: "a", gtk: true}},
		id:    "a", state: StateShown,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			tr, c := newTestTracker(DefaultMaxTracked)
			run(t, tr, c, tc.steps)
			st, err := tr.status(tc.id)
			if err != nil || st.State != tc.state || st.Action != tc.action {
				t.Fatalf("%s: %+v, %v; want %s %q", tc.id, st, err, tc.state, tc.action)
			}
		})
	}
}

// orphanSignals are n expiries of server IDs 1 to n, for notifications not posted yet.
func orphanSignals(n int) []step {
	var steps []step
	for i := 1; i <= n; i++ {
		steps = append(steps, step{signal: StateExpired, serverID: uint32(i)})
	}
	return steps
}

// A notification with actions shown keeps its process busy until its expiry, for at
// most MaxKeepAlive.
func TestTrackerBusyUntil(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps []step
		want  time.Duration // after t0; -1: not busy
	}{
		{"actions shown, no expiry: MaxKeepAlive", []step{{post: "a", actions: yesNo}}, testKeepAlive},
		{"an expiry shorter than MaxKeepAlive", []step{{post: "a", actions: yesNo, expire: 2 * time.Minute}}, 2 * time.Minute},
		{"an expiry longer than MaxKeepAlive", []step{{post: "a", actions: yesNo, expire: time.Hour}}, testKeepAlive},
		{"counted from the post", []step{{at: time.Minute, post: "a", actions: yesNo, expire: 2 * time.Minute}}, 3 * time.Minute},
		{"the latest of several", []step{{post: "a", serverID: 1, actions: yesNo}, {at: time.Minute, post: "b", serverID: 2, actions: yesNo, expire: 5 * time.Minute}}, testKeepAlive},
		{"a replacement counts from its own post", []step{{post: "a", actions: yesNo, expire: time.Minute}, {at: 30 * time.Second, post: "a", actions: yesNo, expire: time.Minute}}, 90 * time.Second},
		{"no actions", []step{{post: "a", expire: time.Minute}}, -1},
		{"actions the server does not show", []step{{post: "a", actions: yesNo, hidden: true}}, -1},
		{"answered", []step{{post: "a", serverID: 1, actions: yesNo}, {signal: StateAction, action: "no", serverID: 1}}, -1},
		{"GTK, until its server leaves", []step{{post: "a", gtk: true, actions: yesNo}}, testKeepAlive},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, c := newTestTracker(DefaultMaxTracked)
			run(t, tr, c, tc.steps)
			var want time.Time
			if tc.want >= 0 {
				want = t0.Add(tc.want)
			}
			if got := tr.busyUntil(); !got.Equal(want) {
				t.Fatalf("busy until %v, want %v", got, want)
			}
			tr.serverGone(ServerFreedesktop)
			tr.serverGone(ServerGTK)
			if got := tr.busyUntil(); !got.IsZero() {
				t.Fatalf("busy until %v after the servers left", got)
			}
		})
	}
}
