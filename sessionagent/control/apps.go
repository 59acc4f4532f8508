package control

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"

	"github.com/snapcore-ng/usersession-agent/systemd"
	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

// liveStates are the active states of a scope that may still hold processes.
var liveStates = map[string]bool{"active": true, "activating": true, "deactivating": true, "reloading": true}

// Kill carries out an app-control instruction. The only action, "kill", sends the
// signal (default SIGTERM) to every process of the snaps' running transient scopes
// (snap.<instance>.*.scope: the apps and hooks `snap run` started in this session).
// The result lists the scopes signalled per snap, every snap asked about included.
// kill-errors are keyed by scope, or by snap when its scopes could not be listed; a
// scope that ended between listing and signalling is not an error.
func (s *Services) Kill(ctx context.Context, inst wire.AppInstruction) (*wire.AppControlResult, error) {
	switch inst.Action {
	case wire.ActionKill:
	case "":
		return nil, badRequest("no action given")
	default:
		return nil, badRequest("unknown action %q", inst.Action)
	}
	sig := wire.Signal(syscall.SIGTERM)
	if inst.Signal != 0 {
		if err := inst.Signal.Check(); err != nil {
			return nil, badRequest("%v", err)
		}
		sig = inst.Signal
	}
	if len(inst.Snaps) == 0 {
		return nil, badRequest("no snaps given")
	}
	var bad []string
	for _, snap := range inst.Snaps {
		if err := validateInstanceName(snap); err != nil {
			bad = append(bad, err.Error())
		}
	}
	if len(bad) > 0 {
		return nil, badRequest("%s", strings.Join(bad, "; "))
	}

	ctx, done, err := s.begin(ctx, "kill snap apps")
	if err != nil {
		return nil, err
	}
	defer done()
	res := &wire.AppControlResult{Scopes: map[string][]string{}}
	killErrs := map[string]error{}
	for _, snap := range inst.Snaps {
		if _, seen := res.Scopes[snap]; seen {
			continue
		}
		res.Scopes[snap] = []string{}
		scopes, err := s.m.ListUnitsByPatterns(ctx, nil, []string{"snap." + snap + ".*.scope"})
		if err != nil {
			killErrs[snap] = err
			continue
		}
		for _, sc := range scopes {
			if !liveStates[sc.ActiveState] {
				continue
			}
			if err := s.m.Kill(ctx, sc.Name, syscall.Signal(sig)); err != nil {
				if errors.Is(err, systemd.ErrNoSuchUnit) || errors.Is(err, systemd.ErrNoSuchProcess) {
					continue
				}
				killErrs[sc.Name] = err
				continue
			}
			res.Scopes[snap] = append(res.Scopes[snap], sc.Name)
		}
	}
	if len(killErrs) > 0 {
		value := map[string]any{wire.KillErrorsKey: messages(killErrs)}
		return nil, failure(wire.ErrorKindAppControl, fmt.Sprintf("cannot send %v to some snap apps", sig), value, nil, killErrs)
	}
	return res, nil
}
