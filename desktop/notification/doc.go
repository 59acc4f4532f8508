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
//
// A Manager (manager.go) is three parts, each with its own lock or none:
//
//   - the tracker (tracker.go), which knows nothing of the bus: each notification's
//     status, the order of posts and which to forget when full, the waiters, how
//     long open questions keep the process busy, and (orphans.go) which notification
//     each freedesktop signal is about, from the order of the server's messages,
//     keeping those read before the answer of the post they may be about;
//   - the watcher (bus.go), the bus side: the owner of each server name, what the
//     freedesktop server says of itself, and the signal reader that keeps both
//     current and tells the tracker what the servers said;
//   - one backend per protocol (fdo.go, gtk.go), which takes what one post or close
//     needs and returns what the server answered.
//
// Post asks the watcher which server to use, the tracker what the post replaces, the
// backend to show it, and has the tracker record the answer.
package notification
