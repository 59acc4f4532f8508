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
// means no answer came within wait. An agent that reports an action n did not offer
// (other than wire.NotificationDefaultAction, a click on the notification itself)
// has given an invalid answer (*InvalidResponseError), not the user's choice.
func (c *Client) Notify(ctx context.Context, t Targets, n wire.Notification, wait time.Duration) (*Results[wire.NotificationStatus], error) {
	const op = "notify"
	if n.Title == "" {
		return nil, fmt.Errorf("cannot %s: no title given", op)
	}
	offered := map[string]bool{wire.NotificationDefaultAction: true}
	for _, a := range n.Actions {
		offered[a.ID] = true
	}
	return fanOutFunc(ctx, c, t, op, func(ctx context.Context, s Session) (wire.NotificationStatus, error) {
		st, err := c.notify(ctx, s, n, wait)
		if err == nil && st.State == wire.NotificationStateAction && !offered[st.Action] {
			err = &InvalidResponseError{Status: http.StatusOK,
				Reason: fmt.Sprintf("the agent reported action %q, which was not offered", st.Action)}
		}
		return st, err
	})
}

// notify posts n to s and, with wait > 0, waits for its answer (see Notify).
func (c *Client) notify(ctx context.Context, s Session, n wire.Notification, wait time.Duration) (wire.NotificationStatus, error) {
	raw, err := c.call(ctx, s, &request{
		op:     "notify",
		method: http.MethodPost,
		path:   wire.PathNotifications,
		body:   n,
		limits: c.quickLimits(),
		// The answer lives in the agent that showed it, between the post and the
		// polls: none of them may let it exit.
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
}

// minNotificationPoll is the least time between the starts of two polls of one
// notification. This project's agent holds a poll until the notification is final or
// the poll's wait is over; it answers early with a status still "shown" only as it
// exits (the next poll then reaches the next agent, which answers 404 at once), so
// an honest wait pays this pause at most once, and never before reporting the user's
// answer. Against an agent that answers every poll at once it turns thousands of
// polls a second (measured here: 6,200, TestNotifyWaitPacesAnAgentThatAnswersAtOnce
// without it) into one; a second is nothing next to a person's time to answer.
const minNotificationPoll = time.Second

// waitNotification asks for st's notification until it is final or deadline passes,
// starting polls at least minNotificationPoll apart.
func (c *Client) waitNotification(ctx context.Context, s Session, st wire.NotificationStatus, deadline time.Time) (wire.NotificationStatus, error) {
	var lastPoll time.Time
	for st.State == wire.NotificationStateShown {
		if pause := min(time.Until(lastPoll.Add(minNotificationPoll)), time.Until(deadline)); pause > 0 {
			// An end of ctx meanwhile fails the next call, as at any other time.
			timer := time.NewTimer(pause)
			select {
			case <-ctx.Done():
			case <-timer.C:
			}
			timer.Stop()
		}
		left := time.Until(deadline)
		if left <= 0 {
			break
		}
		lastPoll = time.Now()
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
