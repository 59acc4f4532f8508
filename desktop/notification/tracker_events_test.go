package notification

import (
	"context"
	"fmt"
	"sync"
	"testing"
)

// What happens to tracked notifications: waits, closes racing signals, and whose
// signals count (tracker_test.go has the helpers).

func TestTrackerWait(t *testing.T) {
	tr, c := newTestTracker(DefaultMaxTracked)
	run(t, tr, c, []step{{post: "a", serverID: 1, actions: yesNo}, {post: "done", serverID: 2}, {signal: StateExpired, serverID: 2}})
	if _, err := tr.wait(t.Context(), "nope"); kindOf(err) != KindUnknown {
		t.Fatalf("wait for an unknown id: %v", err)
	}
	if st, err := tr.wait(t.Context(), "done"); err != nil || st.State != StateExpired {
		t.Fatalf("wait for a final notification: %+v, %v", st, err)
	}
	ended, cancel := context.WithCancel(t.Context())
	cancel()
	if st, err := tr.wait(ended, "a"); err != nil || st.State != StateShown {
		t.Fatalf("wait whose context ended: %+v, %v", st, err)
	}

	// A waiter follows a replacement of its notification to that one's end.
	got := make(chan Status)
	go func() {
		st, _ := tr.wait(t.Context(), "a")
		got <- st
	}()
	run(t, tr, c, []step{{post: "a", serverID: 3, actions: yesNo}, {signal: StateAction, action: "yes", serverID: 1},
		{signal: StateAction, action: "no", serverID: 3}})
	if st := <-got; st.State != StateAction || st.Action != "no" {
		t.Fatalf("waiter got %+v, want the replacement's answer", st)
	}
}

// The servers' signals end notifications while root closes them: every answer is the
// one final state the notification reaches (closed, or the signal's if it came
// first), with no status read while another goroutine writes it (go test -race).
func TestTrackerCloseRacesSignals(t *testing.T) {
	tr, _ := newTestTracker(DefaultMaxTracked)
	for i := range 500 {
		id, serverID := fmt.Sprint(i), uint32(i+1)
		rsv, err := tr.reserve(id, ServerFreedesktop)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tr.record(rsv, &Message{Title: id}, postResult{serverID: serverID, answeredAt: uint64(2 * i)}); err != nil {
			t.Fatal(err)
		}
		var signalled sync.WaitGroup
		signalled.Go(func() { tr.fdoEvent(uint64(2*i+1), serverID, StateExpired, "") })
		tg, err := tr.closing(id)
		if err != nil {
			t.Fatal(err)
		}
		closed := tg.status
		if !closed.State.Final() {
			closed = tr.closed(tg)
		}
		signalled.Wait()
		if st, _ := tr.status(id); st != closed || (st.State != StateClosed && st.State != StateExpired) {
			t.Fatalf("close %s answered %+v, then the status is %+v", id, closed, st)
		}
	}
}

// A close that a replacement overtook answers closed for the notification it took
// down, and leaves the replacement shown with its waiters waiting.
func TestTrackerCloseOvertakenByAReplacement(t *testing.T) {
	tr, c := newTestTracker(DefaultMaxTracked)
	run(t, tr, c, []step{{post: "a", serverID: 1}})
	tg, err := tr.closing("a")
	if err != nil {
		t.Fatal(err)
	}
	run(t, tr, c, []step{{post: "a", serverID: 2}})
	if st := tr.closed(tg); st.State != StateClosed || st.ID != "a" {
		t.Fatalf("close answered %+v", st)
	}
	if st, _ := tr.status("a"); st.State != StateShown {
		t.Fatalf("the replacement is %+v after the close of what it replaced", st)
	}
	tr.mu.Lock()
	changed := tr.entries["a"].changed
	tr.mu.Unlock()
	select {
	case <-changed:
		t.Fatal("the replacement's waiters were woken by the close of what it replaced")
	default:
	}
}

// What a server says only counts for its own notifications, and an action only if it
// was offered.
func TestTrackerEventsReachTheirOwnNotifications(t *testing.T) {
	tr, c := newTestTracker(DefaultMaxTracked)
	run(t, tr, c, []step{
		{post: "fdo", serverID: 1, actions: yesNo}, {post: "gtk", gtk: true, actions: yesNo},
		{post: "done", serverID: 2}, {signal: StateDismissed, serverID: 2},
	})
	tr.gtkAction("fdo", "yes")
	tr.gtkAction("gtk", "maybe")
	tr.fdoEvent(c.wire+1, 1, StateAction, "maybe")
	want := map[string]State{"fdo": StateShown, "gtk": StateShown, "done": StateDismissed}
	check := func(when string) {
		t.Helper()
		for id, state := range want {
			if st, _ := tr.status(id); st.State != state {
				t.Errorf("%s: %s is %s, want %s", when, id, st.State, state)
			}
		}
	}
	check("after actions not offered")
	tr.serverGone(ServerGTK)
	want["gtk"] = StateServerGone
	check("after the GTK server left")
	tr.gtkAction("gtk", "yes")
	tr.serverGone(ServerFreedesktop)
	want["fdo"] = StateServerGone
	check("after the freedesktop server left")
}
