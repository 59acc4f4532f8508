package control_test

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/snapcore-ng/usersession-agent/systemd"
)

// fakeManager records the calls made to it. fail maps "op unit" (or "op" for
// manager-wide calls) to the error to return; hang makes those calls wait for the
// context to end.
type fakeManager struct {
	mu     sync.Mutex
	calls  []string
	fail   map[string]error
	hang   map[string]bool
	killed map[string]bool
	status map[string]systemd.UnitStatus
	scopes []systemd.Unit
}

func (f *fakeManager) call(ctx context.Context, op string, units ...string) error {
	key := strings.TrimSpace(op + " " + strings.Join(units, " "))
	f.mu.Lock()
	f.calls = append(f.calls, key)
	hang, err := f.hang[key], f.fail[key]
	f.mu.Unlock()
	if hang {
		<-ctx.Done()
		return fmt.Errorf("cannot %s: %w", key, ctx.Err())
	}
	return err
}

func (f *fakeManager) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fakeManager) Start(ctx context.Context, unit string) error {
	return f.call(ctx, "start", unit)
}
func (f *fakeManager) StopOrKill(ctx context.Context, unit string, margin time.Duration) (systemd.StopResult, error) {
	err := f.call(ctx, "stop", unit)
	return systemd.StopResult{Killed: f.killed[unit]}, err
}
func (f *fakeManager) Restart(ctx context.Context, unit string) error {
	return f.call(ctx, "restart", unit)
}
func (f *fakeManager) ReloadOrRestart(ctx context.Context, unit string) error {
	return f.call(ctx, "reload-or-restart", unit)
}
func (f *fakeManager) Enable(ctx context.Context, units []string) error {
	return f.call(ctx, "enable", units...)
}
func (f *fakeManager) Disable(ctx context.Context, units []string) error {
	return f.call(ctx, "disable", units...)
}
func (f *fakeManager) Reload(ctx context.Context) error { return f.call(ctx, "daemon-reload") }
func (f *fakeManager) Status(ctx context.Context, units []string) ([]systemd.UnitStatus, error) {
	if err := f.call(ctx, "status", units...); err != nil {
		return nil, err
	}
	out := make([]systemd.UnitStatus, len(units))
	for i, u := range units {
		st, ok := f.status[u]
		if !ok {
			st = systemd.UnitStatus{ID: u, LoadState: "not-found", ActiveState: "inactive", SubState: "dead"}
		}
		st.Name = u
		out[i] = st
	}
	return out, nil
}
func (f *fakeManager) ListUnitsByPatterns(ctx context.Context, states, patterns []string) ([]systemd.Unit, error) {
	if err := f.call(ctx, "list", patterns...); err != nil {
		return nil, err
	}
	var out []systemd.Unit
	for _, u := range f.scopes {
		// fnmatch as systemd uses it, with FNM_NOESCAPE: a backslash is no escape.
		if slices.ContainsFunc(patterns, func(p string) bool {
			ok, _ := path.Match(strings.ReplaceAll(p, `\`, `\\`), u.Name)
			return ok
		}) {
			out = append(out, u)
		}
	}
	return out, nil
}
func (f *fakeManager) Kill(ctx context.Context, unit string, sig syscall.Signal) error {
	return f.call(ctx, fmt.Sprintf("kill %d", sig), unit)
}
