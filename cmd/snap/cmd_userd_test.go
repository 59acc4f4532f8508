package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

// userdMainEnv makes the test binary run main's run with its arguments instead of the
// tests, so that tests can start `snap userd --agent` as a process of its own: to send
// it signals, or to pass it a socket as systemd does. With userdActivatedEnv set, it
// also sets LISTEN_PID to its own pid, which only systemd can know before the exec.
const (
	userdMainEnv      = "SNAP_TEST_USERD_MAIN"
	userdActivatedEnv = "SNAP_TEST_USERD_ACTIVATED"
)

func init() {
	if os.Getenv(userdMainEnv) != "1" {
		return
	}
	if os.Getenv(userdActivatedEnv) == "1" {
		os.Setenv("LISTEN_PID", strconv.Itoa(os.Getpid()))
	}
	os.Exit(run(os.Args[1:], &cmdEnv{stdout: os.Stdout, stderr: os.Stderr}))
}

// runUserd runs the command line in this process.
func runUserd(args ...string) (stderr string, status int) {
	var out, errOut bytes.Buffer
	status = run(args, &cmdEnv{stdout: &out, stderr: &errOut})
	return errOut.String(), status
}

// userdProcess starts `snap userd` args as a process of its own, with extra files
// from fd 3 on.
func userdProcess(t *testing.T, env []string, extra []*os.File, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, append([]string{"userd"}, args...)...)
	cmd.Env = append([]string{userdMainEnv + "=1", "PATH=" + os.Getenv("PATH")}, env...)
	cmd.ExtraFiles = extra
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd, &stderr
}

// waitProcess waits for cmd to exit and returns its exit status.
func waitProcess(t *testing.T, cmd *exec.Cmd, timeout time.Duration) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if exitErr, ok := err.(*exec.ExitError); ok {
			return exitErr.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(timeout):
		t.Fatalf("snap userd still running after %v", timeout)
		return -1
	}
}

// askSessionInfo asks the agent on conn for session-info and returns what it said.
func askSessionInfo(t *testing.T, conn net.Conn) wire.SessionInfo {
	t.Helper()
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: agent\r\nConnection: close\r\n\r\n", wire.PathSessionInfo)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	rsp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("session-info: %v", err)
	}
	defer rsp.Body.Close()
	var env struct {
		Result wire.SessionInfo `json:"result"`
	}
	if err := json.NewDecoder(rsp.Body).Decode(&env); err != nil || rsp.StatusCode != 200 {
		t.Fatalf("session-info: %d %v", rsp.StatusCode, err)
	}
	return env.Result
}

func dialWhenUp(t *testing.T, path string) net.Conn {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.Dial("unix", path)
		if err == nil {
			t.Cleanup(func() { conn.Close() })
			return conn
		}
		if time.Now().After(deadline) {
			t.Fatalf("agent not listening on %s: %v", path, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestUserdModesNeverShareAProcess(t *testing.T) {
	for _, args := range [][]string{{"--agent", "--autostart"}, {"--agent", "--activate"}, {"--autostart", "--activate"}} {
		stderr, status := runUserd(append([]string{"userd"}, args...)...)
		if status != 1 || !strings.Contains(stderr, "each runs in a process of its own") {
			t.Errorf("userd %v: status %d stderr %q", args, status, stderr)
		}
	}
}

func TestUserdRefusesArguments(t *testing.T) {
	stderr, status := runUserd("userd", "--agent", "extra")
	if status != 1 || !strings.Contains(stderr, "too many arguments") {
		t.Errorf("status %d stderr %q", status, stderr)
	}
}

func TestUserdAgentServesThenExitsWhenIdle(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agent.socket")
	result := make(chan int, 1)
	go func() {
		_, status := runUserd("userd", "--agent", "--socket="+path, "--idle-timeout=300ms")
		result <- status
	}()
	info := askSessionInfo(t, dialWhenUp(t, path))
	if info.Version != Version || info.UID == nil || *info.UID != os.Getuid() || info.PID != os.Getpid() {
		t.Errorf("session-info %+v, want version %q of this process", info, Version)
	}
	select {
	case status := <-result:
		if status != 0 {
			t.Errorf("exit status %d, want 0", status)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("agent did not exit when idle")
	}
}

func TestUserdAgentExitsZeroOnSIGTERM(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agent.socket")
	cmd, stderr := userdProcess(t, nil, nil, "--agent", "--socket="+path, "--verbose")
	askSessionInfo(t, dialWhenUp(t, path))
	cmd.Process.Signal(syscall.SIGTERM)
	if status := waitProcess(t, cmd, 15*time.Second); status != 0 {
		t.Errorf("exit status %d, want 0; stderr:\n%s", status, stderr)
	}
	if !strings.Contains(stderr.String(), `msg=exiting reason="terminated signal received"`) {
		t.Errorf("exit reason not logged:\n%s", stderr)
	}
}

func TestUserdAgentSocketActivated(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agent.socket")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	f, err := l.(*net.UnixListener).File()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// As with systemd, the client connects before the agent runs; the connection
	// waits in the socket's backlog.
	conn, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	start := time.Now()
	cmd, stderr := userdProcess(t, []string{userdActivatedEnv + "=1", "LISTEN_FDS=1"}, []*os.File{f},
		"--agent", "--socket="+filepath.Join(t.TempDir(), "unused.socket"), "--idle-timeout=200ms")
	info := askSessionInfo(t, conn)
	t.Logf("cold start: %v from exec to a full session-info answer", time.Since(start))
	if info.PID != cmd.Process.Pid {
		t.Errorf("answered by pid %d, want the activated agent %d", info.PID, cmd.Process.Pid)
	}
	if status := waitProcess(t, cmd, 10*time.Second); status != 0 {
		t.Errorf("exit status %d, want 0; stderr:\n%s", status, stderr)
	}
	if !strings.Contains(stderr.String(), "activated=true") {
		t.Errorf("activation not logged:\n%s", stderr)
	}
}

func TestUserdAgentRefusesAnActivatedDatagramSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agent.socket")
	pc, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	f, err := pc.File()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd, stderr := userdProcess(t, []string{userdActivatedEnv + "=1", "LISTEN_FDS=1"}, []*os.File{f}, "--agent")
	if status := waitProcess(t, cmd, 10*time.Second); status != 1 {
		t.Errorf("exit status %d, want 1", status)
	}
	if want := "error: cannot use the socket passed by systemd: not a listening unix stream socket\n"; stderr.String() != want {
		t.Errorf("stderr %q, want %q", stderr, want)
	}
}
