package usersessiontest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/snapcore-ng/usersession-agent/systemd"
	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

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
