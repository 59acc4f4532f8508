package main

import (
	"context"
	"fmt"
	"io"
	"os/user"
	"strings"
	"sync"
	"time"

	"github.com/snapcore-ng/usersession-agent/systemd"
)

// floorOps issues the jobs of each instruction directly on the user's manager, over
// its private socket, with the project's systemd package: what the agent cannot do in
// less time, whatever it does around the jobs. It follows the agent's order of work
// (sessionagent/control): start one unit after the other, each job awaited before the
// next is queued; stop all units side by side; restart one after the other; status in
// the same two round trips as the agent (systemd.Manager.Status); daemon-reload one
// Reload call.
//
// The bench runs as root, so this connection authenticates as uid 0 where the agent's
// authenticates as the user. The manager checks the peer's uid once, when the
// connection is accepted (root and the manager's own user both pass), and treats the
// calls of either connection the same way afterwards.
type floorOps struct{ m *systemd.Manager }

// floorTimeout bounds each instruction of the floor, as the agent's requests are
// bounded.
const floorTimeout = 60 * time.Second

func (b *bench) connectManager() (*systemd.Manager, error) {
	u, err := user.Lookup(b.user)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := systemd.ConnectUser(ctx, "/run/user/"+u.Uid)
	if err != nil {
		return nil, fmt.Errorf("cannot measure the manager's floor: %w", err)
	}
	return m, nil
}

// managerVersion is the manager's version as systemctl gives it ("252"), or "?".
func (b *bench) managerVersion() string {
	out, err := b.systemctl("--version")
	if f := strings.Fields(out); err == nil && len(f) >= 2 {
		return f[1]
	}
	return "?"
}

func timed(f func(ctx context.Context) error) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), floorTimeout)
	defer cancel()
	start := time.Now()
	err := f(ctx)
	return time.Since(start), err
}

func (f *floorOps) start(units []string) (time.Duration, error) {
	return oneByOne(units, f.m.Start)
}

func (f *floorOps) restart(units []string) (time.Duration, error) {
	return oneByOne(units, f.m.Restart)
}

// oneByOne runs job on each unit in turn, each awaited before the next, and stops at
// the first that fails.
func oneByOne(units []string, job func(ctx context.Context, unit string) error) (time.Duration, error) {
	return timed(func(ctx context.Context) error {
		for _, u := range units {
			if err := job(ctx, u); err != nil {
				return err
			}
		}
		return nil
	})
}

func (f *floorOps) stop(units []string) (time.Duration, error) {
	return timed(func(ctx context.Context) error {
		errs := make([]error, len(units))
		var wg sync.WaitGroup
		for i, u := range units {
			wg.Go(func() { errs[i] = f.m.Stop(ctx, u) })
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return err
			}
		}
		return nil
	})
}

func (f *floorOps) status(units []string) (time.Duration, error) {
	return timed(func(ctx context.Context) error {
		_, err := f.m.Status(ctx, units)
		return err
	})
}

func (f *floorOps) daemonReload() (time.Duration, error) {
	return timed(f.m.Reload)
}

// floorTarget is the most the agent may take against the manager's floor (issue 12).
const floorTarget = 1.15

// printFloorTable prints the agent against the floor measured in the same rounds.
func printFloorTable(w io.Writer, r *ServicesResult) error {
	if r.Floor == nil {
		return fmt.Errorf("%s has no floor measurements (run agentbench with -floor)", r.Label)
	}
	f := r.Floor
	fmt.Fprintf(w, "| 10 units (median of %d) | floor: %s (%s) | %s (%s) | ratio agent/floor | target |\n",
		r.Rounds, f.Label, f.Version, r.Label, r.Version)
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|")
	row := func(name string, fl, ag float64) {
		fmt.Fprintf(w, "| %s | %.1f ms | %.1f ms | %.2fx | ≤ %.2fx |\n", name, fl, ag, ag/fl, floorTarget)
	}
	row("start", f.Start10Ms, r.Start10Ms)
	row("stop", f.Stop10Ms, r.Stop10Ms)
	row("restart", f.Restart10Ms, r.Restart10Ms)
	row("status", f.Status10Ms, r.Status10Ms)
	row("daemon-reload", f.DaemonReloadMs, r.DaemonReloadMs)
	return nil
}
