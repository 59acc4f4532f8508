package notification_test

import (
	"context"
	"github.com/snapcore-ng/usersession-agent/internal/testenv"
	"strings"
	"testing"
	"time"

	"github.com/snapcore-ng/usersession-agent/desktop/notification"
	"github.com/snapcore-ng/usersession-agent/internal/dbustest"
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
