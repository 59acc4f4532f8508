package notification

import (
	"context"
	"path/filepath"
	"strings"

	"github.com/godbus/dbus/v5"
)

// The freedesktop notification service (Desktop Notifications Specification 1.2).
const (
	fdoName = "org.freedesktop.Notifications"
	fdoPath = dbus.ObjectPath("/org/freedesktop/Notifications")
)

// Reasons of NotificationClosed, from the specification; the others (3, closed by a
// call, and 4, undefined) mean StateClosed.
const (
	fdoClosedExpired   = 1
	fdoClosedDismissed = 2
)

// fdoBackend posts with org.freedesktop.Notifications.Notify; what becomes of a
// notification comes back as the ActionInvoked and NotificationClosed signals, which
// the watcher reads (fdoSignal).
type fdoBackend struct {
	obj dbus.BusObject
	c   caller
	// server says what the server supports and what it is called (the watcher's
	// cache, asked once per server).
	server func(ctx context.Context) (*fdoServer, error)
}

func (b *fdoBackend) name() string { return ServerFreedesktop }

// bodyMarkup escapes the three characters the specification's body markup gives a
// meaning to, for servers that parse it.
var bodyMarkup = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// post shows msg, replacing the server's notification replaces (0: a new one). The
// actions go only to a server that lists the "actions" capability.
func (b *fdoBackend) post(ctx context.Context, _ string, replaces uint32, msg *Message) (postResult, error) {
	srv, err := b.server(ctx)
	if err != nil {
		return postResult{}, err
	}
	var actions []string
	if srv.caps["actions"] {
		for _, a := range msg.Actions {
			actions = append(actions, a.ID, a.Label)
		}
	}
	body := msg.Body
	if srv.caps["body-markup"] {
		body = bodyMarkup.Replace(body)
	}
	hints := map[string]dbus.Variant{"urgency": dbus.MakeVariant(byte(msg.Urgency))}
	if msg.DesktopEntry != "" {
		hints["desktop-entry"] = dbus.MakeVariant(msg.DesktopEntry)
	}
	if msg.Category != "" {
		hints["category"] = dbus.MakeVariant(msg.Category)
	}
	if filepath.IsAbs(msg.Icon) {
		hints["image-path"] = dbus.MakeVariant("file://" + msg.Icon)
	}
	expire := int32(-1)
	if msg.Expire > 0 {
		expire = int32(msg.Expire.Milliseconds())
	}
	var serverID uint32
	call := b.c.call(ctx, b.obj, fdoName+".Notify", msg.AppName, replaces, msg.Icon, msg.Title, body,
		actions, hints, expire)
	if err := call.Store(&serverID); err != nil {
		return postResult{}, b.c.error("cannot post notification", err)
	}
	return postResult{serverID: serverID, serverName: srv.name, actionsShown: len(actions) > 0,
		answeredAt: uint64(call.ResponseSequence)}, nil
}

// close takes the server's notification down.
func (b *fdoBackend) close(ctx context.Context, _ string, serverID uint32) error {
	if err := b.c.call(ctx, b.obj, fdoName+".CloseNotification", serverID).Err; err != nil {
		return b.c.error("cannot close notification", err)
	}
	return nil
}

// fdoSignal reads ActionInvoked (an action key) and NotificationClosed (a reason) into
// what they say of the server's notification serverID; ok is false for a signal of
// another shape.
func fdoSignal(sig *dbus.Signal) (serverID uint32, state State, action string, ok bool) {
	if len(sig.Body) != 2 {
		return 0, "", "", false
	}
	if serverID, ok = sig.Body[0].(uint32); !ok {
		return 0, "", "", false
	}
	switch sig.Name {
	case fdoName + ".ActionInvoked":
		action, ok = sig.Body[1].(string)
		return serverID, StateAction, action, ok
	case fdoName + ".NotificationClosed":
		reason, _ := sig.Body[1].(uint32)
		switch reason {
		case fdoClosedExpired:
			return serverID, StateExpired, "", true
		case fdoClosedDismissed:
			return serverID, StateDismissed, "", true
		}
		return serverID, StateClosed, "", true
	}
	return 0, "", "", false
}
