package notification

import "slices"

// The freedesktop signals in the tracker: which notification each is about, and the
// orphans, signals that may be about a post whose answer is not recorded yet.

// orphan is a freedesktop signal that may be about a post in flight: the signal reader
// may read a signal before the manager has recorded the answer of Notify. at is where
// it came on the wire, lastPost the number of the last post begun when it was read:
// only a post up to it, in flight then, can be about it.
type orphan struct {
	serverID uint32
	state    State
	action   string
	at       uint64
	lastPost uint64
}

// maxOrphans bounds the orphans kept; the oldest is dropped first.
const maxOrphans = 16

// fdoEvent records what the freedesktop server said of its notification serverID, in
// a message that came at wire position at: an action (only one it was offered) or an
// end.
//
// Which notification a signal is about follows from the specification's IDs and the
// order the server sends its messages in (the connection's): a post that replaces X
// gets X back (the specification's rule; dunst revives X even after it closed) or a
// fresh ID (servers that do not revive the ID of a notification gone), a new post a
// fresh ID. A fresh ID named nothing before, so a signal naming it is about that post
// whenever it came. A signal naming a revived X that the server sent before its answer
// is about the notification replaced (dunst's NotificationClosed, reason 3, that
// follows a Close; an end that raced the replace), one sent after is about the
// replacement (about).
//
// A signal may be read before the manager records the answer of its post. It is kept
// for a post in flight when it was read, and dropped once none is: a post that begins
// later sends its Notify after the server sent the signal. A signal for a shown
// notification applies to it, and is kept too while a post is in flight, for a
// replace of that notification the server answered before sending it.
func (t *tracker) fdoEvent(at uint64, serverID uint32, state State, action string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, e := range t.entries {
		if e.status.Server == ServerFreedesktop && e.serverID == serverID && e.status.State == StateShown {
			if e.about(at) && (state != StateAction || e.offered(action)) {
				t.setLocked(e, state, action)
			}
			break
		}
	}
	if len(t.inFlight) == 0 {
		return
	}
	if len(t.orphans) == maxOrphans {
		t.orphans = t.orphans[1:]
	}
	t.orphans = append(t.orphans, orphan{serverID: serverID, state: state, action: action, at: at, lastPost: t.posts})
}

// forgetOrphans drops the orphans: the freedesktop server changed, and a new one's IDs
// say nothing of the old one's.
func (t *tracker) forgetOrphans() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.orphans = nil
}

// adoptOrphanLocked applies to e, freshly recorded by freedesktop post number post,
// the first orphan about it.
func (t *tracker) adoptOrphanLocked(e *entry, post uint64) {
	if e.status.Server != ServerFreedesktop {
		return
	}
	for i, o := range t.orphans {
		if o.serverID == e.serverID && o.lastPost >= post && e.about(o.at) {
			t.orphans = slices.Delete(t.orphans, i, i+1)
			if o.state != StateAction || e.offered(o.action) {
				t.setLocked(e, o.state, o.action)
			}
			return
		}
	}
}

// landedLocked takes the post of r out of flight, and drops the orphans no post in
// flight can be about any more.
func (t *tracker) landedLocked(r reservation) {
	if r.post == 0 {
		return
	}
	t.inFlight = slices.DeleteFunc(t.inFlight, func(p uint64) bool { return p == r.post })
	t.orphans = slices.DeleteFunc(t.orphans, func(o orphan) bool {
		return len(t.inFlight) == 0 || o.lastPost < t.inFlight[0]
	})
}

// about says whether a signal sent at wire position at can be about e: not when it
// names the server ID e's post replaced and got back, and the server sent it before
// answering that post (fdoEvent).
func (e *entry) about(at uint64) bool {
	return e.serverID != e.replaced || at > e.answeredAt
}
