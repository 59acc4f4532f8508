package control

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/snapcore-ng/usersession-agent/systemd"
	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

// Control carries out a service-control instruction:
//
//   - "start": start the services one after the other, in the order given; with Enable,
//     enable them (and reload the manager) first. If one fails, the services this call
//     started are stopped again, in reverse order, and the enabling is undone.
//   - "stop": stop every service, all at once, continuing past failures; a service
//     that does not stop within its own stop timeout (or before the request's
//     deadline) is killed, and the result says so. A service that is not loaded is
//     stopped already: no error, and the result lists it as not loaded (snapd's agent
//     fails there, which blocks a snap's removal although nothing runs). With
//     Disable, disable the services that stopped (and reload the manager) afterwards;
//     a service without a unit file has nothing to disable. A service that failed to
//     stop keeps its enablement: it may still run, and a running service that is
//     disabled would silently not come back at the next login, while snapd undoes a
//     failed stop by starting (and enabling) the services again. (snapd's agent
//     disables none of them when one fails; disabling those that did stop keeps them
//     from starting at the next login, e.g. for a snap being removed, and makes a
//     retry do only what is left.)
//   - "restart": restart each service (a restart job, not a stop then a start); with
//     Reload, reload-or-restart. snapd's older action "reload-or-restart" is
//     accepted as restart with Reload.
//   - "daemon-reload": reload the manager; no services may be given.
//
// Every entry is checked before anything runs (see serviceUnit for the rule); per-unit
// errors are keyed by the entry as given.
func (s *Services) Control(ctx context.Context, inst wire.ServiceInstruction) (*wire.ServiceControlResult, error) {
	action := inst.Action
	if action == wire.ActionReloadOrRestart {
		action, inst.Reload = wire.ActionRestart, true
	}
	switch action {
	case wire.ActionStart, wire.ActionStop, wire.ActionRestart, wire.ActionDaemonReload:
	case "":
		return nil, badRequest("no action given")
	default:
		return nil, badRequest("unknown action %q", inst.Action)
	}
	if inst.Enable && action != wire.ActionStart {
		return nil, badRequest("enable is only valid with start, not %s", inst.Action)
	}
	if inst.Disable && action != wire.ActionStop {
		return nil, badRequest("disable is only valid with stop, not %s", inst.Action)
	}
	if inst.Reload && action != wire.ActionRestart {
		return nil, badRequest("reload is only valid with restart, not %s", inst.Action)
	}
	if action == wire.ActionDaemonReload {
		if len(inst.Services) > 0 {
			return nil, badRequest("daemon-reload takes no services")
		}
		return s.daemonReload(ctx)
	}
	units, berr := serviceUnits(inst.Services)
	if berr != nil {
		return nil, berr
	}
	if len(units) == 0 {
		return &wire.ServiceControlResult{}, nil
	}
	switch action {
	case wire.ActionStart:
		return s.start(ctx, inst.Services, units, inst.Enable)
	case wire.ActionStop:
		return s.stop(ctx, inst.Services, units, inst.Disable)
	default:
		return s.restart(ctx, inst.Services, units, inst.Reload)
	}
}

func (s *Services) daemonReload(ctx context.Context) (*wire.ServiceControlResult, error) {
	ctx, done, err := s.begin(ctx, "reload the systemd manager")
	if err != nil {
		return nil, err
	}
	defer done()
	if err := s.m.Reload(ctx); err != nil {
		return nil, failure(wire.ErrorKindServiceControl, "cannot reload the user's systemd manager", nil, err)
	}
	return &wire.ServiceControlResult{}, nil
}

// rollbackShare is the part of a start request's time kept for undoing it: a quarter,
// at most rollbackMax. Without it, a start that runs into the deadline would leave no
// time to stop what it started.
const (
	rollbackShare = 4
	rollbackMax   = 10 * time.Second
)

func (s *Services) start(ctx context.Context, entries, units []string, enable bool) (*wire.ServiceControlResult, error) {
	ctx, done, err := s.begin(ctx, "start user services")
	if err != nil {
		return nil, err
	}
	defer done()
	dl, _ := ctx.Deadline()
	reserve := min(time.Until(dl)/rollbackShare, rollbackMax)
	startCtx, cancel := context.WithDeadline(ctx, dl.Add(-reserve))
	defer cancel()

	if enable {
		if err := s.m.Enable(startCtx, units); err != nil {
			return nil, failure(wire.ErrorKindServiceControl, "cannot enable user services", nil, err)
		}
		if err := s.m.Reload(startCtx); err != nil {
			msg := "cannot reload the user's systemd manager after enabling services"
			if derr := s.undoEnable(ctx, units); derr != nil {
				msg += fmt.Sprintf(" (and cannot disable them again: %v)", derr)
			}
			return nil, failure(wire.ErrorKindServiceControl, msg, nil, err)
		}
	}

	startErrs := map[string]error{}
	var started []int
	for i, u := range units {
		if err := s.m.Start(startCtx, u); err != nil {
			startErrs[entries[i]] = err
			if isTimeout(err) {
				// The job outlives our wait: undo it too, or the unit may come up
				// after the caller was told it failed.
				started = append(started, i)
			}
			break
		}
		started = append(started, i)
	}
	if len(startErrs) == 0 {
		return &wire.ServiceControlResult{}, nil
	}

	// Undo, with the whole of the request's remaining time.
	stopErrs := map[string]error{}
	for _, i := range slices.Backward(started) {
		if _, err := s.m.StopOrKill(ctx, units[i], DefaultStopMargin); err != nil {
			stopErrs[entries[i]] = err
		}
	}
	msg := "some user services failed to start"
	if enable {
		if err := s.undoEnable(ctx, units); err != nil {
			msg += fmt.Sprintf(" (and cannot disable them again: %v)", err)
		}
	}
	value := map[string]any{
		wire.StartErrorsKey: messages(startErrs),
		wire.StopErrorsKey:  messages(stopErrs),
	}
	return nil, failure(wire.ErrorKindServiceControl, msg, value, nil, startErrs, stopErrs)
}

func (s *Services) undoEnable(ctx context.Context, units []string) error {
	if err := s.m.Disable(ctx, units); err != nil {
		return err
	}
	return s.m.Reload(ctx)
}

func (s *Services) stop(ctx context.Context, entries, units []string, disable bool) (*wire.ServiceControlResult, error) {
	ctx, done, err := s.begin(ctx, "stop user services")
	if err != nil {
		return nil, err
	}
	defer done()

	// All stop jobs run at once, as with `systemctl stop a b c`: a unit slow to stop
	// does not delay the others, and the manager orders the jobs by the units'
	// After= dependencies.
	errs := make([]error, len(units))
	killed := make([]bool, len(units))
	var wg sync.WaitGroup
	for i, u := range units {
		wg.Go(func() {
			r, err := s.m.StopOrKill(ctx, u, DefaultStopMargin)
			errs[i], killed[i] = err, r.Killed
		})
	}
	wg.Wait()

	stopErrs := map[string]error{}
	var res wire.ServiceControlResult
	var stopped []string
	for i, e := range entries {
		switch {
		case errors.Is(errs[i], systemd.ErrNoSuchUnit):
			res.NotLoaded = append(res.NotLoaded, e)
		case errs[i] != nil:
			stopErrs[e] = errs[i]
		}
		if killed[i] {
			res.Killed = append(res.Killed, e)
		}
		if errs[i] == nil || errors.Is(errs[i], systemd.ErrNoSuchUnit) {
			stopped = append(stopped, units[i])
		}
	}
	var disableErr error
	if disable && len(stopped) > 0 {
		if err := s.disable(ctx, stopped); err != nil {
			disableErr = err
		} else if err := s.m.Reload(ctx); err != nil {
			disableErr = err
		}
	}
	if len(stopErrs) == 0 && disableErr == nil {
		return &res, nil
	}
	value := map[string]any{}
	if len(res.Killed) > 0 {
		value[wire.KilledKey] = res.Killed
	}
	if len(res.NotLoaded) > 0 {
		value[wire.NotLoadedKey] = res.NotLoaded
	}
	if len(stopErrs) == 0 {
		var v any
		if len(value) > 0 {
			v = value
		}
		return nil, failure(wire.ErrorKindServiceControl, fmt.Sprintf("cannot disable user services: %v", disableErr), v, disableErr)
	}
	value[wire.StopErrorsKey] = messages(stopErrs)
	msg := "some user services failed to stop"
	if disableErr != nil {
		msg += fmt.Sprintf(" (and cannot disable them: %v)", disableErr)
	}
	return nil, failure(wire.ErrorKindServiceControl, msg, value, disableErr, stopErrs)
}

// disable disables units. The manager refuses the whole call if one unit file does
// not exist; a unit without a file has nothing to disable, so then each unit is
// disabled on its own and those without a file are skipped.
func (s *Services) disable(ctx context.Context, units []string) error {
	err := s.m.Disable(ctx, units)
	if !errors.Is(err, systemd.ErrNoSuchUnit) {
		return err
	}
	for _, u := range units {
		if err := s.m.Disable(ctx, []string{u}); err != nil && !errors.Is(err, systemd.ErrNoSuchUnit) {
			return err
		}
	}
	return nil
}

func (s *Services) restart(ctx context.Context, entries, units []string, reload bool) (*wire.ServiceControlResult, error) {
	ctx, done, err := s.begin(ctx, "restart user services")
	if err != nil {
		return nil, err
	}
	defer done()
	restartErrs := map[string]error{}
	for i, u := range units {
		var err error
		if reload {
			err = s.m.ReloadOrRestart(ctx, u)
		} else {
			err = s.m.Restart(ctx, u)
		}
		if err != nil {
			restartErrs[entries[i]] = err
		}
	}
	if len(restartErrs) == 0 {
		return &wire.ServiceControlResult{}, nil
	}
	value := map[string]any{wire.RestartErrorsKey: messages(restartErrs)}
	return nil, failure(wire.ErrorKindServiceControl, "some user services failed to restart", value, nil, restartErrs)
}
