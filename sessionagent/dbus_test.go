package sessionagent_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/snapcore-ng/usersession-agent/internal/dbustest"
	"github.com/snapcore-ng/usersession-agent/sessionagent"
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
	waitFor(t, 5*time.Second, "the agent to own its name", func() bool { return nameHasOwner(t, watcher) })

	// A second agent finds the name taken and still serves its REST API.
	second := startAgent(t, sessionagent.Config{SessionBusAddress: addr})
	waitFor(t, 5*time.Second, "the second agent to give up the name", func() bool {
		return strings.Contains(second.logs.String(), "bus name owned by another process")
	})
	second.sessionInfo()

	first.cancel()
	first.waitExit(5 * time.Second)
	waitFor(t, 5*time.Second, "the name to be released", func() bool { return !nameHasOwner(t, watcher) })
}

func TestUnreachableBusDoesNotStopTheAgent(t *testing.T) {
	t.Parallel()
	addr := "unix:path=" + filepath.Join(t.TempDir(), "no-bus")
	ta := startAgent(t, sessionagent.Config{SessionBusAddress: addr})
	ta.sessionInfo()
	waitFor(t, 5*time.Second, "the bus failure to be logged", func() bool {
		return strings.Contains(ta.logs.String(), "cannot claim the bus name")
	})
	ta.sessionInfo()
}
