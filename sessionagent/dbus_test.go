package sessionagent_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/snapcore-ng/usersession-agent/internal/testenv"
	"github.com/snapcore-ng/usersession-agent/sessionagent"
)

// startBus runs a private dbus-daemon for the test and returns its address.
func startBus(t *testing.T) string {
	t.Helper()
	daemon, err := exec.LookPath("dbus-daemon")
	if err != nil {
		testenv.SkipOrFail(t, "dbus-daemon is not installed")
	}
	dir := t.TempDir()
	socket := filepath.Join(dir, "bus")
	config := filepath.Join(dir, "bus.conf")
	if err := os.WriteFile(config, []byte(fmt.Sprintf(`<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=%s</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`, socket)), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(daemon, "--nofork", "--nopidfile", "--config-file="+config)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	waitFor(t, 5*time.Second, "dbus-daemon", func() bool { _, err := os.Stat(socket); return err == nil })
	return "unix:path=" + socket
}

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
	addr := startBus(t)
	watcher, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer watcher.Close()

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
