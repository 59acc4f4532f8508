package userd_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/snapcore-ng/usersession-agent/testkit/dbustest"
	"github.com/snapcore-ng/usersession-agent/testkit/testenv"
	"github.com/snapcore-ng/usersession-agent/userd"
)

// env is one test's world: a private dbus-daemon, the service on it, stand-ins for
// the desktop tools on PATH and snapd's desktop directory.
type env struct {
	t          *testing.T
	addr       string
	conn       *dbus.Conn
	bin        string // the stand-ins' directory, first on PATH
	log        string // what the stand-ins record
	desktopDir string
}

// newEnv starts the world; the service runs until the test ends. The stand-ins are on
// this process's PATH, so these tests do not run in parallel.
func newEnv(t *testing.T) *env {
	t.Helper()
	e, served, stop := startEnv(t, -1)
	t.Cleanup(func() {
		stop()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return e
}

// startEnv starts the world with a service that exits after idleTimeout or on stop;
// served gives what Serve returned.
func startEnv(t *testing.T, idleTimeout time.Duration) (e *env, served <-chan error, stop func()) {
	t.Helper()
	e = &env{t: t, desktopDir: t.TempDir()}
	e.addr = dbustest.Start(t).Address
	e.setUpStandIns()
	conn, err := dbus.Connect(e.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	e.conn = conn
	ctx, cancel := context.WithCancel(context.Background())
	svc := userd.New(userd.Config{DesktopDir: e.desktopDir, IdleTimeout: idleTimeout})
	if err := svc.Export(conn); err != nil {
		t.Fatal(err)
	}
	result := make(chan error, 1)
	go func() { result <- svc.Serve(ctx) }()
	e.waitForNames()
	return e, result, cancel
}

func (e *env) hasOwner(name string) bool {
	e.t.Helper()
	var owned bool
	if err := e.conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, name).Store(&owned); err != nil {
		e.t.Fatal(err)
	}
	return owned
}

func (e *env) waitForNames() {
	e.t.Helper()
	testenv.WaitFor(e.t, 10*time.Second, "the service's names", func() bool { return e.hasOwner("io.snapcraft.Settings") })
}

// standIn writes a stand-in for tool: it records its arguments, then runs body (sh).
func (e *env) standIn(tool, body string) {
	e.t.Helper()
	script := fmt.Sprintf("#!/bin/sh\nprintf '%%s\\037' %s \"$@\" >> %s\nprintf '\\036' >> %s\n%s\n",
		tool, e.log, e.log, body)
	if err := os.WriteFile(filepath.Join(e.bin, tool), []byte(script), 0o755); err != nil {
		e.t.Fatal(err)
	}
}

// calls returns the recorded calls of tool, each as its arguments.
func (e *env) calls(tool string) [][]string {
	e.t.Helper()
	data, err := os.ReadFile(e.log)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		e.t.Fatal(err)
	}
	var out [][]string
	for _, rec := range strings.Split(string(data), "\x1e") {
		args := strings.Split(strings.TrimSuffix(rec, "\x1f"), "\x1f")
		if args[0] == tool {
			out = append(out, args[1:])
		}
	}
	return out
}

// call makes one call as a process of snap (none: unconfined) and returns what the
// client printed ("OK result" or "ERROR name: [message]").
func (e *env) call(snap string, args ...string) string {
	e.t.Helper()
	self, err := os.Executable()
	if err != nil {
		e.t.Fatal(err)
	}
	var cmd *exec.Cmd
	if snap == "" {
		cmd = exec.Command(self, args...)
	} else {
		cg := snapCgroup(e.t, snap)
		cmd = exec.Command("/bin/sh", append([]string{"-c", `echo $$ > "$0/cgroup.procs" && exec "$@"`, cg, self}, args...)...)
	}
	cmd.Env = append(os.Environ(), "USERD_TEST_CLIENT=1", "DBUS_SESSION_BUS_ADDRESS="+e.addr)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = time.Second
	_ = cmd.Run()
	return strings.TrimSpace(out.String())
}

var cgroupSeq atomic.Int64

// snapCgroup makes a cgroup named as snapd's scopes of snap's apps in the hierarchy
// systemd manages, and removes it when the test ends.
func snapCgroup(t *testing.T, snap string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.SkipOrFail(t, "running a caller as a snap's process needs root (a cgroup of its own)")
	}
	root := "/sys/fs/cgroup/systemd"
	if _, err := os.Stat(root); err != nil {
		root = "/sys/fs/cgroup/unified"
		if _, err := os.Stat(root); err != nil {
			root = "/sys/fs/cgroup"
		}
	}
	dir := filepath.Join(root, fmt.Sprintf("snap.%s.app-test%d-%d.scope", snap, os.Getpid(), cgroupSeq.Add(1)))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatalf("cannot make a snap cgroup: %v", err)
	}
	t.Cleanup(func() {
		// The client has exited; its cgroup may take a moment to be empty.
		testenv.WaitFor(t, 10*time.Second, "the snap cgroup to empty", func() bool { return os.Remove(dir) == nil })
	})
	return dir
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// setUpStandIns puts stand-ins that answer yes for every desktop tool first on PATH.
func (e *env) setUpStandIns() {
	t := e.t
	dir := t.TempDir()
	e.bin = filepath.Join(dir, "bin")
	e.log = filepath.Join(dir, "calls")
	if err := os.Mkdir(e.bin, 0o755); err != nil {
		t.Fatal(err)
	}
	// No dialog tool but the stand-ins: the host's zenity must never show up.
	t.Setenv("PATH", e.bin+":/usr/bin:/bin")
	t.Setenv("XDG_CURRENT_DESKTOP", "")
	for _, tool := range []string{"xdg-open", "xdg-mime", "xdg-settings", "systemd-run", "zenity"} {
		e.standIn(tool, "exit 0")
	}
}
