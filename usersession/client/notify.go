package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

// PendingRefreshNotification asks each agent to tell its user that a snap refresh is
// waiting (snapd's POST /v1/notifications/pending-refresh, with its body). This
// project's agents answer the notification's status; snapd's answer null, an empty
// status.
func (c *Client) PendingRefreshNotification(ctx context.Context, t Targets, info wire.PendingRefreshInfo) (*Results[wire.NotificationStatus], error) {
	return c.refreshNotification(ctx, t, "notify about pending refresh", wire.PathPendingRefresh, info.InstanceName, info)
}

// FinishRefreshNotification asks each agent to tell its user that a snap refresh is
// done (snapd's POST /v1/notifications/finish-refresh); it replaces the pending one.
func (c *Client) FinishRefreshNotification(ctx context.Context, t Targets, info wire.FinishRefreshInfo) (*Results[wire.NotificationStatus], error) {
	return c.refreshNotification(ctx, t, "notify about finished refresh", wire.PathFinishRefresh, info.InstanceName, info)
}

func (c *Client) refreshNotification(ctx context.Context, t Targets, op, path, snap string, body any) (*Results[wire.NotificationStatus], error) {
	if snap == "" {
		return nil, fmt.Errorf("cannot %s: no snap instance name given", op)
	}
	return fanOut[wire.NotificationStatus](ctx, c, t, &request{
		op:     op,
		method: http.MethodPost,
		path:   path,
		body:   body,
		limits: c.quickLimits(),
	})
}

// Notify shows n in each session (POST /v1/notifications). With wait > 0 it then
// waits, for at most wait, until each session's notification is final (an action
// chosen, dismissed, expired, closed, or its server gone), asking again every
// wire.MaxNotificationWait, and returns the last status each agent gave: "shown"
// means no answer came within wait.
func (c *Client) Notify(ctx context.Context, t Targets, n wire.Notification, wait time.Duration) (*Results[wire.NotificationStatus], error) {
	const op = "notify"
	if n.Title == "" {
		return nil, fmt.Errorf("cannot %s: no title given", op)
	}
	return fanOutFunc(ctx, c, t, op, func(ctx context.Context, s Session) (wire.NotificationStatus, error) {
		raw, err := c.call(ctx, s, &request{
			op:     op,
			method: http.MethodPost,
			path:   wire.PathNotifications,
			body:   n,
			limits: c.quickLimits(),
			// The answer lives in the agent that showed it, between the post and
			// the polls: none of them may let it exit.
			followed: wait > 0,
		})
		if err != nil {
			return wire.NotificationStatus{}, err
		}
		st, err := decodeResult[wire.NotificationStatus](raw)
		if err != nil || wait <= 0 {
			return st, err
		}
		return c.waitNotification(ctx, s, st, time.Now().Add(wait))
	})
}

// waitNotification asks for st's notification until it is final or deadline passes.
func (c *Client) waitNotification(ctx context.Context, s Session, st wire.NotificationStatus, deadline time.Time) (wire.NotificationStatus, error) {
	for st.State == wire.NotificationStateShown {
		left := time.Until(deadline)
		if left <= 0 {
			break
		}
		poll := min(left, wire.MaxNotificationWait).Round(time.Millisecond)
		raw, err := c.call(ctx, s, &request{
			op:     "wait for notification",
			method: http.MethodGet,
			path:   wire.PathNotifications,
			query:  url.Values{"id": {st.ID}, "wait": {poll.String()}},
			// The agent holds the answer for up to poll.
			limits:   limits{c.opts.ConnectTimeout, poll + c.opts.HeaderTimeout, poll + c.opts.Timeout},
			followed: true,
		})
		if err != nil {
			return st, err
		}
		if st, err = decodeResult[wire.NotificationStatus](raw); err != nil {
			return st, err
		}
	}
	return st, nil
}

// CloseNotification takes notification id down in each session (POST
// /v1/notifications/close). Ids are per agent: target one session.
func (c *Client) CloseNotification(ctx context.Context, t Targets, id string) (*Results[wire.NotificationStatus], error) {
	return fanOut[wire.NotificationStatus](ctx, c, t, &request{
		op:     "close notification",
		method: http.MethodPost,
		path:   wire.PathNotificationClose,
		body:   wire.NotificationClose{ID: id},
		limits: c.quickLimits(),
	})
}
