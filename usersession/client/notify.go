package client

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// Notification endpoints of snapd's agents. They are not in wire because this
// project's agent does not serve them (yet); the client speaks them to snapd's
// agents.
const (
	PathPendingRefresh = "/v1/notifications/pending-refresh"
	PathFinishRefresh  = "/v1/notifications/finish-refresh"
)

// PendingRefreshInfo is the body of POST /v1/notifications/pending-refresh, as snapd
// sends it: a snap has an update waiting for its apps to close.
type PendingRefreshInfo struct {
	InstanceName string `json:"instance-name"`
	// TimeRemaining is how long until the refresh is forced; it goes on the wire
	// as integer nanoseconds, as snapd's time.Duration does.
	TimeRemaining time.Duration `json:"time-remaining,omitempty"`
	// BusyAppName and BusyAppDesktopEntry name the app keeping the snap busy.
	BusyAppName         string `json:"busy-app-name,omitempty"`
	BusyAppDesktopEntry string `json:"busy-app-desktop-entry,omitempty"`
}

// FinishRefreshInfo is the body of POST /v1/notifications/finish-refresh: the snap's
// refresh is done.
type FinishRefreshInfo struct {
	InstanceName string `json:"instance-name"`
}

// PendingRefreshNotification asks each agent to tell its user that a snap refresh is
// waiting.
func (c *Client) PendingRefreshNotification(ctx context.Context, t Targets, info PendingRefreshInfo) (*Results[struct{}], error) {
	return c.notify(ctx, t, "notify about pending refresh", PathPendingRefresh, info.InstanceName, info)
}

// FinishRefreshNotification asks each agent to tell its user that a snap refresh is
// done.
func (c *Client) FinishRefreshNotification(ctx context.Context, t Targets, info FinishRefreshInfo) (*Results[struct{}], error) {
	return c.notify(ctx, t, "notify about finished refresh", PathFinishRefresh, info.InstanceName, info)
}

func (c *Client) notify(ctx context.Context, t Targets, op, path, snap string, body any) (*Results[struct{}], error) {
	if snap == "" {
		return nil, fmt.Errorf("cannot %s: no snap instance name given", op)
	}
	return fanOut[struct{}](ctx, c, t, &request{
		op:     op,
		method: http.MethodPost,
		path:   path,
		body:   body,
		limits: c.quickLimits(),
	})
}
