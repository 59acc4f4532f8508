// Package userd is `snap userd`: the session-bus service that acts for confined apps.
//
// Three objects, each a type with its interface name, object path and introspection
// data, are exported on a session-bus connection before any well-known name is
// requested (snapd's names, paths and methods):
//
//   - io.snapcraft.Launcher at /io/snapcraft/Launcher: OpenURL, OpenFile;
//   - io.snapcraft.PrivilegedDesktopLauncher at /io/snapcraft/PrivilegedDesktopLauncher:
//     OpenDesktopEntry;
//   - io.snapcraft.Settings at /io/snapcraft/Settings: Check, Get, Set and their *Sub
//     forms.
//
// A call enters through its object's method, the caller is identified from the bus
// (caller.go), the request is checked in plain functions, questions go to the user
// through zenity or kdialog (dialog.go), and every external command runs under a
// deadline (command.go), a few at once per snap and in all (limits.go). The service counts the calls in progress so that the process
// can exit when idle and be started again by D-Bus on the next call.
//
// On a bus that systemd does not run (Upstart's on Ubuntu 16.04), D-Bus starts the
// service through Activate (activate.go), which hands the bus to the user's systemd
// manager and starts the service's unit there, so that it runs as that unit either
// way; Autostart (autostart.go) is `snap userd --autostart`.
package userd
