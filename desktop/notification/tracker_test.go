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

// clock is a settable time, safe for the goroutines of one test. run keeps beside it
// what the manager's side of the test knows: the posts in flight, by id, and the last
// wire position given.
type clock struct {
	mu  sync.Mutex
	now time.Time

	inFlight map[string]reservation
	wire     uint64
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
	c := &clock{now: t0, inFlight: make(map[string]reservation)}
	return newTracker(max, testKeepAlive, c.Now), c
}

var yesNo = []Action{{ID: "yes", Label: "Yes"}, {ID: "no", Label: "No"}}

// step is one thing done to a tracker, at a time after t0.
type step struct {
	at time.Duration
	// post: id posted to server (freedesktop unless gtk) with serverID, actions
	// and expiry as given, shown with its actions unless hidden. reserve and answer
	// are its two halves apart, for what comes between: the post of id began (the
	// tracker reserved it), its Notify was answered as post says. fail: the post
	// of id failed.
	post     string
	reserve  string
	answer   string
	fail     string
	gtk      bool
	serverID uint32
	actions  []Action
	expire   time.Duration
	hidden   bool
	// signal: what a freedesktop server said of serverID (state, action); end: id
	// ended in state (as a signal would end it); close: id closed by a call.
	signal       State
	action       string
	end          string
	close        string
	forgetOrphan bool
	// wire is where the answer of a post or a signal came among the messages the
	// connection received (godbus's Sequence): the order the server sent them in,
	// which the steps' order (the order the tracker learns of them in) may not be.
	wire uint64
}

func (s step) server() string {
	if s.gtk {
		return ServerGTK
	}
	return ServerFreedesktop
}

// run applies steps in order, failing on an unexpected error. An answer or a signal
// without a wire position comes after every one given so far.
func run(t *testing.T, tr *tracker, c *clock, steps []step) {
	t.Helper()
	for _, s := range steps {
		c.set(t0.Add(s.at))
		if s.wire == 0 {
			s.wire = c.wire + 1
		}
		if s.answer != "" || s.post != "" || s.signal != "" {
			c.wire = max(c.wire, s.wire)
		}
		switch {
		case s.post != "":
			s.reserve, s.answer, s.post = s.post, s.post, ""
			run(t, tr, c, []step{s})
		case s.reserve != "" || s.answer != "":
			if s.reserve != "" {
				rsv, err := tr.reserve(s.reserve, s.server())
				if err != nil {
					t.Fatalf("reserve %s: %v", s.reserve, err)
				}
				c.inFlight[s.reserve] = rsv
			}
			if s.answer != "" {
				rsv, ok := c.inFlight[s.answer]
				if !ok {
					t.Fatalf("answer %s: no post in flight", s.answer)
				}
				delete(c.inFlight, s.answer)
				res := postResult{serverID: s.serverID, actionsShown: len(s.actions) > 0 && !s.hidden, answeredAt: s.wire}
				if _, err := tr.record(rsv, &Message{Title: s.answer, Actions: s.actions, Expire: s.expire}, res); err != nil {
					t.Fatalf("record %s: %v", s.answer, err)
				}
			}
		case s.fail != "":
			tr.abandon(c.inFlight[s.fail])
			delete(c.inFlight, s.fail)
		case s.close != "":
			tg, err := tr.closing(s.close)
			if err != nil {
				t.Fatal(err)
			}
			tr.closed(tg)
		case s.end != "":
			st, err := tr.status(s.end)
			if err != nil {
				t.Fatal(err)
			}
			tr.mu.Lock()
			tr.setLocked(tr.entries[st.ID], s.signal, s.action)
			tr.mu.Unlock()
		case s.signal != "":
			tr.fdoEvent(s.wire, s.serverID, s.signal, s.action)
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
	var rsv [2]reservation
	for i, id := range []string{"a", "b"} {
		var err error
		if rsv[i], err = tr.reserve(id, ServerFreedesktop); err != nil {
			t.Fatalf("reserve %s: %v", id, err)
		}
	}
	if _, err := tr.record(rsv[0], &Message{Title: "a"}, postResult{serverID: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.record(rsv[1], &Message{Title: "b"}, postResult{serverID: 2}); kindOf(err) != KindTooMany {
		t.Fatalf("record b in a full tracker: %v, want kind %s", err, KindTooMany)
	}
	if _, err := tr.status("b"); kindOf(err) != KindUnknown {
		t.Fatalf("b is remembered after its record failed: %v", err)
	}
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
