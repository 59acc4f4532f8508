package sessionagent_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/snapcore-ng/usersession-agent/sessionagent"
)

// fakeUnits is a systemd manager in which this process runs in unit (or whose
// UnitOfPID fails with err), recording what it is asked.
type fakeUnits struct {
	unit string
	err  error

	mu    sync.Mutex
	pids  []uint32
	reset []string
}

func (f *fakeUnits) UnitOfPID(_ context.Context, pid uint32) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pids = append(f.pids, pid)
	return f.unit, f.err
}

func (f *fakeUnits) ResetFailed(_ context.Context, unit string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reset = append(f.reset, unit)
	return nil
}

// A clean exit resets the start limit of the agent's own service unit, and of
// nothing else: not of a scope (an agent run by hand), not when the unit is unknown.
func TestCleanExitResetsTheStartLimitOfTheAgentsServiceOnly(t *testing.T) {
	for _, tc := range []struct {
		name      string
		units     *fakeUnits
		wantReset []string
	}{
		{"service", &fakeUnits{unit: "snapd.session-agent.service"}, []string{"snapd.session-agent.service"}},
		{"scope", &fakeUnits{unit: "session-2.scope"}, nil},
		{"unknown", &fakeUnits{err: errors.New("no unit for pid")}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ta := startAgent(t, sessionagent.Config{IdleTimeout: 100 * time.Millisecond, Systemd: tc.units})
			ta.waitExit(10 * time.Second)
			tc.units.mu.Lock()
			defer tc.units.mu.Unlock()
			if !slices.Equal(tc.units.pids, []uint32{uint32(os.Getpid())}) || !slices.Equal(tc.units.reset, tc.wantReset) {
				t.Errorf("asked for the units of pids %v, reset %q; want pid %d, reset %q", tc.units.pids, tc.units.reset, os.Getpid(), tc.wantReset)
			}
			if logged := strings.Contains(ta.logs.String(), "cannot reset the start limit"); logged != (tc.units.err != nil) {
				t.Errorf("failure logged: %v, want %v:\n%s", logged, tc.units.err != nil, ta.logs)
			}
		})
	}
}

// An agent that cannot start did not exit cleanly: its start counts.
func TestFailedStartKeepsTheStartLimit(t *testing.T) {
	units := &fakeUnits{unit: "snapd.session-agent.service"}
	path := filepath.Join(t.TempDir(), "missing", "agent.socket")
	err := sessionagent.Run(context.Background(), sessionagent.Config{SocketPath: path, Systemd: units, Logger: slog.New(slog.DiscardHandler)})
	if err == nil {
		t.Fatal("the agent started on a socket in a directory that does not exist")
	}
	if len(units.pids)+len(units.reset) != 0 {
		t.Errorf("asked for pids %v, reset %q after a failed start", units.pids, units.reset)
	}
}
