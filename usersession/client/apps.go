package client

import (
	"context"
	"fmt"
	"net/http"

	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

// KillApps sends signal (0 means the agent's default, SIGTERM) to the running apps of
// snaps in each session. The signal travels as a number, the only form snapd's agent
// decodes. Snaps the agent could not signal make the outcome fail with an *AgentError
// of kind wire.ErrorKindAppControl whose Failures[wire.KillErrorsKey] names them.
func (c *Client) KillApps(ctx context.Context, t Targets, snaps []string, signal wire.Signal) (*Results[wire.AppControlResult], error) {
	const op = "kill snap apps"
	if err := checkNames("snap", snaps); err != nil {
		return nil, fmt.Errorf("cannot %s: %w", op, err)
	}
	if signal != 0 {
		if err := signal.Check(); err != nil {
			return nil, fmt.Errorf("cannot %s: %w", op, err)
		}
	}
	return fanOut[wire.AppControlResult](ctx, c, t, &request{
		op:     op,
		method: http.MethodPost,
		path:   wire.PathAppControl,
		body:   wire.AppInstruction{Action: wire.ActionKill, Snaps: snaps, Signal: signal},
		limits: c.quickLimits(),
		asked:  snaps,
		check:  checkScopes(snaps),
	})
}
