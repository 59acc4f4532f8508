package sessionagent_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/snapcore-ng/usersession-agent/internal/logger"
	"github.com/snapcore-ng/usersession-agent/sessionagent"
	"github.com/snapcore-ng/usersession-agent/testkit/testenv"
)

func TestListenOnPath(t *testing.T) {
	t.Parallel()
	t.Run("fresh path", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "agent.socket")
		ta := runAgent(t, path, sessionagent.Config{SocketPath: path})
		waitServing(t, path)
		ta.sessionInfo()
		checkSocketMode(t, path)
		ta.cancel()
		ta.waitExit(5 * time.Second)
		if _, err := os.Lstat(path); !os.IsNotExist(err) {
			t.Errorf("socket left behind after exit: %v", err)
		}
	})
	t.Run("stale socket is replaced", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "agent.socket")
		l, err := net.Listen("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		// A dead agent's socket: the file stays, nobody listens.
		l.(*net.UnixListener).SetUnlinkOnClose(false)
		l.Close()
		ta := runAgent(t, path, sessionagent.Config{SocketPath: path})
		waitServing(t, path)
		ta.sessionInfo()
		checkSocketMode(t, path)
	})
	t.Run("live agent is left alone", func(t *testing.T) {
		t.Parallel()
		live := startAgent(t, sessionagent.Config{})
		err := sessionagent.Run(context.Background(), sessionagent.Config{SocketPath: live.path, Logger: logger.New(live.logs, true)})
		if err == nil || !strings.Contains(err.Error(), "another agent is running") {
			t.Fatalf("Run returned %v, want another agent is running", err)
		}
		live.sessionInfo()
	})
	t.Run("other file is left alone", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "agent.socket")
		if err := os.WriteFile(path, []byte("precious"), 0o644); err != nil {
			t.Fatal(err)
		}
		err := sessionagent.Run(context.Background(), sessionagent.Config{SocketPath: path, Logger: logger.New(&syncBuffer{}, true)})
		if err == nil || !strings.Contains(err.Error(), "file exists and is not a socket") {
			t.Fatalf("Run returned %v, want file exists and is not a socket", err)
		}
		if data, err := os.ReadFile(path); err != nil || string(data) != "precious" {
			t.Errorf("file changed: %q %v", data, err)
		}
	})
	t.Run("missing directory", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "missing", "agent.socket")
		err := sessionagent.Run(context.Background(), sessionagent.Config{SocketPath: path, Logger: logger.New(&syncBuffer{}, true)})
		if err == nil || !strings.HasPrefix(err.Error(), "cannot listen on") {
			t.Fatalf("Run returned %v, want cannot listen on", err)
		}
	})
}

// waitServing waits until an agent answers connections on path.
func waitServing(t *testing.T, path string) {
	t.Helper()
	testenv.WaitFor(t, 5*time.Second, "the agent to listen", func() bool {
		c, err := net.Dial("unix", path)
		if err != nil {
			return false
		}
		c.Close()
		return true
	})
}

func checkSocketMode(t *testing.T, path string) {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Type() != os.ModeSocket || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v, want socket 0600", fi.Mode())
	}
}

func TestDefaultSocketPath(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", "/run/user/1234")
	if got, want := sessionagent.DefaultSocketPath(), "/run/user/1234/snapd-session-agent.socket"; got != want {
		t.Errorf("DefaultSocketPath() = %q, want %q", got, want)
	}
}
