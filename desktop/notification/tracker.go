package notification

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// tracker is the state of the notifications a Manager posted: the status of each, the
// order they were posted in, who waits for a change, the freedesktop posts in flight
// and the signals that may be about them (orphans.go), and which to forget when it is
// full. It knows nothing of the bus: the manager records what a backend made of a post
// or a close, the signal reader what a server said, each in one locked step, and
// every answer is a copy, so that no caller reads what another goroutine writes.
type tracker struct {
	maxTracked   int
	maxKeepAlive time.Duration
	now          func() time.Time

	mu      sync.Mutex
	entries map[string]*entry
	// order holds the ids of entries, oldest post first: eviction takes the oldest.
	// A replacement keeps its id's place.
	order   []string
	orphans []orphan
	// seq numbers posts, so that a close tells the notification it took down from a
	// replacement posted meanwhile under the same id.
	seq uint64
	// posts numbers the freedesktop posts as they begin; inFlight holds the numbers
	// of those not yet recorded or abandoned, lowest first.
	posts    uint64
	inFlight []uint64
}

// entry is one notification the tracker remembers; only the tracker touches it, under
// its lock.
type entry struct {
	status   Status
	serverID uint32
	// replaced is the server ID its Notify replaced (0: none), answeredAt where the
	// answer came on the wire: together they say which signals are about it (about).
	replaced   uint32
	answeredAt uint64
	seq        uint64
	posted     time.Time
	keepUntil  time.Time
	// actions are those offered to the server: a server may only choose one of them.
	actions []Action
	// changed is closed when status changes, then replaced.
	changed chan struct{}
}

// postResult is what a backend made of a post.
type postResult struct {
	// serverID is the freedesktop server's ID of the notification (0 for GTK, whose
	// notifications go by the manager's id).
	serverID     uint32
	serverName   string
	actionsShown bool
	// answeredAt is where the answer came among the messages the connection
	// received (godbus's Sequence), to tell the signals sent before it from those
	// sent after.
	answeredAt uint64
}

// reservation is a post between reserve and record (or abandon): its id and server,
// the freedesktop server ID it replaces (0: none), and its number among the
// freedesktop posts (0 for GTK, whose answers name no server ID).
type reservation struct {
	id, server string
	replaces   uint32
	post       uint64
}

// target is a notification being closed: its status when the close began, and what
// its backend needs to take it down.
type target struct {
	status   Status
	serverID uint32
	seq      uint64
}

// newTracker returns an empty tracker; now is the clock of post times and staleness.
func newTracker(maxTracked int, maxKeepAlive time.Duration, now func() time.Time) *tracker {
	return &tracker{
		maxTracked:   maxTracked,
		maxKeepAlive: maxKeepAlive,
		now:          now,
		entries:      make(map[string]*entry),
	}
}

// reserve is the first step of a post of id to server, before the bus is asked: the
// post is in flight until record or abandon. Its reservation names the freedesktop
// server ID it replaces (0: none, or a notification of another server). For a new id
// it makes room, failing with KindTooMany when every notification remembered is still
// open.
func (t *tracker) reserve(id, server string) (reservation, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := reservation{id: id, server: server}
	if prev := t.entries[id]; prev == nil {
		if err := t.makeRoomLocked(); err != nil {
			return reservation{}, err
		}
	} else if prev.status.Server == server {
		r.replaces = prev.serverID
	}
	if server == ServerFreedesktop {
		t.posts++
		r.post = t.posts
		t.inFlight = append(t.inFlight, r.post)
	}
	return r, nil
}

// abandon ends a post that failed after reserve.
func (t *tracker) abandon(r reservation) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.landedLocked(r)
}

// record is the last step of a post: r.id now shows msg as res says, replacing what it
// showed (its waiters now wait on this post), and the first orphan signal about it
// applies to it. It fails with KindTooMany when the room reserve made was taken
// meanwhile.
func (t *tracker) record(r reservation, msg *Message, res postResult) (Status, error) {
	now := t.now()
	e := &entry{
		status: Status{ID: r.id, State: StateShown, Server: r.server,
			ServerName: res.serverName, ActionsShown: res.actionsShown},
		serverID:   res.serverID,
		replaced:   r.replaces,
		answeredAt: res.answeredAt,
		posted:     now,
		actions:    slices.Clone(msg.Actions),
	}
	if len(msg.Actions) > 0 && res.actionsShown {
		keep := t.maxKeepAlive
		if msg.Expire > 0 && msg.Expire < keep {
			keep = msg.Expire
		}
		e.keepUntil = now.Add(keep)
	}

	t.mu.Lock()
	defer t.mu.Unlock()
	defer t.landedLocked(r)
	if old := t.entries[r.id]; old != nil {
		e.changed = old.changed
	} else {
		if err := t.makeRoomLocked(); err != nil {
			return Status{}, err
		}
		e.changed = make(chan struct{})
		t.order = append(t.order, r.id)
	}
	t.seq++
	e.seq = t.seq
	t.entries[r.id] = e
	t.adoptOrphanLocked(e, r.post)
	return e.status, nil
}

// makeRoomLocked forgets the oldest finished notification, else the oldest one posted
// longer than maxKeepAlive ago, when the tracker is full.
func (t *tracker) makeRoomLocked() error {
	if len(t.entries) < t.maxTracked {
		return nil
	}
	stale := t.now().Add(-t.maxKeepAlive)
	for _, pass := range []func(*entry) bool{
		func(e *entry) bool { return e.status.State.Final() },
		func(e *entry) bool { return e.posted.Before(stale) },
	} {
		for i, id := range t.order {
			if pass(t.entries[id]) {
				delete(t.entries, id)
				t.order = slices.Delete(t.order, i, i+1)
				return nil
			}
		}
	}
	return &Error{Kind: KindTooMany, Message: fmt.Sprintf("cannot post notification: %d notifications are still open", len(t.entries))}
}

// status returns the status of id; an unknown id is an *Error of kind KindUnknown.
func (t *tracker) status(id string) (Status, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.entries[id]
	if e == nil {
		return Status{}, unknown(id)
	}
	return e.status, nil
}

// wait returns the status of id once it is final, or its current status when ctx ends
// first.
func (t *tracker) wait(ctx context.Context, id string) (Status, error) {
	for {
		t.mu.Lock()
		e := t.entries[id]
		if e == nil {
			t.mu.Unlock()
			return Status{}, unknown(id)
		}
		st, changed := e.status, e.changed
		t.mu.Unlock()
		if st.State.Final() {
			return st, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return st, nil
		}
	}
}

// closing is the first step of a close of id: what the backend needs to take it down.
func (t *tracker) closing(id string) (target, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.entries[id]
	if e == nil {
		return target{}, unknown(id)
	}
	return target{status: e.status, serverID: e.serverID, seq: e.seq}, nil
}

// closed is the last step of a close: the server took tg down. It returns its status:
// closed, or the final state a signal gave it meanwhile. A replacement posted under the
// same id meanwhile is left as it is.
func (t *tracker) closed(tg target) Status {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.entries[tg.status.ID]
	if e == nil || e.seq != tg.seq {
		st := tg.status
		if !st.State.Final() {
			st.State, st.Action = StateClosed, ""
		}
		return st
	}
	t.setLocked(e, StateClosed, "")
	return e.status
}

// busyUntil is the latest keepUntil of the notifications still shown; zero for none.
func (t *tracker) busyUntil() time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	var until time.Time
	for _, e := range t.entries {
		if e.status.State == StateShown && e.keepUntil.After(until) {
			until = e.keepUntil
		}
	}
	return until
}

// setLocked moves e to state (once: a final state never changes) and wakes its
// waiters.
func (t *tracker) setLocked(e *entry, state State, action string) {
	if e.status.State.Final() {
		return
	}
	e.status.State = state
	e.status.Action = action
	close(e.changed)
	e.changed = make(chan struct{})
}

// serverGone ends every shown notification of server.
func (t *tracker) serverGone(server string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, e := range t.entries {
		if e.status.Server == server && e.status.State == StateShown {
			t.setLocked(e, StateServerGone, "")
		}
	}
}

// gtkAction records the action chosen on GTK notification id, if it was offered.
func (t *tracker) gtkAction(id, action string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e := t.entries[id]; e != nil && e.status.Server == ServerGTK && e.offered(action) {
		t.setLocked(e, StateAction, action)
	}
}

// offered says whether key was one of e's actions.
func (e *entry) offered(key string) bool {
	return slices.ContainsFunc(e.actions, func(a Action) bool { return a.ID == key })
}
