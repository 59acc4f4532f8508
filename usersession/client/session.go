package client

import (
	"context"
	"net/http"

	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

// SessionInfo asks each agent who it is (GET /v1/session-info).
func (c *Client) SessionInfo(ctx context.Context, t Targets) (*Results[wire.SessionInfo], error) {
	return fanOut[wire.SessionInfo](ctx, c, t, c.sessionInfoRequest())
}

func (c *Client) sessionInfoRequest() *request {
	return &request{
		op:     "get session info",
		method: http.MethodGet,
		path:   wire.PathSessionInfo,
		limits: c.quickLimits(),
	}
}

// AgentExit tells each agent to exit (POST /v1/agent-exit), for instance before an
// upgrade; socket activation starts the new one on the next connection. The agent
// answers before it exits, once its service work in progress is done: the call has
// the deadlines of service calls.
func (c *Client) AgentExit(ctx context.Context, t Targets) (*Results[struct{}], error) {
	return fanOut[struct{}](ctx, c, t, &request{
		op:     "tell session agent to exit",
		method: http.MethodPost,
		path:   wire.PathAgentExit,
		limits: c.serviceLimits(),
	})
}
