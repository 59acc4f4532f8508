package notification_test

import (
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/snapcore-ng/usersession-agent/desktop/notification"
	"github.com/snapcore-ng/usersession-agent/internal/dbustest"
)

// fdoServer is a freedesktop notification server that takes every notification down
// by itself (NotificationClosed, reason 1: expired) within a random time of up to
// expireWithin after it answers Notify: a server whose signals come when they come,
// for the races dunst is too slow to show.
type fdoServer struct {
	conn         *dbus.Conn
	expireWithin time.Duration

	mu   sync.Mutex
	next uint32
}

func startFdoServer(t *testing.T, bus *dbustest.Bus, expireWithin time.Duration) *fdoServer {
	t.Helper()
	s := &fdoServer{conn: bus.Connect(t), expireWithin: expireWithin}
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
	id := replaces
	if id == 0 {
		s.mu.Lock()
		s.next++
		id = s.next
		s.mu.Unlock()
	}
	time.AfterFunc(rand.N(s.expireWithin), func() { s.closed(id, 1) })
	return id, nil
}

func (s *fdoServer) CloseNotification(id uint32) *dbus.Error {
	s.closed(id, 3)
	return nil
}

func (s *fdoServer) closed(id, reason uint32) {
	s.conn.Emit("/org/freedesktop/Notifications", "org.freedesktop.Notifications.NotificationClosed", id, reason)
}

// Root closes notifications as the server expires them: Close answers the one final
// state the notification reaches, whichever came first. (Before the tracker, Close
// read the status the signal reader was writing: go test -race failed here.)
func TestCloseRacingTheServersSignal(t *testing.T) {
	bus := dbustest.Start(t)
	startFdoServer(t, bus, 300*time.Microsecond)
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
