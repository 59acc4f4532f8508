package notification

import (
	"context"
	"path/filepath"
	"strings"

	"github.com/godbus/dbus/v5"
)

// GNOME Shell's notification service, as GLib's GNotification speaks it
// (gio/gnotificationbackend-gtk.c and gio/gnotification.c).
const (
	gtkName = "org.gtk.Notifications"
	gtkPath = dbus.ObjectPath("/org/gtk/Notifications")
)

// applicationIface is the interface through which GNOME Shell activates the actions of
// a notification posted with org.gtk.Notifications: it calls ActivateAction on the
// application ID as a bus name, at the path derived from it.
const applicationIface = "org.freedesktop.Application"

// gtkActionName is the one application action every button of every notification
// activates; its target says which notification and which action.
const gtkActionName = "notification-action"

// gtkBackend posts with org.gtk.Notifications.AddNotification, under the manager's id
// and the application ID. GNOME Shell says nothing when a notification is dismissed or
// expires, so such notifications stay shown until an action comes back (through the
// application object), they are closed, or the server leaves.
type gtkBackend struct {
	obj   dbus.BusObject
	c     caller
	appID string
}

func (b *gtkBackend) name() string { return ServerGTK }

// gtkPriority maps urgency to GNotificationPriority's nick.
func gtkPriority(u Urgency) string {
	switch u {
	case UrgencyLow:
		return "low"
	case UrgencyCritical:
		return "urgent"
	}
	return "normal"
}

// gtkIcon is a serialised GIcon: ("file", <uri>) for a path, ("themed", <[name]>)
// otherwise.
func gtkIcon(icon string) dbus.Variant {
	type serialised struct {
		Kind  string
		Value dbus.Variant
	}
	if filepath.IsAbs(icon) {
		return dbus.MakeVariant(serialised{"file", dbus.MakeVariant("file://" + icon)})
	}
	return dbus.MakeVariant(serialised{"themed", dbus.MakeVariant([]string{icon})})
}

// post shows msg as notification id; GNOME Shell replaces what it shows under id.
func (b *gtkBackend) post(ctx context.Context, id string, _ uint32, msg *Message) (postResult, error) {
	n := map[string]dbus.Variant{
		"title":    dbus.MakeVariant(msg.Title),
		"priority": dbus.MakeVariant(gtkPriority(msg.Urgency)),
	}
	if msg.Body != "" {
		n["body"] = dbus.MakeVariant(msg.Body)
	}
	if msg.Icon != "" {
		n["icon"] = gtkIcon(msg.Icon)
	}
	var buttons []map[string]dbus.Variant
	for _, a := range msg.Actions {
		target := dbus.MakeVariant([]string{id, a.ID})
		// The freedesktop convention: the action "default" is a click on the
		// notification itself, GTK's default action.
		if a.ID == DefaultAction {
			n["default-action"] = dbus.MakeVariant("app." + gtkActionName)
			n["default-action-target"] = target
			continue
		}
		buttons = append(buttons, map[string]dbus.Variant{
			"label":  dbus.MakeVariant(a.Label),
			"action": dbus.MakeVariant("app." + gtkActionName),
			"target": target,
		})
	}
	if len(buttons) > 0 {
		n["buttons"] = dbus.MakeVariant(buttons)
	}
	if err := b.c.call(ctx, b.obj, gtkName+".AddNotification", b.appID, id, n).Err; err != nil {
		return postResult{}, b.c.error("cannot post notification", err)
	}
	return postResult{actionsShown: len(msg.Actions) > 0}, nil
}

// close takes notification id down.
func (b *gtkBackend) close(ctx context.Context, id string, _ uint32) error {
	if err := b.c.call(ctx, b.obj, gtkName+".RemoveNotification", b.appID, id).Err; err != nil {
		return b.c.error("cannot close notification", err)
	}
	return nil
}

// application is the org.freedesktop.Application object of the process, through which
// GNOME Shell reports a chosen action.
type application struct {
	// isServer says whether a caller is the process owning org.gtk.Notifications.
	isServer func(sender string) bool
	// chosen records that the user chose action on notification id.
	chosen func(id, action string)
}

// appPath is the object path GLib derives from an application ID: "/" + the ID with
// '.' as '/' and '-' as '_'.
func appPath(appID string) dbus.ObjectPath {
	return dbus.ObjectPath("/" + strings.NewReplacer(".", "/", "-", "_").Replace(appID))
}

func exportApplication(conn *dbus.Conn, appID string, app *application) error {
	// A method table rather than Export(app): exporting a value makes godbus look its
	// methods up by name through reflection, which keeps every exported method of the
	// binary in it (1.6 MB more agent, measured in idle RSS). No introspection data
	// either: GNOME Shell calls ActivateAction without asking, and godbus's introspect
	// package (encoding/xml) would cost the agent memory too.
	return conn.ExportMethodTable(map[string]any{
		"Activate":       app.Activate,
		"Open":           app.Open,
		"ActivateAction": app.ActivateAction,
	}, appPath(appID), applicationIface)
}

func unexportApplication(conn *dbus.Conn, appID string) {
	conn.ExportMethodTable(nil, appPath(appID), applicationIface)
}

// Activate is the application being launched; a notification without a default
// action makes GNOME Shell call it on a click. Nothing to do: the agent runs already.
func (app *application) Activate(platformData map[string]dbus.Variant) *dbus.Error {
	return nil
}

// Open asks the application to open URIs; the agent opens none.
func (app *application) Open(uris []string, platformData map[string]dbus.Variant) *dbus.Error {
	return dbus.MakeFailedError(errNoOpen)
}

var errNoOpen = &Error{Kind: KindInvalid, Message: "cannot open URIs: not an application that opens files"}

// ActivateAction records the action the user chose on a GTK notification. Only the
// process owning org.gtk.Notifications may call it.
func (app *application) ActivateAction(sender dbus.Sender, action string, params []dbus.Variant, platformData map[string]dbus.Variant) *dbus.Error {
	if !app.isServer(string(sender)) {
		return &dbus.Error{Name: "org.freedesktop.DBus.Error.AccessDenied",
			Body: []any{"cannot activate action: the caller is not the notification server"}}
	}
	if action != gtkActionName || len(params) != 1 {
		return &dbus.Error{Name: "org.freedesktop.DBus.Error.InvalidArgs",
			Body: []any{"cannot activate action " + action + ": unknown action"}}
	}
	target, ok := params[0].Value().([]string)
	if !ok || len(target) != 2 {
		return &dbus.Error{Name: "org.freedesktop.DBus.Error.InvalidArgs",
			Body: []any{"cannot activate action " + action + ": want a target of two strings"}}
	}
	app.chosen(target[0], target[1])
	return nil
}
