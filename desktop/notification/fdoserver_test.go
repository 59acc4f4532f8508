package notification_test

import (
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/snapcore-ng/usersession-agent/desktop/notification"
	"github.com/snapcore-ng/usersession-agent/testkit/dbustest"
)

// fdoServer is a freedesktop notification server whose signals come when they come,
// for the races dunst is too slow to show, or its order of messages does not. A post
// that replaces an ID gets it back, as the specification says.
type fdoServer struct {
	conn *dbus.Conn
	// expireWithin: each notification is taken down by the server
	// (NotificationClosed, reason 1: expired) within a random time of up to it
	// after Notify; 0: never.
	expireWithin time.Duration
	// closeLate: the NotificationClosed of a CloseNotification (reason 3) is held
	// back until the next Notify, which sends it just before its answer (the
	// specification orders neither).
	closeLate bool

	mu   sync.Mutex
	next uint32
	late []uint32
}

// startFdoServer puts s on bus, owning the server's name.
func startFdoServer(t *testing.T, bus *dbustest.Bus, s *fdoServer) *fdoServer {
	t.Helper()
	s.conn = bus.Connect(t)
	if err := s.conn.ExportMethodTable(map[string]any{
		"GetCapabilities":      s.GetCapabilities,
		"GetServerInformation": s.GetServerInformation,
		"Notify":               s.Notify,
		"CloseNotification":    s.CloseNotification,
	}, "/org/freedesktop/Notifications", "org.freedesktop.Notifications"); err != nil {
		t.Fatal(err)
	}
	dbustest.RequestName(t, s.conn, "org.freedesktop.Notifications")
	return s
}

func (s *fdoServer) GetCapabilities() ([]string, *dbus.Error) {
	return []string{"actions", "body"}, nil
}

func (s *fdoServer) GetServerInformation() (string, string, string, string, *dbus.Error) {
	return "expirer", "tests", "1", "1.2", nil
}

func (s *fdoServer) Notify(app string, replaces uint32, icon, summary, body string, actions []string,
	hints map[string]dbus.Variant, expire int32) (uint32, *dbus.Error) {
	s.mu.Lock()
	id := replaces
	if id == 0 {
		s.next++
		id = s.next
	}
	late := s.late
	s.late = nil
	s.mu.Unlock()
	for _, closed := range late {
		s.closed(closed, 3)
	}
	if s.expireWithin > 0 {
		time.AfterFunc(rand.N(s.expireWithin), func() { s.closed(id, 1) })
	}
	return id, nil
}

func (s *fdoServer) CloseNotification(id uint32) *dbus.Error {
	if s.closeLate {
		s.mu.Lock()
		s.late = append(s.late, id)
		s.mu.Unlock()
		return nil
	}
	s.closed(id, 3)
	return nil
}

// lastID is the ID the server gave last to a new notification.
func (s *fdoServer) lastID() uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.next
}

func (s *fdoServer) closed(id, reason uint32) {
	s.conn.Emit("/org/freedesktop/Notifications", "org.freedesktop.Notifications.NotificationClosed", id, reason)
}

// Root closes notifications as the server expires them: Close answers the one final
// state the notification reaches, whichever came first. (Before the tracker, Close
// read the status the signal reader was writing: go test -race failed here.)
func TestCloseRacingTheServersSignal(t *testing.T) {
	bus := dbustest.Start(t)
	startFdoServer(t, bus, &fdoServer{expireWithin: 300 * time.Microsecond})
	m := newManager(t, bus, notification.Config{})
	for i := range 200 {
		id := notification.NewID()
		post(t, m, id, question)
		closed, err := m.Close(t.Context(), id)
		if err != nil || (closed.State != notification.StateClosed && closed.State != notification.StateExpired) {
			t.Fatalf("close %d: %+v, %v", i, closed, err)
		}
		if st := waitFinal(t, m, id); st != closed {
			t.Fatalf("close %d answered %+v, then the status is %+v", i, closed, st)
		}
	}
}

// A server may send the NotificationClosed that follows a Close as late as just before
// it answers the next Notify: a re-post under the same id, which gets the closed one's
// server ID back, is shown, not closed. (The tracker once kept that signal and gave it
// to the re-post.)
func TestRePostAfterALateCloseSignalIsShown(t *testing.T) {
	bus := dbustest.Start(t)
	s := startFdoServer(t, bus, &fdoServer{closeLate: true})
	m := newManager(t, bus, notification.Config{})
	for i := range 20 {
		post(t, m, "a", question)
		if st, err := m.Close(t.Context(), "a"); err != nil || st.State != notification.StateClosed {
			t.Fatalf("close %d: %+v, %v", i, st, err)
		}
		if st := post(t, m, "a", question); st.State != notification.StateShown {
			t.Fatalf("re-post %d: %+v", i, st)
		}
		// The server sends the probe's dismissal after the close signal: once the
		// manager has it, it has read that too.
		probe := notification.NewID()
		post(t, m, probe, &notification.Message{Title: "Probe"})
		s.closed(s.lastID(), 2)
		if st := waitFinal(t, m, probe); st.State != notification.StateDismissed {
			t.Fatalf("probe %d: %+v", i, st)
		}
		if st, err := m.Status("a"); err != nil || st.State != notification.StateShown {
			t.Fatalf("re-post %d, once the server's signals are read: %+v, %v", i, st, err)
		}
	}
}
