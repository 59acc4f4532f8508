package notification

import (
	"context"
	"path/filepath"
	"slices"
	"strings"

	"github.com/godbus/dbus/v5"
)

// The freedesktop notification service (Desktop Notifications Specification 1.2).
const (
	fdoName = "org.freedesktop.Notifications"
	fdoPath = dbus.ObjectPath("/org/freedesktop/Notifications")
)

// Reasons of NotificationClosed, from the specification.
const (
	fdoClosedExpired   = 1
	fdoClosedDismissed = 2
	fdoClosedByCall    = 3
)

// fdoBackend posts with org.freedesktop.Notifications.Notify and learns what became of
// a notification from the ActionInvoked and NotificationClosed signals.
type fdoBackend struct {
	m   *Manager
	obj dbus.BusObject
}

func (b *fdoBackend) name() string { return ServerFreedesktop }

// fdoServer is what the freedesktop server says of itself, asked once per server.
type fdoServer struct {
	caps map[string]bool
	// name and version from GetServerInformation, such as "dunst 1.9.0"; empty
	// when it did not say.
	name string
}

// server returns the server's capabilities and name, asked once per server: a post
// offers actions only where it lists "actions" and escapes the body where it lists
// "body-markup".
func (b *fdoBackend) server(ctx context.Context) (*fdoServer, error) {
	b.m.mu.Lock()
	srv := b.m.fdoServer
	gen := b.m.ownerGen[fdoName]
	b.m.mu.Unlock()
	if srv != nil {
		return srv, nil
	}
	var list []string
	if err := b.m.call(ctx, b.obj, fdoName+".GetCapabilities").Store(&list); err != nil {
		return nil, callError("cannot ask the notification server what it supports", err, b.m.cfg.CallTimeout)
	}
	srv = &fdoServer{caps: make(map[string]bool, len(list))}
	for _, c := range list {
		srv.caps[c] = true
	}
	// The name only labels the notifications: a server that will not say is still
	// used.
	var name, vendor, version, specVersion string
	if b.m.call(ctx, b.obj, fdoName+".GetServerInformation").Store(&name, &vendor, &version, &specVersion) == nil {
		srv.name = strings.TrimSpace(name + " " + version)
	}
	b.m.mu.Lock()
	if b.m.ownerGen[fdoName] == gen {
		b.m.fdoServer = srv
	}
	b.m.mu.Unlock()
	return srv, nil
}

// bodyMarkup escapes the three characters the specification's body markup gives a
// meaning to, for servers that parse it.
var bodyMarkup = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

func (b *fdoBackend) post(ctx context.Context, e *entry, msg *Message) error {
	srv, err := b.server(ctx)
	if err != nil {
		return err
	}
	e.status.ServerName = srv.name
	var actions []string
	if srv.caps["actions"] {
		for _, a := range msg.Actions {
			actions = append(actions, a.ID, a.Label)
		}
	}
	e.status.ActionsShown = len(actions) > 0
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
	err = b.m.call(ctx, b.obj, fdoName+".Notify", msg.AppName, e.serverID, msg.Icon, msg.Title, body,
		actions, hints, expire).Store(&serverID)
	if err != nil {
		return callError("cannot post notification", err, b.m.cfg.CallTimeout)
	}
	e.serverID = serverID
	e.actions = msg.Actions
	// The server's unique name, to tell its signals from anyone else's. A failure
	// here only means its signals are ignored until it changes owner.
	_, _ = b.m.owner(ctx, fdoName)
	return nil
}

func (b *fdoBackend) close(ctx context.Context, e *entry) error {
	if err := b.m.call(ctx, b.obj, fdoName+".CloseNotification", e.serverID).Err; err != nil {
		return callError("cannot close notification", err, b.m.cfg.CallTimeout)
	}
	return nil
}

// handleSignal records ActionInvoked and NotificationClosed from the server that owns
// the name; anyone else's are ignored.
func (b *fdoBackend) handleSignal(sig *dbus.Signal) {
	b.m.mu.Lock()
	owner := b.m.owners[fdoName]
	b.m.mu.Unlock()
	if owner == "" || sig.Sender != owner || sig.Path != fdoPath || len(sig.Body) != 2 {
		return
	}
	serverID, ok := sig.Body[0].(uint32)
	if !ok {
		return
	}
	switch sig.Name {
	case fdoName + ".ActionInvoked":
		if key, ok := sig.Body[1].(string); ok {
			b.m.fdoEvent(serverID, StateAction, key)
		}
	case fdoName + ".NotificationClosed":
		reason, _ := sig.Body[1].(uint32)
		state := StateClosed
		switch reason {
		case fdoClosedExpired:
			state = StateExpired
		case fdoClosedDismissed:
			state = StateDismissed
		case fdoClosedByCall:
			state = StateClosed
		}
		b.m.fdoEvent(serverID, state, "")
	}
}

// offered says whether the action key was one of e's actions: a server may only
// invoke what it was given.
func (e *entry) offered(key string) bool {
	return slices.ContainsFunc(e.actions, func(a Action) bool { return a.ID == key })
}
