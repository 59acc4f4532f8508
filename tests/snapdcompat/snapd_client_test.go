// Package snapdcompat_test drives this project's agent with snapd's own client
// (github.com/snapcore/snapd/usersession/client), not with copies of its types. It is a
// module of its own so that the project's module does not depend on snapd; the Go
// module proxy serves snapd only as of October 2020, whose client sends session-info,
// start, stop and daemon-reload and decodes start-errors and stop-errors. Requests
// added to snapd's client later are checked against their exact JSON in
// tests/integration (snapd_compat_test.go, apps_test.go).
package snapdcompat_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/snapcore/snapd/dirs"
	snapdclient "github.com/snapcore/snapd/usersession/client"

	"github.com/snapcore-ng/usersession-agent/testkit/usersessiontest"
)

const (
	a   = "snap.compat.a.service"
	bad = "snap.compat.bad.service"
)

// snapdClientFor points snapd's client at the agent of s only: snapd's client talks
// to every socket under <root>/run/user, so the root is a directory holding a link
// to this session's socket and nothing else (other tests' sessions run at the same
// time on this machine).
func snapdClientFor(t *testing.T, s *usersessiontest.Session) *snapdclient.Client {
	t.Helper()
	root := t.TempDir()
	dirs.SetRootDir(root)
	t.Cleanup(func() { dirs.SetRootDir("/") })
	dir := filepath.Join(root, "run/user", strconv.Itoa(s.UID))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(s.AgentSocket(), filepath.Join(dir, "snapd-session-agent.socket")); err != nil {
		t.Fatal(err)
	}
	return snapdclient.New()
}

func unitState(t *testing.T, s *usersessiontest.Session, unit string) string {
	t.Helper()
	out, err := s.Systemctl("show", "-p", "ActiveState", "--value", unit)
	if err != nil {
		t.Fatalf("cannot read the state of %s: %v\n%s", unit, err, out)
	}
	return strings.TrimSpace(out)
}

func TestSnapdClientAgainstOurAgent(t *testing.T) {
	usersessiontest.RequireRoot(t)
	s := usersessiontest.Start(t, usersessiontest.Options{Agent: true})
	s.WriteUserUnit(a, "[Service]\nExecStart=/bin/sleep infinity\n")
	s.WriteUserUnit(bad, "[Service]\nType=oneshot\nExecStart=/bin/false\n")
	if out, err := s.Systemctl("daemon-reload"); err != nil {
		t.Fatalf("daemon-reload: %v\n%s", err, out)
	}
	cl := snapdClientFor(t, s)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()

	info, err := cl.SessionInfo(ctx)
	if err != nil || len(info) != 1 || info[s.UID].Version == "" {
		t.Fatalf("session-info through snapd's client: %v, %v", info, err)
	}

	startFailures, stopFailures, err := cl.ServicesStart(ctx, []string{a})
	if err != nil || len(startFailures) != 0 || len(stopFailures) != 0 {
		t.Fatalf("start through snapd's client: %v (%v, %v)", err, startFailures, stopFailures)
	}
	if st := unitState(t, s, a); st != "active" {
		t.Fatalf("%s is %s after a start through snapd's client", a, st)
	}
	stopFailures, err = cl.ServicesStop(ctx, []string{a, "snap.compat.missing.service"})
	if err != nil || len(stopFailures) != 0 {
		t.Fatalf("stop through snapd's client: %v (%v)", err, stopFailures)
	}
	if st := unitState(t, s, a); st != "inactive" {
		t.Fatalf("%s is %s after a stop through snapd's client", a, st)
	}

	// A failing start: snapd's client reads the unit that failed under start-errors
	// (kind service-control), and the agent has stopped what it started.
	startFailures, stopFailures, err = cl.ServicesStart(ctx, []string{a, bad})
	agentErr, ok := err.(*snapdclient.Error)
	if !ok || agentErr.Kind != "service-control" || len(stopFailures) != 0 {
		t.Fatalf("failing start through snapd's client: %#v (%v)", err, stopFailures)
	}
	got := slices.Collect(func(yield func(string) bool) {
		for _, f := range startFailures {
			if f.Uid != s.UID || f.Error == "" || !yield(f.Service) {
				return
			}
		}
	})
	if !slices.Equal(got, []string{bad}) {
		t.Errorf("start failures %+v, want %s of uid %d with a reason", startFailures, bad, s.UID)
	}
	if st := unitState(t, s, a); st != "inactive" {
		t.Errorf("%s is %s after the failed start was undone", a, st)
	}

	if err := cl.ServicesDaemonReload(ctx); err != nil {
		t.Errorf("daemon-reload through snapd's client: %v", err)
	}
}
