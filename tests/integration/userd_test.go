package integration_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/snapcore-ng/usersession-agent/testkit/testenv"
	"github.com/snapcore-ng/usersession-agent/testkit/usersessiontest"
)

const userdService = "snapd.userd.service"

// userdSession is a session with this build's units, the D-Bus service files of
// snap userd (with Exec= pointing at this build) in the user's own service directory,
// and a recording xdg-open on the user manager's PATH. userd exits after idle.
type userdSession struct {
	*usersessiontest.Session
	bin      string
	standIns string // the stand-ins' directory, first on the user manager's PATH
	services string // the user's D-Bus service directory
	opened   string // what the stand-in xdg-open records: per call, its URL, parent and cgroup
}

// opening is one run of the stand-in xdg-open: the URL, the process that ran it
// (userd), and its cgroup.
type opening struct{ url, parent, cgroup string }

func startUserdSession(t *testing.T, idle time.Duration) *userdSession {
	t.Helper()
	s := &userdSession{Session: usersessiontest.Start(t, usersessiontest.Options{Agent: true})}
	s.bin = usersessiontest.SnapBinary(t)
	standIns := filepath.Join(s.Home, "stand-ins")
	s.standIns = standIns
	s.opened = filepath.Join(s.Home, "opened")
	s.services = filepath.Join(s.Home, ".local", "share", "dbus-1", "services")
	// The pool's users keep their homes: start from what this test writes only.
	for _, old := range []string{standIns, s.opened, s.services, filepath.Join(s.Home, "otherbus")} {
		if err := os.RemoveAll(old); err != nil {
			t.Fatal(err)
		}
	}
	for _, dir := range []string{standIns, filepath.Dir(filepath.Dir(s.services)), filepath.Dir(s.services), s.services} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(dir, s.UID, s.GID); err != nil {
			t.Fatal(err)
		}
	}
	writeOwned(t, s.Session, filepath.Join(standIns, "xdg-open"),
		"#!/bin/sh\nprintf '%s %s %s\\n' \"$1\" \"$PPID\" \"$(grep -m1 -E '^([0-9]+:name=systemd|0:):' /proc/$$/cgroup | cut -d: -f3)\" >> "+s.opened+"\n", 0o755)
	entries, err := filepath.Glob(filepath.Join(repoRoot(t), "data", "dbus", "io.snapcraft.*.service.in"))
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range entries {
		if strings.Contains(in, "SessionAgent") {
			continue
		}
		data, err := os.ReadFile(in)
		if err != nil {
			t.Fatal(err)
		}
		out := strings.ReplaceAll(string(data), "@bindir@", filepath.Dir(s.bin))
		writeOwned(t, s.Session, filepath.Join(s.services, strings.TrimSuffix(filepath.Base(in), ".in")), out, 0o644)
	}
	s.WriteUserUnit(userdService+".d/test.conf", fmt.Sprintf(
		"[Service]\nExecStart=\nExecStart=%s userd --idle-timeout=%s\n", s.bin, idle))
	runAs(t, s.Session, "systemctl", "--user", "set-environment", "PATH="+standIns+":/usr/bin:/bin")
	runAs(t, s.Session, "systemctl", "--user", "daemon-reload")
	return s
}

// repoRoot is the top of this repository (tests run in tests/integration).
func repoRoot(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(wd, "..", "..")
}

// openURL calls OpenURL on the bus at addr ("" for the session's own) as the user.
func (s *userdSession) openURL(t *testing.T, addr, url string) {
	t.Helper()
	bus := "--session"
	if addr != "" {
		bus = "--bus=" + addr
	}
	runAs(t, s.Session, "dbus-send", bus, "--print-reply", "--reply-timeout=30000",
		"--dest=io.snapcraft.Launcher", "/io/snapcraft/Launcher", "io.snapcraft.Launcher.OpenURL", "string:"+url)
}

// openings are the runs of the stand-in xdg-open so far.
func (s *userdSession) openings(t *testing.T) []opening {
	t.Helper()
	data, err := os.ReadFile(s.opened)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []opening
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if f := strings.Fields(line); len(f) == 3 {
			out = append(out, opening{f[0], f[1], f[2]})
		}
	}
	return out
}

// checkOpened checks that the last run of xdg-open, the n-th, opened url from
// snapd.userd.service.
func (s *userdSession) checkOpened(t *testing.T, n int, url string) {
	t.Helper()
	got := s.openings(t)
	if len(got) != n || got[n-1].url != url {
		t.Fatalf("xdg-open ran with %q, want %d runs, the last for %s", got, n, url)
	}
	if !strings.HasSuffix(got[n-1].cgroup, "/"+userdService) {
		t.Errorf("xdg-open ran in %s, not in %s", got[n-1].cgroup, userdService)
	}
}

func (s *userdSession) unitProperty(t *testing.T, name string) string {
	t.Helper()
	return runAs(t, s.Session, "systemctl", "--user", "show", "--value", "-p", name, userdService)
}

// The session's bus is systemd's: the first call starts snapd.userd.service through
// SystemdService=, the service exits when idle, and the next call starts it again.
func TestUserdActivatedThroughSystemdAndAgainAfterIdleExit(t *testing.T) {
	t.Parallel()
	s := startUserdSession(t, 2*time.Second)
	// dbus-daemon reads the new service files.
	runAs(t, s.Session, "dbus-send", "--session", "--print-reply", "--dest=org.freedesktop.DBus",
		"/org/freedesktop/DBus", "org.freedesktop.DBus.ReloadConfig")

	s.openURL(t, "", "https://example.com/first")
	s.checkOpened(t, 1, "https://example.com/first")
	testenv.WaitFor(t, 30*time.Second, userdService+" to exit when idle", func() bool {
		return s.unitProperty(t, "ActiveState") == "inactive"
	})
	if result := s.unitProperty(t, "Result"); result != "success" {
		t.Errorf("%s ended with %q, want success", userdService, result)
	}

	s.openURL(t, "", "https://example.com/second")
	s.checkOpened(t, 2, "https://example.com/second")
	if o := s.openings(t); o[0].parent == o[1].parent {
		t.Errorf("the second call was served by the first userd (pid %s)", o[0].parent)
	}
}

// A bus that systemd does not run (as Upstart's on Ubuntu 16.04) has only Exec=: the
// helper hands the bus over to the user manager, and userd still runs as
// snapd.userd.service, on that bus.
func TestUserdActivatedThroughExecOnABusNotRunBySystemd(t *testing.T) {
	t.Parallel()
	s := startUserdSession(t, time.Minute)
	dir := filepath.Join(s.Home, "otherbus")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, s.UID, s.GID); err != nil {
		t.Fatal(err)
	}
	socket := filepath.Join(dir, "bus")
	addr := "unix:path=" + socket
	writeOwned(t, s.Session, filepath.Join(dir, "bus.conf"), fmt.Sprintf(`<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>%s</listen>
  <servicedir>%s</servicedir>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
    <allow own="*"/>
  </policy>
</busconfig>
`, addr, s.services), 0o644)
	pidFile := filepath.Join(dir, "pid")
	daemon := s.Command("dbus-daemon", "--nofork", "--nopidfile", "--print-pid=1", "--config-file="+filepath.Join(dir, "bus.conf"))
	pidOut, err := os.Create(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	defer pidOut.Close()
	var log strings.Builder
	daemon.Stdout, daemon.Stderr = pidOut, &log
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	var pid int
	testenv.WaitFor(t, 20*time.Second, "the other bus", func() bool {
		data, _ := os.ReadFile(pidFile)
		_, err := fmt.Sscan(string(data), &pid)
		_, serr := os.Stat(socket)
		return err == nil && serr == nil
	})
	t.Cleanup(func() {
		// The launcher runs dbus-daemon as a child, in the session's namespace.
		if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
			t.Errorf("cannot stop the other bus: %v", err)
		}
		daemon.Wait()
		if t.Failed() {
			t.Logf("dbus-daemon:\n%s", log.String())
		}
	})

	s.openURL(t, addr, "https://example.com/upstart")
	s.checkOpened(t, 1, "https://example.com/upstart")
	env := runAs(t, s.Session, "systemctl", "--user", "show-environment")
	if !strings.Contains(env, "DBUS_SESSION_BUS_ADDRESS="+addr) {
		t.Errorf("the manager's environment lacks the other bus:\n%s", env)
	}
}

// At the start of a graphical session, `snap userd --autostart` starts a snap's
// autostart entry as the app snapd installed, in a user unit of its own, and reports
// a broken entry without letting it stop the good one.
func TestUserdAutostartsAGoodEntryAndReportsABrokenOne(t *testing.T) {
	t.Parallel()
	s := usersessiontest.Start(t, usersessiontest.Options{Agent: true})
	bin := usersessiontest.SnapBinary(t)
	snap := fmt.Sprintf("autostart-test-%d", s.UID)
	desktopDir := "/var/lib/snapd/desktop/applications"
	if err := os.MkdirAll(desktopDir, 0o755); err != nil {
		t.Fatal(err)
	}
	appDir := filepath.Join(s.Home, "apps")
	started := filepath.Join(s.Home, "started")
	autostartDir := filepath.Join(s.Home, "snap", snap, "current", ".config", "autostart")
	for _, old := range []string{appDir, started, filepath.Join(s.Home, "snap")} {
		if err := os.RemoveAll(old); err != nil {
			t.Fatal(err)
		}
	}
	for _, dir := range []string{appDir, autostartDir} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := exec.Command("chown", "-R", fmt.Sprintf("%d:%d", s.UID, s.GID), appDir, filepath.Join(s.Home, "snap")).CombinedOutput(); err != nil {
		t.Fatalf("chown: %v\n%s", err, out)
	}
	app := filepath.Join(appDir, snap+".app")
	writeOwned(t, s, app, "#!/bin/sh\necho \"$@\" >> "+started+"\nexec sleep 60\n", 0o755)
	installed := filepath.Join(desktopDir, snap+"_app.desktop")
	writeOwned(t, s, installed, "[Desktop Entry]\nName=App\nExec=env BAMF_DESKTOP_FILE_HINT="+installed+" "+app+" %U\n", 0o644)
	t.Cleanup(func() { os.Remove(installed) })
	writeOwned(t, s, filepath.Join(autostartDir, "app.desktop"), "[Desktop Entry]\nExec="+snap+".app --hello %U\n", 0o644)
	writeOwned(t, s, filepath.Join(autostartDir, "broken.desktop"), "[Desktop Entry]\nExec=/usr/bin/id\n", 0o644)

	out, err := s.Run(bin, "userd", "--autostart")
	if err == nil || !strings.Contains(out, "broken.desktop") || !strings.Contains(out, "not an app of snap") || strings.Contains(out, "app.desktop:") {
		t.Errorf("snap userd --autostart: %v\n%s\nwant it to fail on broken.desktop only", err, out)
	}
	testenv.WaitFor(t, 20*time.Second, "the good entry to start", func() bool {
		data, _ := os.ReadFile(started)
		return strings.TrimSpace(string(data)) == "--hello"
	})
	units := runAs(t, s, "systemctl", "--user", "list-units", "--no-legend", "--state=running", "run-*.service")
	if !strings.Contains(units, "run-") {
		t.Errorf("the good entry does not run in a transient user unit:\n%s", units)
	}
}
