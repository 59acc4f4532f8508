// Command openfile calls io.snapcraft.Launcher.OpenFile on the session bus with a
// descriptor of the file it is given, as a snap's app does, for the spread suite
// (tests/main/userd-open-file). No packaged tool passes a descriptor over D-Bus on
// the suite's systems: dbus-send and `gdbus call` cannot, and python3-dbus is not
// in the booted Debian container.
//
// Usage: openfile PATH. The exit status is 0 when the call succeeded, 1 with the
// D-Bus error on stderr when it failed.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/godbus/dbus/v5"
)

// callTimeout bounds the connection and the call; it is above the 30 s of
// dbus-send --reply-timeout the other tasks use for a cold start of userd.
const callTimeout = 60 * time.Second

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: openfile PATH")
		os.Exit(2)
	}
	if err := openFile(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "openfile:", err)
		os.Exit(1)
	}
}

func openFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	conn, err := dbus.ConnectSessionBus(dbus.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("cannot connect to the session bus: %w", err)
	}
	defer conn.Close()
	call := conn.Object("io.snapcraft.Launcher", "/io/snapcraft/Launcher").CallWithContext(ctx,
		"io.snapcraft.Launcher.OpenFile", 0, "", dbus.UnixFD(f.Fd()))
	var dbusErr dbus.Error
	if errors.As(call.Err, &dbusErr) {
		// The error's name is what callers branch on (AccessDenied or Failed).
		return fmt.Errorf("cannot open %s: %s: %v", path, dbusErr.Name, dbusErr)
	}
	if call.Err != nil {
		return fmt.Errorf("cannot open %s: %w", path, call.Err)
	}
	return nil
}
