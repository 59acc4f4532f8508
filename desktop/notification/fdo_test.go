package notification_test

import (
	"context"
	"github.com/snapcore-ng/usersession-agent/testkit/testenv"
	"strings"
	"testing"
	"time"

	"github.com/snapcore-ng/usersession-agent/desktop/notification"
	"github.com/snapcore-ng/usersession-agent/testkit/dbustest"
)

func post(t *testing.T, m *notification.Manager, id string, msg *notification.Message) notification.Status {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	st, err := m.Post(ctx, id, msg)
	if err != nil {
		t.Fatalf("cannot post %s: %v", id, err)
	}
	return st
}

var question = &notification.Message{
	Title:   "Close Firefox?",
	Body:    "An update waits for it <now> & later",
	Urgency: notification.UrgencyCritical,
	Actions: []notification.Action{{ID: "yes", Label: "Close it"}, {ID: "later", Label: "Later"}},
}

func TestDunstReportsTheChosenAction(t *testing.T) {
	bus := dbustest.Start(t)
	d := startDunst(t, bus)
	m := newManager(t, bus, notification.Config{})

	st := post(t, m, "q1", question)
	if st.State != notification.StateShown || st.Server != notification.ServerFreedesktop || !st.ActionsShown ||
		!strings.HasPrefix(st.ServerName, "dunst ") {
		t.Fatalf("posted: %+v", st)
	}
	if n := d.displayed(t); n != 1 {
		t.Fatalf("dunst displays %d notifications, want 1", n)
	}
	d.choose(t, "Later")
	if _, err := d.ctl("action", "0"); err != nil {
		t.Fatal(err)
	}
	st = waitFinal(t, m, "q1")
	if st.State != notification.StateAction || st.Action != "later" {
		t.Fatalf("after the user chose Later: %+v", st)
	}
}

func TestDunstReportsDismissalAndCloseByCall(t *testing.T) {
	bus := dbustest.Start(t)
	d := startDunst(t, bus)
	m := newManager(t, bus, notification.Config{})

	post(t, m, "dismissed", question)
	if _, err := d.ctl("close"); err != nil {
		t.Fatal(err)
	}
	if st := waitFinal(t, m, "dismissed"); st.State != notification.StateDismissed {
		t.Fatalf("after dunstctl close: %+v", st)
	}
	// dunst parses body markup: the body reached it escaped, and it shows the text
	// as written (unescaped, "<now>" would be taken for a tag and dropped).
	out, err := d.ctl("history")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "Close Firefox?") || !strings.Contains(out, question.Body) {
		t.Fatalf("dunst's history lacks the notification as written:\n%s", out)
	}

	post(t, m, "closed", question)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := m.Close(ctx, "closed")
	if err != nil || st.State != notification.StateClosed {
		t.Fatalf("close: %+v, %v", st, err)
	}
	testenv.WaitFor(t, 20*time.Second, "dunst to take it down", func() bool { return d.displayed(t) == 0 })
	// The server's own NotificationClosed (reason 3) does not change a final state.
	if st := waitFinal(t, m, "closed"); st.State != notification.StateClosed {
		t.Fatalf("after close: %+v", st)
	}
}

func TestDunstReplacesByID(t *testing.T) {
	bus := dbustest.Start(t)
	d := startDunst(t, bus)
	m := newManager(t, bus, notification.Config{})

	post(t, m, "refresh:firefox", &notification.Message{Title: "Update available for Firefox"})
	post(t, m, "refresh:firefox", &notification.Message{Title: "Firefox was updated"})
	post(t, m, "refresh:firefox", &notification.Message{Title: "Firefox was updated"})
	if n := d.displayed(t); n != 1 {
		t.Fatalf("dunst displays %d notifications after three posts with one id, want 1", n)
	}
	post(t, m, "other", &notification.Message{Title: "Another"})
	if n := d.displayed(t); n != 2 {
		t.Fatalf("dunst displays %d notifications, want 2", n)
	}
}

func TestServerLeavingEndsItsNotifications(t *testing.T) {
	bus := dbustest.Start(t)
	d := startDunst(t, bus)
	m := newManager(t, bus, notification.Config{})

	post(t, m, "q", question)
	if until := m.BusyUntil(); until.IsZero() {
		t.Fatal("an open question does not keep the manager busy")
	}
	d.stop()
	if st := waitFinal(t, m, "q"); st.State != notification.StateServerGone {
		t.Fatalf("after dunst exited: %+v", st)
	}
	if until := m.BusyUntil(); !until.IsZero() {
		t.Fatalf("busy until %v with no open question", until)
	}
}

// A re-post under a known id gets that notification's server ID back from dunst, and
// is shown, and stays so, whatever dunst said of the one it replaced: there the user
// chose an action in the context menu, then dismissed the notification (two
// signals, the second about a notification already answered), or root closed it
// (NotificationClosed, reason 3, sent while Close is answered). The tracker once kept
// such a signal and gave it to the re-post, which showed as ended while on screen.
func TestDunstRePostIsShownWhateverItReplaced(t *testing.T) {
	bus := dbustest.Start(t)
	d := startDunst(t, bus)
	m := newManager(t, bus, notification.Config{})
	const id = "refresh:firefox"
	updated := &notification.Message{Title: "Firefox was updated"}

	for _, end := range []struct {
		name string
		end  func()
	}{{"answered, then dismissed", func() {
		d.choose(t, "Later")
		if _, err := d.ctl("action", "0"); err != nil {
			t.Fatal(err)
		}
		if st := waitFinal(t, m, id); st.State != notification.StateAction {
			t.Fatalf("after the user chose Later: %+v", st)
		}
		if _, err := d.ctl("close"); err != nil {
			t.Fatal(err)
		}
	}}, {"closed by a call", func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if st, err := m.Close(ctx, id); err != nil || st.State != notification.StateClosed {
			t.Fatalf("close: %+v, %v", st, err)
		}
	}}} {
		post(t, m, id, question)
		end.end()
		testenv.WaitFor(t, 20*time.Second, "dunst to take it down", func() bool { return d.displayed(t) == 0 })
		if st := post(t, m, id, updated); st.State != notification.StateShown {
			t.Fatalf("%s, then re-posted: %+v", end.name, st)
		}
		// dunst sends the probe's expiry after every signal about what the re-post
		// replaced: once the manager has it, it has read those too.
		probe := notification.NewID()
		post(t, m, probe, &notification.Message{Title: "Probe", Expire: 100 * time.Millisecond})
		if st := waitFinal(t, m, probe); st.State != notification.StateExpired {
			t.Fatalf("probe: %+v", st)
		}
		if st, err := m.Status(id); err != nil || st.State != notification.StateShown {
			t.Fatalf("%s, then re-posted, once dunst's signals are read: %+v, %v", end.name, st, err)
		}
		if n := d.displayed(t); n != 1 {
			t.Fatalf("%s, then re-posted: dunst displays %d notifications, want 1", end.name, n)
		}
		if _, err := d.ctl("close-all"); err != nil {
			t.Fatal(err)
		}
	}
}
