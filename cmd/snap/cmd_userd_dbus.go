package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/snapcore-ng/usersession-agent/internal/logger"
	"github.com/snapcore-ng/usersession-agent/internal/sessionbus"
	"github.com/snapcore-ng/usersession-agent/userd"
)

// serveDBus runs `snap userd`: the D-Bus service, on the session bus found by
// sessionbus, until idle or SIGTERM.
func (c *cmdUserd) serveDBus() error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	svc := userd.New(userd.Config{
		IdleTimeout: c.IdleTimeout,
		Logger:      logger.New(c.env.stderr, c.Verbose),
	})
	bus, err := sessionbus.Connect(ctx, sessionbus.Config{
		Export: []sessionbus.Exporter{svc.Export},
	})
	if err != nil {
		return err
	}
	defer bus.Close()
	return svc.Serve(ctx)
}

// autostartTimeout bounds the whole of `snap userd --autostart`; each entry has its
// own deadline within it.
const autostartTimeout = 2 * time.Minute

// autostart runs `snap userd --autostart`.
func (c *cmdUserd) autostart() error {
	home, err := os.UserHomeDir()
	if err != nil {
		return fmt.Errorf("cannot autostart snap applications: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), autostartTimeout)
	defer cancel()
	return userd.Autostart(ctx, filepath.Join(home, "snap"), userd.DefaultDesktopDir)
}

// importedVars are the variables of the session that userd needs in the user
// manager's environment: the bus, and what dialogs and handlers need to show up.
var importedVars = []string{
	"DISPLAY", "WAYLAND_DISPLAY", "XAUTHORITY", "XDG_CURRENT_DESKTOP",
	"XDG_SESSION_TYPE", "XDG_SESSION_DESKTOP", "DESKTOP_SESSION",
}

// activateTimeout bounds each step of --activate: within dbus-daemon's own 25 s
// activation timeout.
const activateTimeout = 10 * time.Second

// activate runs `snap userd --activate`, the Exec= of the D-Bus service files for a
// bus systemd does not run (systemd's own bus uses SystemdService= instead). It puts
// the activating bus's address (DBUS_STARTER_ADDRESS) and the display variables into
// the user manager's environment, starts snapd.userd.service without waiting for its
// job (the manager watches BusName= on its own bus, not on this one), then stays until
// the service owns its names on the activating bus: dbus-daemon fails the activation
// of an Exec= that exits first. Without a user manager, it becomes the service itself.
func (c *cmdUserd) activate() error {
	addr := os.Getenv("DBUS_STARTER_ADDRESS")
	if addr == "" {
		var err error
		if addr, err = sessionbus.Address(); err != nil {
			return err
		}
	}
	vars := []string{"DBUS_SESSION_BUS_ADDRESS=" + addr}
	for _, name := range importedVars {
		if v, ok := os.LookupEnv(name); ok {
			vars = append(vars, name+"="+v)
		}
	}
	if err := systemctl(append([]string{"set-environment"}, vars...)...); err != nil {
		fmt.Fprintf(c.env.stderr, "no user manager (%v): running the D-Bus service in this process\n", err)
		os.Setenv("DBUS_SESSION_BUS_ADDRESS", addr)
		return c.serveDBus()
	}
	if err := systemctl("start", "--no-block", "snapd.userd.service"); err != nil {
		return err
	}
	return waitForNames(addr, userd.BusNames())
}

func systemctl(args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), activateTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "systemctl", append([]string{"--user"}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("cannot run systemctl --user %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// waitForNames waits, up to activateTimeout, until every one of names has an owner
// on the bus at addr.
func waitForNames(addr string, names []string) error {
	ctx, cancel := context.WithTimeout(context.Background(), activateTimeout)
	defer cancel()
	conn, err := dbus.Connect(addr, dbus.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("cannot connect to the activating bus: %w", err)
	}
	defer conn.Close()
	for _, name := range names {
		for {
			var owned bool
			err := conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.NameHasOwner", 0, name).Store(&owned)
			if err != nil {
				return fmt.Errorf("snapd.userd.service did not take %s: %w", name, err)
			}
			if owned {
				break
			}
			select {
			case <-ctx.Done():
				return errors.New("snapd.userd.service did not take " + name + " in time")
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	return nil
}
