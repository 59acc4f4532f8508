package notification_test

import (
	"context"
	"github.com/snapcore-ng/usersession-agent/testkit/testenv"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/snapcore-ng/usersession-agent/desktop/notification"
	"github.com/snapcore-ng/usersession-agent/testkit/dbustest"
)

// gtkServer stands in for GNOME Shell's org.gtk.Notifications (no other process
// serves it): it records what it is given and, like the Shell, calls
// org.freedesktop.Application.ActivateAction on the application when a button is
// pressed.
type gtkServer struct {
	conn  *dbus.Conn
	added chan gtkNotification
}

type gtkNotification struct {
	appID, id string
	n         map[string]dbus.Variant
}

func (s *gtkServer) AddNotification(appID, id string, n map[string]dbus.Variant) *dbus.Error {
	s.added <- gtkNotification{appID, id, n}
	return nil
}

func (s *gtkServer) RemoveNotification(appID, id string) *dbus.Error { return nil }

func startGTKServer(t *testing.T, bus *dbustest.Bus) *gtkServer {
	t.Helper()
	s := &gtkServer{conn: bus.Connect(t), added: make(chan gtkNotification, 8)}
	if err := s.conn.Export(s, "/org/gtk/Notifications", "org.gtk.Notifications"); err != nil {
		t.Fatal(err)
	}
	dbustest.RequestName(t, s.conn, "org.gtk.Notifications")
	return s
}

func (s *gtkServer) next(t *testing.T) gtkNotification {
	t.Helper()
	select {
	case n := <-s.added:
		return n
	case <-time.After(20 * time.Second):
		t.Fatal("the GTK server got no notification within 20s")
	}
	panic("unreachable")
}

// press activates button i of n as GNOME Shell does.
func (s *gtkServer) press(conn *dbus.Conn, n gtkNotification, i int) error {
	buttons := n.n["buttons"].Value().([]map[string]dbus.Variant)
	action := buttons[i]["action"].Value().(string)[len("app."):]
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return conn.Object(n.appID, "/io/snapcraft/SessionAgent").CallWithContext(ctx,
		"org.freedesktop.Application.ActivateAction", 0,
		action, []dbus.Variant{buttons[i]["target"]}, map[string]dbus.Variant{}).Err
}

func TestGTKActionComesBackThroughActivateAction(t *testing.T) {
	bus := dbustest.Start(t)
	server := startGTKServer(t, bus)
	m := newManager(t, bus, notification.Config{})

	st := post(t, m, "q", question)
	if st.Server != notification.ServerGTK || !st.ActionsShown {
		t.Fatalf("posted: %+v", st)
	}
	n := server.next(t)
	if n.appID != "io.snapcraft.SessionAgent" || n.id != "q" {
		t.Fatalf("AddNotification(%q, %q), want the agent's app ID and the notification's id", n.appID, n.id)
	}
	if got := n.n["title"].Value(); got != question.Title {
		t.Fatalf("title %v", got)
	}
	if got := n.n["priority"].Value(); got != "urgent" {
		t.Fatalf("a critical notification has priority %v, want urgent", got)
	}

	// Someone else than the server cannot answer for the user.
	intruder := bus.Connect(t)
	if err := server.press(intruder, n, 0); err == nil {
		t.Fatal("ActivateAction from another process than the server was accepted")
	}
	if st, _ := m.Status("q"); st.State != notification.StateShown {
		t.Fatalf("after the refused call: %+v", st)
	}

	if err := server.press(server.conn, n, 1); err != nil {
		t.Fatal(err)
	}
	if st := waitFinal(t, m, "q"); st.State != notification.StateAction || st.Action != "later" {
		t.Fatalf("after the second button: %+v", st)
	}

	// The action "default" is a click on the notification, not a button.
	post(t, m, "click", &notification.Message{Title: "Click me", Actions: []notification.Action{{ID: "default", Label: "Open"}}})
	n = server.next(t)
	if _, ok := n.n["buttons"]; ok || n.n["default-action"].Value() != "app.notification-action" {
		t.Fatalf("a default action became %v", n.n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := server.conn.Object(n.appID, "/io/snapcraft/SessionAgent").CallWithContext(ctx,
		"org.freedesktop.Application.ActivateAction", 0, "notification-action",
		[]dbus.Variant{n.n["default-action-target"]}, map[string]dbus.Variant{}).Err; err != nil {
		t.Fatal(err)
	}
	if st := waitFinal(t, m, "click"); st.State != notification.StateAction || st.Action != "default" {
		t.Fatalf("after a click: %+v", st)
	}
}

func TestBackendFollowsTheBus(t *testing.T) {
	bus := dbustest.Start(t)
	startDunst(t, bus)
	m := newManager(t, bus, notification.Config{})

	if st := post(t, m, "1", &notification.Message{Title: "one"}); st.Server != notification.ServerFreedesktop {
		t.Fatalf("without GNOME: %+v", st)
	}
	server := startGTKServer(t, bus)
	testenv.WaitFor(t, 20*time.Second, "the next post to go to the GTK server", func() bool {
		return post(t, m, "2", &notification.Message{Title: "two"}).Server == notification.ServerGTK
	})
	server.next(t)
	server.conn.Close()
	if st := waitFinal(t, m, "2"); st.State != notification.StateServerGone {
		t.Fatalf("after the GTK server left: %+v", st)
	}
	testenv.WaitFor(t, 20*time.Second, "the next post to go to dunst", func() bool {
		return post(t, m, "3", &notification.Message{Title: "three"}).Server == notification.ServerFreedesktop
	})
}
