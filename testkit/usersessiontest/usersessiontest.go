// Package usersessiontest brings up real `systemd --user` managers, each with its own
// session bus, for throwaway users, so that integration tests run against the real
// thing. It drives tests/lib/user-session, the same script the demo and humans use.
//
// The sessions need root. Outside CI a test that cannot have one is skipped with the
// reason; with CI=true it fails instead, so that CI never counts a skip as a pass.
package usersessiontest

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/snapcore-ng/usersession-agent/testkit/testenv"
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
	// A session left behind by a test that crashed would make start refuse (units an
	// earlier test left were cleared when the user was claimed).
	_ = script(nil, "stop", s.User)
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
