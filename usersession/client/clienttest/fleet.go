package clienttest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/snapcore-ng/usersession-agent/testkit/testenv"
	"github.com/snapcore-ng/usersession-agent/usersession/client"
)

// Environment of an agent child process.
const (
	envBehaviour = "CLIENTTEST_FAKE_AGENT"
	envSocket    = "CLIENTTEST_FAKE_AGENT_SOCKET"
	// agentLifetime bounds a child that outlives its test (for instance when the
	// test binary is killed and the death signal is lost).
	agentLifetime = 10 * time.Minute
)

// MaybeRunAgent turns this process into an agent, and never returns, if it was
// started as one by a Fleet; otherwise it returns at once.
func MaybeRunAgent() {
	behaviour := os.Getenv(envBehaviour)
	if behaviour == "" {
		return
	}
	path := os.Getenv(envSocket)
	l, err := net.Listen("unix", path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "fake agent: %v\n", err)
		os.Exit(2)
	}
	if target, ok := strings.CutPrefix(behaviour, flipPrefix); ok {
		behaviour = Real
		if err := startFlipping(path, target); err != nil {
			fmt.Fprintf(os.Stderr, "fake agent: %v\n", err)
			os.Exit(2)
		}
	}
	fmt.Println("ready")
	time.AfterFunc(agentLifetime, func() { os.Exit(3) })
	if _, real := agents[behaviour]; real {
		// The agent returns nil when it is told to exit.
		err = runAgent(l, behaviour)
	} else {
		exit := func() { os.Remove(path); os.Exit(0) }
		err = Serve(l, Handler(behaviour, exit))
	}
	if err == nil {
		os.Exit(0)
	}
	fmt.Fprintf(os.Stderr, "fake agent: %v\n", err)
	os.Exit(2)
}

// flipPrefix starts a behaviour made by FlipTo.
const flipPrefix = "flip-to:"

// FlipTo is the behaviour of an agent that answers as Real and, as fast as it can,
// swaps its socket's path between the socket and a symlink to target (another
// socket, which its uid may not even reach): an attack on the time between root's
// check of the path and its connect.
func FlipTo(target string) string { return flipPrefix + target }

// startFlipping swaps path between the socket listening there and a symlink to
// target, forever, each swap an atomic rename.
func startFlipping(path, target string) error {
	real, link := path+".real", path+".link"
	if err := os.Link(path, real); err != nil {
		return err
	}
	go func() {
		for {
			os.Symlink(target, link)
			os.Rename(link, path)
			os.Link(real, link)
			os.Rename(link, path)
		}
	}()
	return nil
}

// RequireRoot skips the test unless it runs as root; with CI=true it fails instead,
// so that CI never counts a skip as a pass.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	testenv.SkipOrFail(t, "fake agents of other users need root (to chown their directories and run them as those uids)")
}

// Fleet is a runtime base directory (like /run/user) with fake agents in it. Its
// agents are killed and its files removed when the test ends.
type Fleet struct {
	// Base is the runtime base directory to give the client as RuntimeDir.
	Base string

	t testing.TB
	// binDir is created up front, on the test's goroutine, because binary runs on
	// StartManyWith's goroutines, where WorldReadableDir's t.Fatal must not be called.
	binDir  string
	binOnce sync.Once
	binErr  error
}

// NewFleet creates an empty runtime base directory, readable by every uid.
func NewFleet(t testing.TB) *Fleet {
	t.Helper()
	return &Fleet{
		t:      t,
		Base:   WorldReadableDir(t, "clienttest-run-"),
		binDir: WorldReadableDir(t, "clienttest-bin-"),
	}
}

// WorldReadableDir creates a temporary directory, mode 0755 so that agents of any
// uid can enter it, removed when the test ends.
func WorldReadableDir(t testing.TB, prefix string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// UserDir creates <Base>/<uid> as the uid's runtime directory: owned by it, mode
// 0700. It returns the directory and the agent socket path in it.
func (f *Fleet) UserDir(uid int) (dir, socket string) {
	f.t.Helper()
	dir = filepath.Join(f.Base, strconv.Itoa(uid))
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		f.t.Fatal(err)
	}
	if err := os.Chown(dir, uid, uid); err != nil {
		f.t.Fatal(err)
	}
	return dir, filepath.Join(dir, client.SocketName)
}

// Start runs an agent with behaviour as uid on <Base>/<uid>/<client.SocketName>.
func (f *Fleet) Start(uid int, behaviour string) *Agent {
	f.t.Helper()
	_, socket := f.UserDir(uid)
	return f.StartAt(uid, socket, behaviour)
}

// StartMany starts agents for uids in parallel, a few at a time.
func (f *Fleet) StartMany(uids []int, behaviour string) []*Agent {
	f.t.Helper()
	agents, err := f.StartManyWith(uids, func(uid int, socket string) (*Agent, error) {
		return f.start(uid, socket, behaviour)
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return agents
}

// StartManyWith creates the runtime directories of uids and calls start for each, a
// few at a time (for instance to run StartCommand).
func (f *Fleet) StartManyWith(uids []int, start func(uid int, socket string) (*Agent, error)) ([]*Agent, error) {
	f.t.Helper()
	agents := make([]*Agent, len(uids))
	errs := make([]error, len(uids))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i, uid := range uids {
		_, socket := f.UserDir(uid)
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			agents[i], errs[i] = start(uid, socket)
		}()
	}
	wg.Wait()
	return agents, errors.Join(errs...)
}

// Agent is a fake agent process.
type Agent struct {
	UID    int
	Socket string
	cmd    *exec.Cmd
}

// Pid returns the agent's process id.
func (a *Agent) Pid() int { return a.cmd.Process.Pid }

// StartAt runs an agent with behaviour as uid, listening on socket, whose directory
// must be writable by uid.
func (f *Fleet) StartAt(uid int, socket, behaviour string) *Agent {
	f.t.Helper()
	a, err := f.start(uid, socket, behaviour)
	if err != nil {
		f.t.Fatal(err)
	}
	return a
}

func (f *Fleet) start(uid int, socket, behaviour string) (*Agent, error) {
	bin, err := f.binary()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin)
	cmd.Env = []string{envBehaviour + "=" + behaviour, envSocket + "=" + socket, "GOMAXPROCS=1"}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	return f.spawn(uid, socket, cmd, func() error { return waitReady(out, 10*time.Second) })
}

// StartCommand runs bin with args as uid (for instance the real agent, told to
// listen on socket) and waits until socket accepts connections.
func (f *Fleet) StartCommand(uid int, socket, bin string, args ...string) (*Agent, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"XDG_RUNTIME_DIR=" + filepath.Dir(socket), "GOMAXPROCS=1", "PATH=/usr/bin:/bin"}
	return f.spawn(uid, socket, cmd, func() error { return waitListening(socket, 10*time.Second) })
}

// spawn starts cmd as uid, in its own process group, and waits for ready.
func (f *Fleet) spawn(uid int, socket string, cmd *exec.Cmd, ready func() error) (*Agent, error) {
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)},
		// Its own process group, killed whole at cleanup; and killed if we die.
		Setpgid:   true,
		Pdeathsig: syscall.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("cannot start agent for uid %d: %w", uid, err)
	}
	a := &Agent{UID: uid, Socket: socket, cmd: cmd}
	f.t.Cleanup(a.kill)
	if err := ready(); err != nil {
		return nil, fmt.Errorf("agent for uid %d did not start: %w", uid, err)
	}
	return a, nil
}

// waitListening polls until socket accepts a connection.
func waitListening(socket string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		conn, err := net.DialTimeout("unix", socket, time.Second)
		if err == nil {
			conn.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("socket not listening after %v: %w", timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitReady waits for the agent's "ready" line. The reading goroutine ends when the
// pipe closes, at the latest when the agent is killed.
func waitReady(out io.Reader, timeout time.Duration) error {
	ready := make(chan error, 1)
	go func() {
		line, err := bufio.NewReader(out).ReadString('\n')
		if err == nil && line != "ready\n" {
			err = fmt.Errorf("unexpected output %q", line)
		}
		ready <- err
	}()
	select {
	case err := <-ready:
		return err
	case <-time.After(timeout):
		return fmt.Errorf("no ready line within %v", timeout)
	}
}

func (a *Agent) kill() {
	// The negative pid addresses the agent's whole process group.
	syscall.Kill(-a.cmd.Process.Pid, syscall.SIGKILL)
	a.cmd.Wait()
}

// Kill kills the agent now.
func (a *Agent) Kill() { a.kill() }

// binary returns a copy of the test binary that every uid can execute: the original
// usually sits in a directory only its owner may enter. It may run on any goroutine:
// it reports failures as errors, never through f.t.
func (f *Fleet) binary() (string, error) {
	f.binOnce.Do(func() {
		self, err := os.Executable()
		if err != nil {
			f.binErr = err
			return
		}
		f.binErr = copyFile(self, filepath.Join(f.binDir, "agent"), 0o755)
	})
	return filepath.Join(f.binDir, "agent"), f.binErr
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// ServeInProcess serves h on socket from this test process, whatever uid it runs as
// (as root: a root process serving a user's socket). It stops when the test ends.
func (f *Fleet) ServeInProcess(socket string, h http.Handler) {
	f.t.Helper()
	l, err := net.Listen("unix", socket)
	if err != nil {
		f.t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(l)
	}()
	f.t.Cleanup(func() {
		srv.Close()
		<-done
	})
}
