package control

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"syscall"

	"github.com/snapcore-ng/usersession-agent/internal/snapname"
	"github.com/snapcore-ng/usersession-agent/systemd"
	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

// liveStates are the active states of a scope that may still hold processes.
var liveStates = map[string]bool{"active": true, "activating": true, "deactivating": true, "reloading": true}

// Kill carries out an app-control instruction. The only action, "kill", sends the
// signal (default SIGTERM) to every process of the snaps' running transient scopes:
// snap.<instance>.*.scope, the apps and hooks `snap run` started in this session, and
// snap.<instance>\x2b<component>.*.scope, the hooks of the snap's components (snapd
// names a component's security tag <instance>+<component>, and systemd escapes the
// '+' in unit names).
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
		if err := snapname.ValidateInstance(snap); err != nil {
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
		scopes, err := s.snapScopes(ctx, snap)
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

// snapScopes lists the transient scopes of a snap instance and of its components. The
// pattern for components has '?' where the unit name has a backslash, which
// ListUnitsByPatterns (fnmatch) could read as an escape; the names it matches are
// then checked for the exact prefix.
func (s *Services) snapScopes(ctx context.Context, instance string) ([]systemd.Unit, error) {
	units, err := s.m.ListUnitsByPatterns(ctx, nil, []string{"snap." + instance + ".*.scope", "snap." + instance + "?x2b*.scope"})
	if err != nil {
		return nil, err
	}
	appPrefix, compPrefix := "snap."+instance+".", "snap."+instance+`\x2b`
	return slices.DeleteFunc(units, func(u systemd.Unit) bool {
		return !strings.HasPrefix(u.Name, appPrefix) && !strings.HasPrefix(u.Name, compPrefix)
	}), nil
}
