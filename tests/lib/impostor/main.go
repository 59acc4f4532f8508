// Command impostor is a user's fake `systemd --user`, for the tests of root's check of
// a user manager (tests/integration, tests/main/manager-impostor). Run as the user
// from a unit of the user's own manager, it does what issue 19 describes:
//
//   - it binds a socket next to the manager's private socket and starts a child that
//     moves itself into user@UID.service/init.scope (the user may: the subtree is
//     delegated), calls listen(2) on that socket (so that the socket's peer
//     credentials, SO_PEERCRED and SO_PEERPIDFD, name the child), asks to be traced
//     (PTRACE_TRACEME) and execs systemd's manager binary with --user: it stays
//     stopped at the exec, its executable, command line, uids, cgroup and pidfd all
//     those of a user manager;
//   - it renames the socket over $XDG_RUNTIME_DIR/systemd/private (the manager's own
//     socket stays reachable under a hard link, private.real, and is put back at
//     the end), and serves D-Bus on it by hand: it answers what root's repair asks
//     (GetAll, Get, ResetFailedUnit, RestartUnit with a forged JobRemoved "done") as
//     a healthy listening socket unit would;
//   - it records every connection and every byte and message it receives, one JSON
//     object a line, in LOG.
//
// Usage: impostor LOG. It writes {"ready": true, ...} to LOG once it serves, and ends
// on SIGTERM or SIGINT: it kills the child and puts the manager's socket back.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/godbus/dbus/v5"
	"golang.org/x/sys/unix"

	"github.com/snapcore-ng/usersession-agent/internal/dbuspeer"
)

// The child must call ptrace(PTRACE_TRACEME) and execve on the same thread, the
// main one, for the exec to stop it.
func init() { runtime.LockOSThread() }

func main() {
	if len(os.Args) == 2 && os.Args[1] == "child" {
		err := child()
		fmt.Fprintln(os.Stderr, "impostor child:", err)
		os.Exit(1)
	}
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: impostor LOG")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "impostor:", err)
		os.Exit(1)
	}
}

// child runs with the socket as fd 3: into init.scope, listen, be traced, exec.
func child() error {
	if err := intoInitScope(); err != nil {
		return err
	}
	if err := unix.Listen(3, 16); err != nil {
		return fmt.Errorf("cannot listen: %w", err)
	}
	if _, _, errno := unix.RawSyscall(unix.SYS_PTRACE, unix.PTRACE_TRACEME, 0, 0); errno != 0 {
		return fmt.Errorf("cannot ask to be traced: %w", errno)
	}
	manager := "/usr/lib/systemd/systemd"
	if _, err := os.Stat(manager); err != nil {
		manager = "/lib/systemd/systemd"
	}
	return unix.Exec(manager, []string{manager, "--user"}, os.Environ())
}

// intoInitScope moves this process into user@UID.service/init.scope, where the user's
// manager runs, in every cgroup hierarchy that has it (the unified one, systemd's
// named v1 one).
func intoInitScope() error {
	mounts, err := cgroupMounts()
	if err != nil {
		return err
	}
	own, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return err
	}
	moved := 0
	for _, line := range strings.Split(string(own), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		mount, ok := mounts[parts[1]]
		if !ok {
			continue
		}
		service, _, found := strings.Cut(parts[2], ".service/")
		if !found || !strings.Contains(service, "/user@") {
			continue
		}
		procs := filepath.Join(mount, service+".service", "init.scope", "cgroup.procs")
		if err := os.WriteFile(procs, []byte(strconv.Itoa(os.Getpid())), 0); err != nil {
			return fmt.Errorf("cannot move into %s: %w", procs, err)
		}
		moved++
	}
	if moved == 0 {
		return fmt.Errorf("not in a user@UID.service cgroup: %s", own)
	}
	return nil
}

// cgroupMounts maps the hierarchy field of /proc/self/cgroup ("" for the unified
// hierarchy, "name=systemd") to where it is mounted.
func cgroupMounts() (map[string]string, error) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	mounts := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		fields, after := strings.Fields(pre), strings.Fields(post)
		if !ok || len(fields) < 5 || len(after) < 3 {
			continue
		}
		switch after[0] {
		case "cgroup2":
			mounts[""] = fields[4]
		case "cgroup":
			if strings.Contains(after[2], "name=systemd") {
				mounts["name=systemd"] = fields[4]
			}
		}
	}
	return mounts, nil
}

// recorder writes the log, one JSON object a line.
type recorder struct {
	mu sync.Mutex
	w  io.Writer
}

func (r *recorder) log(v map[string]any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	data, _ := json.Marshal(v)
	r.w.Write(append(data, '\n'))
}

func run(logPath string) error {
	logFile, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close()
	rec := &recorder{w: logFile}

	runtimeDir := os.Getenv("XDG_RUNTIME_DIR")
	if runtimeDir == "" {
		return errors.New("XDG_RUNTIME_DIR is not set")
	}
	private := filepath.Join(runtimeDir, "systemd", "private")
	real, fake := private+".real", private+".impostor"
	_ = os.Remove(fake)

	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: fake}); err != nil {
		return fmt.Errorf("cannot bind %s: %w", fake, err)
	}
	sock := os.NewFile(uintptr(fd), fake)

	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(self, "child")
	cmd.ExtraFiles = []*os.File{sock}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	childPID := cmd.Process.Pid
	defer func() {
		// A traced child left behind would run systemd --user for real once its
		// tracer is gone.
		_ = cmd.Process.Kill()
		var ws unix.WaitStatus
		_, _ = unix.Wait4(childPID, &ws, unix.WALL, nil)
	}()
	if err := waitTraced(childPID); err != nil {
		return err
	}

	// The manager's socket stays reachable for root's cleanup, and comes back.
	if err := os.Link(private, real); err != nil {
		return fmt.Errorf("cannot keep the manager's socket: %w", err)
	}
	if err := os.Rename(fake, private); err != nil {
		return err
	}
	defer os.Rename(real, private)

	l, err := net.FileListener(sock)
	if err != nil {
		return err
	}
	sock.Close()
	defer l.Close()

	exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", childPID))
	rec.log(map[string]any{"ready": true, "pid": os.Getpid(), "listener": childPID, "listener-exe": exe})

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		n := 0
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			n++
			go serve(c, n, rec)
		}
	}()
	<-stop
	return nil
}

// waitTraced waits until the child stopped at its exec of systemd.
func waitTraced(pid int) error {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			return fmt.Errorf("the child is gone: %w", err)
		}
		exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
		if strings.Contains(string(status), "\nState:\tt (tracing stop)") && strings.HasSuffix(exe, "/systemd") {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return errors.New("the child did not stop at its exec of systemd")
}

// countingConn counts what the client sent.
type countingConn struct {
	net.Conn
	mu sync.Mutex
	n  int
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	c.n += n
	c.mu.Unlock()
	return n, err
}

func (c *countingConn) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// serve is one of root's connections: it is logged when it comes and when it ends
// (with the bytes received), and so is every message. The answers are those of a
// manager whose agent socket unit is loaded and listening.
func serve(raw net.Conn, n int, rec *recorder) {
	cc := &countingConn{Conn: raw}
	defer func() {
		raw.Close()
		rec.log(map[string]any{"conn": n, "closed": true, "bytes": cc.count()})
	}()
	rec.log(map[string]any{"conn": n, "accepted": true})
	// Root may connect and hang up without a word: that is the check refusing us.
	_ = raw.SetReadDeadline(time.Now().Add(time.Minute))
	c, err := dbuspeer.Accept(cc)
	if err != nil {
		rec.log(map[string]any{"conn": n, "auth": err.Error(), "bytes": cc.count()})
		return
	}
	rec.log(map[string]any{"conn": n, "auth": "ok"})
	m := &dbuspeer.Manager{
		Props: map[string]dbus.Variant{
			"LoadState":   dbus.MakeVariant("loaded"),
			"ActiveState": dbus.MakeVariant("active"),
			"SubState":    dbus.MakeVariant("listening"),
			"Result":      dbus.MakeVariant("success"),
		},
		Received: func(msg *dbus.Message) {
			rec.log(map[string]any{"conn": n, "message": dbuspeer.Member(msg), "body": fmt.Sprint(msg.Body)})
		},
	}
	_ = m.Serve(c)
}
