// Package notification shows desktop notifications on the session bus and reports
// what became of them: shown, an action chosen, dismissed, expired, closed, or the
// server gone.
//
// Two server protocols are spoken, directly on github.com/godbus/dbus/v5:
//
//   - org.freedesktop.Notifications (the Desktop Notifications Specification 1.2:
//     dunst, KDE, XFCE, ...), whose ActionInvoked and NotificationClosed signals say
//     what the user did;
//   - org.gtk.Notifications (GNOME Shell), whose actions come back as calls of
//     org.freedesktop.Application.ActivateAction on the application's own bus name.
//
// The server is chosen when a notification is posted (GTK where a process owns
// org.gtk.Notifications, else freedesktop, which may be D-Bus-activated) and chosen
// again after either name changes owner. Every bus call has a deadline: a missing,
// hung or broken D-Bus-activatable server gives an error within it rather than
// dbus-daemon's 120 s activation timeout. The freedesktop client library
// esiqveland/notify calls without a context, which is why the protocol is spoken here.
package notification
