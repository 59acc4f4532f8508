package notification

import (
	"context"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
)

// The manager's tests without a bus: its backends and owner lookup are fakes behind
// their small interfaces; the bus tests (package notification_test) use real servers.

// fakeBackend records posts and closes, and answers as told. Its answers and the
// tests' signals take their wire positions from one count (wire).
type fakeBackend struct {
	server string
	err    error

	mu       sync.Mutex
	next     uint32
	lastWire uint64
	replaced []uint32
	closed   []string
}

// wire is the position of the next message on the fake connection.
func (b *fakeBackend) wire() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lastWire++
	return b.lastWire
}

func (b *fakeBackend) name() string { return b.server }

func (b *fakeBackend) post(_ context.Context, id string, replaces uint32, msg *Message) (postResult, error) {
	at := b.wire()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return postResult{}, b.err
	}
	b.replaced = append(b.replaced, replaces)
	serverID := replaces
	if serverID == 0 {
		b.next++
		serverID = b.next
	}
	return postResult{serverID: serverID, serverName: "fake", actionsShown: len(msg.Actions) > 0, answeredAt: at}, nil
}

func (b *fakeBackend) close(_ context.Context, id string, serverID uint32) error {
	time.Sleep(fakeRoundTrip)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = append(b.closed, id)
	return b.err
}

// fakeRoundTrip is how long the fake server takes to answer a close: the time a signal
// has to come in between.
const fakeRoundTrip = 50 * time.Microsecond

// fakeOwners owns the server names it maps to a unique name.
type fakeOwners struct {
	mu     sync.Mutex
	owners map[string]string
}

func (o *fakeOwners) owner(_ context.Context, name string) (string, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.owners[name], nil
}

func (o *fakeOwners) set(name, owner string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.owners[name] = owner
}

func newFakeManager(cfg Config) (*Manager, *fakeBackend, *fakeBackend, *fakeOwners) {
	m := New(cfg)
	fdo, gtk := &fakeBackend{server: ServerFreedesktop}, &fakeBackend{server: ServerGTK}
	owners := &fakeOwners{owners: map[string]string{}}
	m.bus.Store(&onBus{owners: owners, fdo: fdo, gtk: gtk, stop: func() {}})
	return m, fdo, gtk, owners
}

func mustPost(t *testing.T, m *Manager, id string, msg *Message) Status {
	t.Helper()
	st, err := m.Post(t.Context(), id, msg)
	if err != nil {
		t.Fatalf("post %s: %v", id, err)
	}
	return st
}

// The signal reader ends notifications (a user's dismissal, an expiry) while root
// closes them: Close answers the one final state each reaches, and reads nothing the
// signal reader writes (go test -race; the manager's Close once copied a status after
// unlocking).
func TestCloseRacesTheSignalReader(t *testing.T) {
	m, fdo, _, _ := newFakeManager(Config{})
	for i := range 300 {
		id, serverID := NewID(), uint32(i+1)
		mustPost(t, m, id, &Message{Title: "t"})
		var signalled sync.WaitGroup
		signalled.Go(func() {
			time.Sleep(rand.N(2 * fakeRoundTrip))
			m.tracker.fdoEvent(fdo.wire(), serverID, StateDismissed, "")
		})
		closed, err := m.Close(t.Context(), id)
		signalled.Wait()
		if err != nil {
			t.Fatal(err)
		}
		if st, _ := m.Status(id); st != closed || (st.State != StateClosed && st.State != StateDismissed) {
			t.Fatalf("close answered %+v, then the status is %+v", closed, st)
		}
	}
	if _, err := m.Close(t.Context(), "nope"); kindOf(err) != KindUnknown {
		t.Fatalf("close of an unknown id: %v", err)
	}
}

// A post to the server of the notification it replaces replaces that server's
// notification; one to another server (GNOME Shell came) starts afresh there.
func TestPostReplacesOnTheSameServerOnly(t *testing.T) {
	m, fdo, gtk, owners := newFakeManager(Config{})
	mustPost(t, m, "a", &Message{Title: "one"})
	mustPost(t, m, "a", &Message{Title: "two"})
	mustPost(t, m, "b", &Message{Title: "other"})
	owners.set(gtkName, ":1.7")
	if st := mustPost(t, m, "a", &Message{Title: "three"}); st.Server != ServerGTK {
		t.Fatalf("with GNOME Shell on the bus the post went to %s", st.Server)
	}
	if got, want := fdo.replaced, []uint32{0, 1, 0}; !slices.Equal(got, want) {
		t.Errorf("freedesktop replaced %v, want %v", got, want)
	}
	if got, want := gtk.replaced, []uint32{0}; !slices.Equal(got, want) {
		t.Errorf("GTK replaced %v, want %v", got, want)
	}
}

// A post the server refuses is not remembered; one past the limit is refused before
// the server is asked.
func TestFailedPostsLeaveNothingBehind(t *testing.T) {
	m, fdo, _, _ := newFakeManager(Config{MaxTracked: 1})
	fdo.err = &Error{Kind: KindServer, Message: "cannot post notification: refused"}
	if _, err := m.Post(t.Context(), "a", &Message{Title: "t"}); kindOf(err) != KindServer {
		t.Fatalf("refused post: %v", err)
	}
	if _, err := m.Status("a"); kindOf(err) != KindUnknown {
		t.Fatalf("a refused post is remembered: %v", err)
	}
	if n := len(m.tracker.inFlight); n != 0 {
		t.Fatalf("%d posts in flight after a refused one", n)
	}
	fdo.err = nil
	mustPost(t, m, "b", &Message{Title: "t"})
	if _, err := m.Post(t.Context(), "c", &Message{Title: "t"}); kindOf(err) != KindTooMany {
		t.Fatalf("post past the limit: %v", err)
	}
	if len(fdo.replaced) != 1 {
		t.Fatalf("the server was asked %d times, want once", len(fdo.replaced))
	}
}

// Before Start and after Stop nothing reaches a bus; what is known can still be read.
func TestManagerOffTheBus(t *testing.T) {
	m := New(Config{})
	if _, err := m.Post(t.Context(), "a", &Message{Title: "t"}); kindOf(err) != KindNoServer {
		t.Fatalf("post before Start: %v", err)
	}
	m, _, _, _ = newFakeManager(Config{})
	mustPost(t, m, "a", &Message{Title: "t"})
	m.Stop()
	if _, err := m.Close(t.Context(), "a"); kindOf(err) != KindNoServer {
		t.Fatalf("close after Stop: %v", err)
	}
	if st, err := m.Status("a"); err != nil || st.State != StateShown {
		t.Fatalf("status after Stop: %+v, %v", st, err)
	}
}
