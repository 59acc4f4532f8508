package sessionagent

import (
	"context"
	"net/http"
	"time"

	"github.com/snapcore-ng/usersession-agent/desktop/notification"
	"github.com/snapcore-ng/usersession-agent/desktop/snaprefresh"
	"github.com/snapcore-ng/usersession-agent/internal/apierror"
	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

func postPendingRefresh(a *Agent, r *http.Request) Response {
	var info wire.PendingRefreshInfo
	if err := a.decodeBody(r, &info); err != nil {
		return ResponseForError(err)
	}
	msg, err := a.refreshLookup.PendingMessage(snaprefresh.Pending{
		InstanceName:        info.InstanceName,
		TimeRemaining:       info.TimeRemaining,
		BusyAppName:         info.BusyAppName,
		BusyAppDesktopEntry: info.BusyAppDesktopEntry,
	})
	if err != nil {
		return BadRequest("cannot notify about pending refresh: %v", err)
	}
	return a.post(r, snaprefresh.ID(info.InstanceName), msg)
}

func postFinishRefresh(a *Agent, r *http.Request) Response {
	var info wire.FinishRefreshInfo
	if err := a.decodeBody(r, &info); err != nil {
		return ResponseForError(err)
	}
	msg, err := snaprefresh.FinishMessage(info.InstanceName)
	if err != nil {
		return BadRequest("cannot notify about finished refresh: %v", err)
	}
	return a.post(r, snaprefresh.ID(info.InstanceName), msg)
}

func postNotification(a *Agent, r *http.Request) Response {
	var n wire.Notification
	if err := a.decodeBody(r, &n); err != nil {
		return ResponseForError(err)
	}
	msg, err := messageFromWire(n)
	if err != nil {
		return ResponseForError(err)
	}
	id := n.Replaces
	if id == "" {
		id = notification.NewID()
	} else if err := a.known(r.Context(), id); err != nil {
		return ResponseForError(err)
	}
	return a.post(r, id, msg)
}

// messageFromWire turns the body of POST /v1/notifications into a valid message: bad
// input is refused before the bus is asked anything.
func messageFromWire(n wire.Notification) (*notification.Message, error) {
	urgency, err := notification.ParseUrgency(n.Urgency)
	if err != nil {
		return nil, err
	}
	msg := &notification.Message{
		Title:    n.Title,
		Body:     n.Body,
		Icon:     n.Icon,
		Urgency:  urgency,
		Category: n.Category,
		Expire:   n.Expiry,
	}
	for _, act := range n.Actions {
		msg.Actions = append(msg.Actions, notification.Action{ID: act.ID, Label: act.Label})
	}
	if err := msg.Validate(); err != nil {
		return nil, err
	}
	return msg, nil
}

func (a *Agent) post(r *http.Request, id string, msg *notification.Message) Response {
	n, err := a.notifications(r.Context())
	if err != nil {
		return ResponseForError(err)
	}
	st, err := n.Post(r.Context(), id, msg)
	if err != nil {
		return ResponseForError(err)
	}
	return SyncResponse(statusToWire(st))
}

// getNotification answers a notification's status, waiting up to ?wait= (a Go
// duration, at most wire.MaxNotificationWait) for it to become final; an exit of the
// agent ends the wait with the current status (see longPoll).
func getNotification(a *Agent, r *http.Request) Response {
	q := r.URL.Query()
	id := q.Get("id")
	if id == "" {
		return BadRequest("cannot read notification: no id given")
	}
	var wait time.Duration
	if s := q.Get("wait"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 || d > wire.MaxNotificationWait {
			return BadRequest("cannot wait for notification: invalid wait %q: want a duration from 0 to %v", s, wire.MaxNotificationWait)
		}
		wait = d
	}
	n, err := a.notifications(r.Context())
	if err != nil {
		return ResponseForError(err)
	}
	ctx, cancel := a.longPoll(r.Context(), wait)
	defer cancel()
	st, err := n.Wait(ctx, id)
	if err != nil {
		return ResponseForError(err)
	}
	return SyncResponse(statusToWire(st))
}

func postNotificationClose(a *Agent, r *http.Request) Response {
	var c wire.NotificationClose
	if err := a.decodeBody(r, &c); err != nil {
		return ResponseForError(err)
	}
	n, err := a.notifications(r.Context())
	if err != nil {
		return ResponseForError(err)
	}
	st, err := n.Close(r.Context(), c.ID)
	if err != nil {
		return ResponseForError(err)
	}
	return SyncResponse(statusToWire(st))
}

// notifications returns the notification backend once it can be called: at once for
// one off the bus, else once the agent's session bus is up (waiting as SessionBus
// does). Its errors are answers: no backend, or no session bus.
func (a *Agent) notifications(ctx context.Context) (NotificationBackend, error) {
	n := a.cfg.Notifications
	if n == nil {
		return nil, &apierror.Error{Kind: wire.ErrorKindInternal,
			Message: "cannot show notifications: this agent has no notification backend", Err: apierror.ErrUnavailable}
	}
	if _, onBus := n.(BusBackend); onBus {
		if _, err := a.SessionBus(ctx); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// known says whether notification id is known, for a post that replaces it.
func (a *Agent) known(ctx context.Context, id string) error {
	n, err := a.notifications(ctx)
	if err != nil {
		return err
	}
	_, err = n.Status(id)
	return err
}

func statusToWire(st notification.Status) *wire.NotificationStatus {
	return &wire.NotificationStatus{
		ID:           st.ID,
		State:        string(st.State),
		Action:       st.Action,
		Server:       st.Server,
		ServerName:   st.ServerName,
		ActionsShown: st.ActionsShown,
	}
}
