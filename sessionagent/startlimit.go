package sessionagent

import (
	"context"
	"os"
	"strings"
	"time"
)

// UnitManager is the user's systemd manager as the agent's last step needs it: the
// unit a process runs in, and resetting a unit's failed state and start rate limit
// counter (`systemctl reset-failed`). *systemd.Manager implements it.
type UnitManager interface {
	UnitOfPID(ctx context.Context, pid uint32) (string, error)
	ResetFailed(ctx context.Context, unit string) error
}

// forgetStartTimeout bounds forgetStart, which runs as the agent exits.
const forgetStartTimeout = 2 * time.Second

// forgetStart resets the start rate limit counter of the service unit the agent runs
// in, after a clean exit. The unit keeps systemd's start limit so that an agent that
// fails at every start is stopped after a few tries (its socket then fails with
// service-start-limit-hit), but an agent that exits cleanly, on idle, on request or
// when stopped, does not count towards it: no sequence of ordinary exits, stops and
// starts can then fail the unit, however fast. Nothing is done without
// Config.Systemd, or outside a service unit (an agent run by hand); a failure only
// costs a count, so it is logged at debug level.
func (a *Agent) forgetStart() {
	m := a.cfg.Systemd
	if m == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), forgetStartTimeout)
	defer cancel()
	unit, err := m.UnitOfPID(ctx, uint32(os.Getpid()))
	if err == nil && !strings.HasSuffix(unit, ".service") {
		return
	}
	if err == nil {
		err = m.ResetFailed(ctx, unit)
	}
	if err != nil {
		a.log.Debug("cannot reset the start limit of the agent's unit", "err", err)
	}
}
