package sessionagent_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/snapcore-ng/usersession-agent/sessionagent"
	"github.com/snapcore-ng/usersession-agent/testkit/dbustest"
	"github.com/snapcore-ng/usersession-agent/testkit/testenv"
	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

func nameHasOwner(t *testing.T, conn *dbus.Conn) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var owned bool
	if err := conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.NameHasOwner", 0, sessionagent.BusName).Store(&owned); err != nil {
		t.Fatal(err)
	}
	return owned
}

func TestAgentOwnsItsBusNameWhileRunning(t *testing.T) {
	t.Parallel()
	bus := dbustest.Start(t)
	addr := bus.Address
	watcher := bus.Connect(t)

	first := startAgent(t, sessionagent.Config{SessionBusAddress: addr})
	testenv.WaitFor(t, 5*time.Second, "the agent to own its name", func() bool { return nameHasOwner(t, watcher) })

	// A second agent finds the name taken and still serves its REST API.
	second := startAgent(t, sessionagent.Config{SessionBusAddress: addr})
	testenv.WaitFor(t, 5*time.Second, "the second agent to give up the name", func() bool {
		return strings.Contains(second.logs.String(), "bus name owned by another process")
	})
	second.sessionInfo()

	first.cancel()
	first.waitExit(5 * time.Second)
	testenv.WaitFor(t, 5*time.Second, "the name to be released", func() bool { return !nameHasOwner(t, watcher) })
}

func TestUnreachableBusDoesNotStopTheAgent(t *testing.T) {
	t.Parallel()
	addr := "unix:path=" + filepath.Join(t.TempDir(), "no-bus")
	ta := startAgent(t, sessionagent.Config{SessionBusAddress: addr})
	ta.sessionInfo()
	testenv.WaitFor(t, 5*time.Second, "the bus failure to be logged", func() bool {
		return strings.Contains(ta.logs.String(), "cannot claim the bus name")
	})
	ta.sessionInfo()
}

// A handler gets the agent's one live connection, the one that owns BusName.
func TestHandlersShareTheAgentsBus(t *testing.T) {
	t.Parallel()
	bus := dbustest.Start(t)
	const path = "/v1/test-bus"
	ta := startAgent(t, sessionagent.Config{SessionBusAddress: bus.Address}, func(a *sessionagent.Agent) {
		a.Handle(&sessionagent.Command{Path: path, GET: func(a *sessionagent.Agent, r *http.Request) sessionagent.Response {
			conn, err := a.SessionBus(r.Context())
			if err != nil {
				return sessionagent.ResponseForError(err)
			}
			return sessionagent.SyncResponse(conn.Names()[0])
		}})
	})
	a := ta.do("GET", path, nil, nil)
	var unique string
	if err := json.Unmarshal(a.env.Result, &unique); a.rsp.StatusCode != 200 || err != nil {
		t.Fatalf("got %d %s", a.rsp.StatusCode, a.body)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	var owner string
	if err := bus.Connect(t).BusObject().CallWithContext(ctx, "org.freedesktop.DBus.GetNameOwner", 0, sessionagent.BusName).Store(&owner); err != nil || owner != unique {
		t.Fatalf("owner of %s: %q, %v; the handler's connection is %q", sessionagent.BusName, owner, err, unique)
	}
}

// Without a bus, a handler that needs it answers 503 no-session-bus instead of
// waiting for ever.
func TestHandlerWithoutABusIsUnavailable(t *testing.T) {
	t.Parallel()
	const path = "/v1/test-bus"
	ta := startAgent(t, sessionagent.Config{}, func(a *sessionagent.Agent) {
		a.Handle(&sessionagent.Command{Path: path, GET: func(a *sessionagent.Agent, r *http.Request) sessionagent.Response {
			_, err := a.SessionBus(r.Context())
			return sessionagent.ResponseForError(err)
		}})
	})
	a := ta.do("GET", path, nil, nil)
	if res := a.errorResult(t); a.rsp.StatusCode != http.StatusServiceUnavailable || res.Kind != wire.ErrorKindNoSessionBus ||
		!strings.Contains(res.Message, "cannot use the session bus: no session bus") {
		t.Fatalf("got %d %s", a.rsp.StatusCode, a.body)
	}
}

// busBackend records when the agent starts and stops it, and whether the agent owned
// its name then.
type busBackend struct {
	fakeNotifier
	mu     sync.Mutex
	events []string
}

func (b *busBackend) Start(ctx context.Context, conn *dbus.Conn) error {
	var owned bool
	if err := conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.NameHasOwner", 0, sessionagent.BusName).Store(&owned); err != nil {
		return err
	}
	b.record(fmt.Sprintf("start, name owned: %v", owned))
	return nil
}

func (b *busBackend) Stop() { b.record("stop") }

func (b *busBackend) record(event string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.events = append(b.events, event)
}

func (b *busBackend) recorded() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.events)
}

// A backend on the bus is started before the agent owns its name, called once the
// bus is up, and stopped when the agent exits.
func TestBusBackendLivesWithTheAgentsBus(t *testing.T) {
	t.Parallel()
	bus := dbustest.Start(t)
	b := &busBackend{}
	ta := startAgent(t, sessionagent.Config{SessionBusAddress: bus.Address, Notifications: b})
	if a := post(ta, wire.PathNotifications, `{"title":"hello"}`); a.rsp.StatusCode != 200 {
		t.Fatalf("post: %d %s", a.rsp.StatusCode, a.body)
	}
	if got, want := b.recorded(), []string{"start, name owned: false"}; !slices.Equal(got, want) {
		t.Fatalf("while running: %q, want %q", got, want)
	}
	ta.cancel()
	ta.waitExit(10 * time.Second)
	if got, want := b.recorded(), []string{"start, name owned: false", "stop"}; !slices.Equal(got, want) {
		t.Fatalf("after the exit: %q, want %q", got, want)
	}
}
