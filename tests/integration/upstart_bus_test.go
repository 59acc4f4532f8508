package integration_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/snapcore-ng/usersession-agent/testkit/testenv"
	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

// Ubuntu 16.04: Upstart, not systemd, runs the session bus, and its address is only in
// $XDG_RUNTIME_DIR/dbus-session. The agent finds that bus and notifies on it.
func TestNotifyOnABusKnownOnlyFromDbusSessionFile(t *testing.T) {
	t.Parallel()
	for _, bin := range []string{"dunst", "dunstctl", "Xvfb", "dbus-daemon"} {
		if _, err := exec.LookPath(bin); err != nil {
			testenv.SkipOrFail(t, bin+" is not installed (packages dunst, xvfb, dbus-daemon)")
		}
	}
	s := agentSession(t, 0)
	s.Desktop("")
	// No systemd user bus, no address in the environment.
	runAs(t, s, "systemctl", "--user", "stop", "dbus.socket", "dbus.service")
	if err := os.Remove(filepath.Join(s.RuntimeDir, "bus")); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	mustSystemctl(t, s, "unset-environment", "DBUS_SESSION_BUS_ADDRESS")
	// A bus as Upstart ran it: a plain dbus-daemon, activating services itself.
	addr := "unix:path=" + filepath.Join(s.RuntimeDir, "upstart-bus")
	runAs(t, s, "systemd-run", "--user", "--collect", "--quiet", "--unit=upstart-dbus", "--",
		"dbus-daemon", "--session", "--nofork", "--address="+addr)
	writeOwned(t, s, filepath.Join(s.RuntimeDir, "dbus-session"), "DBUS_SESSION_BUS_ADDRESS="+addr+"\n", 0o644)
	testenv.WaitFor(t, 20*time.Second, "the Upstart-style bus to listen", func() bool {
		_, err := s.Run("env", "DBUS_SESSION_BUS_ADDRESS="+addr, "dbus-send", "--session", "--print-reply",
			"--dest=org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus.GetId")
		return err == nil
	})
	// The agent started before the change still holds the old bus.
	mustSystemctl(t, s, "stop", agentService)

	r := runSnap(t, "sessions", "notify", "--json", "--users="+s.User, "Hello from 16.04")
	var st wire.NotificationStatus
	e := decodeSessionsJSON(t, r)[s.User]
	if err := json.Unmarshal(e.Result, &st); err != nil || r.code != 0 || st.State != wire.NotificationStateShown {
		t.Fatalf("notify on the Upstart-style bus: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	out := runAs(t, s, "env", "DBUS_SESSION_BUS_ADDRESS="+addr, "dunstctl", "count", "displayed")
	if out != "1" {
		t.Fatalf("dunst on the Upstart-style bus displays %q notifications, want 1", out)
	}
}
