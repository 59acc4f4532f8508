// Package usersessiontest brings up real `systemd --user` managers, each with its own
// session bus, for throwaway users, so that integration tests run against the real
// thing. It drives tests/lib/user-session, the same script the demo and humans use.
//
// The sessions need root. Outside CI a test that cannot have one is skipped with the
// reason; with CI=true it fails instead, so that CI never counts a skip as a pass.
package usersessiontest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/snapcore-ng/usersession-agent/systemd"
	"github.com/snapcore-ng/usersession-agent/testkit/testenv"
	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

// Options say what a session starts with.
type Options struct {
	// Agent installs this build's agent units into the session and starts the agent
	// socket. The snap binary is built once per test process unless SnapBinary is set.
	Agent bool
	// SnapBinary is the binary the agent units run; empty means SnapBinary(t).
	SnapBinary string
	// UnitsFrom is a directory of user units installed instead of this build's
	// (for instance Debian's snapd units, to compare against them). Implies no Agent.
	UnitsFrom string
	// ExtraUser takes the session's user from a pool that exists only in
	// libnss-extrausers' database (/var/lib/extrausers, the user database of Ubuntu
	// Core), and adds extrausers to /etc/nsswitch.conf until the test ends (one test
	// process at a time; the file is put back as it was, also when the test fails).
	ExtraUser bool
}

// Session is a running user manager for one throwaway user.
type Session struct {
	User       string
	UID, GID   int
	Home       string
	RuntimeDir string

	t    testing.TB
	lock *os.File
}

// poolSize bounds how many throwaway users tests may use at once on one machine.
const poolSize = 64

// RequireRoot skips the test (outside CI) or fails it (CI=true) unless it runs as
// root with a systemd installed.
func RequireRoot(t testing.TB) {
	t.Helper()
	var why string
	switch {
	case os.Geteuid() != 0:
		why = "real user sessions need root"
	case !exists("/usr/lib/systemd/systemd"):
		why = "real user sessions need systemd installed (/usr/lib/systemd/systemd)"
	default:
		return
	}
	testenv.SkipOrFail(t, why)
}

// Start brings up a session for a free user from the pool and stops it when the test
// ends.
func Start(t testing.TB, opts Options) *Session {
	t.Helper()
	RequireRoot(t)
	s := &Session{t: t}
	if opts.ExtraUser {
		useExtraUsers(t)
		s.User, s.lock = claimExtraUser(t)
	} else {
		s.User, s.lock = claimUser(t)
	}
	t.Cleanup(s.release)

	args := []string{"start", s.User}
	env := os.Environ()
	switch {
	case opts.UnitsFrom != "":
		args = append(args, "--units-from", opts.UnitsFrom)
	case opts.Agent:
		bin := opts.SnapBinary
		if bin == "" {
			bin = SnapBinary(t)
		}
		env = append(env, "SNAP_BINARY="+bin)
	default:
		args = append(args, "--no-agent")
	}
	// A session left behind by a test that crashed would make start refuse, and units
	// an earlier test left in the user's configuration would start with the manager.
	_ = script(nil, "stop", s.User)
	if u, err := user.Lookup(s.User); err == nil {
		if err := os.RemoveAll(filepath.Join(u.HomeDir, ".config", "systemd")); err != nil {
			t.Fatalf("cannot clear the unit configuration of %s: %v", s.User, err)
		}
	}
	// A start that fails half-way leaves a manager behind: stop in any case.
	t.Cleanup(s.stop)
	if out, err := scriptOutput(env, args...); err != nil {
		t.Fatalf("cannot start a user session for %s: %v\n%s", s.User, err, out)
	}
	if err := s.lookup(); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *Session) lookup() error {
	u, err := user.Lookup(s.User)
	if err != nil {
		return fmt.Errorf("cannot look up %s: %w", s.User, err)
	}
	s.UID, _ = strconv.Atoi(u.Uid)
	s.GID, _ = strconv.Atoi(u.Gid)
	s.Home = u.HomeDir
	s.RuntimeDir = filepath.Join("/run/user", u.Uid)
	return nil
}

func (s *Session) stop() {
	if out, err := scriptOutput(nil, "stop", s.User); err != nil {
		s.t.Errorf("cannot stop the user session of %s: %v\n%s", s.User, err, out)
	}
}

func (s *Session) release() {
	if s.lock != nil {
		s.lock.Close()
	}
}

// AgentSocket is where the session's agent listens.
func (s *Session) AgentSocket() string {
	return filepath.Join(s.RuntimeDir, wire.SocketName)
}

// PrivateSocket is the manager's peer-to-peer D-Bus socket.
func (s *Session) PrivateSocket() string {
	return filepath.Join(s.RuntimeDir, "systemd", "private")
}

// ManagerPID is the PID of the session's `systemd --user`.
func (s *Session) ManagerPID() int {
	s.t.Helper()
	out, err := scriptOutput(nil, "pid", s.User)
	if err != nil {
		s.t.Fatalf("cannot get the manager PID of %s: %v\n%s", s.User, err, out)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil {
		s.t.Fatalf("cannot parse the manager PID of %s: %q", s.User, out)
	}
	return pid
}

// Manager connects to the session's user manager over its private socket, as the
// agent does, and reloads it so that the units written with WriteUserUnit are loaded.
// The connection closes when the test ends.
func (s *Session) Manager() *systemd.Manager {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), scriptTimeout)
	defer cancel()
	m, err := systemd.ConnectUser(ctx, s.RuntimeDir)
	if err != nil {
		s.t.Fatalf("cannot connect to the manager of %s: %v", s.User, err)
	}
	s.t.Cleanup(func() { m.Close() })
	if err := m.Reload(ctx); err != nil {
		s.t.Fatalf("cannot reload the manager of %s: %v", s.User, err)
	}
	return m
}

// Desktop gives the session an X display (Xvfb on :UID, DISPLAY in the manager's
// environment) and, unless dunstrc is empty, that configuration file for dunst, which
// D-Bus activation then starts on the first notification.
func (s *Session) Desktop(dunstrc string) {
	s.t.Helper()
	args := []string{"desktop", s.User}
	if dunstrc != "" {
		args = append(args, dunstrc)
	}
	if out, err := scriptOutput(nil, args...); err != nil {
		s.t.Fatalf("cannot give %s a desktop: %v\n%s", s.User, err, out)
	}
}

// Systemctl runs `systemctl --user ARGS` as the user and returns its combined output.
func (s *Session) Systemctl(args ...string) (string, error) {
	return scriptOutput(nil, append([]string{"systemctl", s.User}, args...)...)
}

// Run runs a command as the user, inside the session's namespace and environment.
func (s *Session) Run(args ...string) (string, error) {
	return scriptOutput(nil, append([]string{"run", s.User}, args...)...)
}

// Command is Run for callers that need the process itself (to start it in the
// background, or to feed it input).
func (s *Session) Command(args ...string) *exec.Cmd {
	return exec.Command(scriptPath(), append([]string{"run", s.User}, args...)...)
}

// WriteUserUnit writes a unit file (or a drop-in, "unit.d/name.conf") into the
// user's ~/.config/systemd/user, owned by the user. Tell the manager with `daemon-reload` afterwards.
func (s *Session) WriteUserUnit(name, content string) {
	s.t.Helper()
	path := filepath.Join(s.Home, ".config", "systemd", "user", name)
	if err := s.mkdirAllOwned(filepath.Dir(path)); err != nil {
		s.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		s.t.Fatalf("cannot write %s: %v", path, err)
	}
	if err := os.Chown(path, s.UID, s.GID); err != nil {
		s.t.Fatalf("cannot chown %s: %v", path, err)
	}
}

func (s *Session) mkdirAllOwned(dir string) error {
	if exists(dir) {
		return nil
	}
	if err := s.mkdirAllOwned(filepath.Dir(dir)); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o755); err != nil && !os.IsExist(err) {
		return fmt.Errorf("cannot create %s: %w", dir, err)
	}
	if err := os.Chown(dir, s.UID, s.GID); err != nil {
		return fmt.Errorf("cannot chown %s: %w", dir, err)
	}
	return nil
}

// ClaimUser takes a user from the pool for a test that starts the user's session
// itself (through tests/lib/user-session); the user is free again when the test ends.
func ClaimUser(t testing.TB) string {
	t.Helper()
	RequireRoot(t)
	name, lock := claimUser(t)
	t.Cleanup(func() { lock.Close() })
	return name
}

// claimUser takes the first pool user that no other test process holds.
func claimUser(t testing.TB) (string, *os.File) {
	t.Helper()
	name, lock, _ := claimFrom(t, "sat-u", poolSize)
	return name, lock
}

// claimFrom takes the first of the users prefix01..prefixNN that no other test
// process holds, and returns its name, lock and number. The lock is an flock, so a
// crashed test process frees its user.
func claimFrom(t testing.TB, prefix string, size int) (string, *os.File, int) {
	t.Helper()
	for i := 1; i <= size; i++ {
		name := fmt.Sprintf("%s%02d", prefix, i)
		f := openLock(t, name)
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err == nil {
			return name, f, i
		}
		f.Close()
	}
	t.Fatalf("cannot find a free test user: all %d %sNN are in use", size, prefix)
	return "", nil, 0
}

// openLock opens the harness's lock file called name, shared by all test processes.
func openLock(t testing.TB, name string) *os.File {
	t.Helper()
	dir := "/run/snapd-agent-harness/locks"
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatalf("cannot create %s: %v", dir, err)
	}
	f, err := os.OpenFile(filepath.Join(dir, name+".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatalf("cannot open lock %s: %v", name, err)
	}
	return f
}

var (
	snapOnce sync.Once
	snapPath string
	snapErr  error
)

// SnapBinary returns this build's snap binary in a directory every user may read (the
// agent runs as the session's user, and a checkout under /root is not readable by
// them). It is built once per test process, or copied from SNAP_TEST_BINARY when that
// names a prebuilt one (a relative path is taken from the repository's top).
func SnapBinary(t testing.TB) string {
	t.Helper()
	snapOnce.Do(func() {
		var dir string
		dir, snapErr = os.MkdirTemp("", "snap-agent-test-bin-")
		if snapErr != nil {
			return
		}
		if snapErr = os.Chmod(dir, 0o755); snapErr != nil {
			return
		}
		snapPath = filepath.Join(dir, "snap")
		if p := os.Getenv("SNAP_TEST_BINARY"); p != "" {
			if !filepath.IsAbs(p) {
				p = filepath.Join(repoRoot(), p)
			}
			snapErr = copyExecutable(p, snapPath)
			return
		}
		cmd := exec.Command("go", "build", "-o", snapPath, "./cmd/snap")
		cmd.Dir = repoRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			snapErr = fmt.Errorf("cannot build snap: %v\n%s", err, out)
		}
	})
	if snapErr != nil {
		t.Fatal(snapErr)
	}
	return snapPath
}

func copyExecutable(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("cannot read the snap binary: %w", err)
	}
	if err := os.WriteFile(dst, data, 0o755); err != nil {
		return fmt.Errorf("cannot copy the snap binary: %w", err)
	}
	return nil
}

// repoRoot is the repository's top directory: the nearest one above the working
// directory that has a go.mod and the harness script (test-only modules below it,
// such as tests/snapdcompat, have a go.mod of their own).
func repoRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	for {
		if exists(filepath.Join(dir, "go.mod")) && exists(filepath.Join(dir, "tests", "lib", "user-session")) {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			panic("cannot find the repository root (no go.mod above the working directory)")
		}
		dir = parent
	}
}

func scriptPath() string {
	return filepath.Join(repoRoot(), "tests", "lib", "user-session")
}

func script(env []string, args ...string) error {
	_, err := scriptOutput(env, args...)
	return err
}

// scriptTimeout bounds every step of the harness: a hung manager must fail its test,
// not hold the whole test binary until go test's own timeout.
const scriptTimeout = 2 * time.Minute

func scriptOutput(env []string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), scriptTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, scriptPath(), args...)
	// Children (systemctl, nsenter) may keep the output pipe open after a kill.
	cmd.WaitDelay = 5 * time.Second
	if env != nil {
		cmd.Env = env
	}
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	return out.String(), err
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
