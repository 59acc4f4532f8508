package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/snapcore-ng/usersession-agent/internal/logger"
	"github.com/snapcore-ng/usersession-agent/internal/sessionbus"
	"github.com/snapcore-ng/usersession-agent/userd"
)

// runUserd runs `snap userd`: the D-Bus service, on the session bus found by
// sessionbus, until idle or ctx ends.
func (c *cmdUserd) runUserd(ctx context.Context) error {
	svc := userd.New(userd.Config{IdleTimeout: c.IdleTimeout, Logger: logger.New(c.env.stderr, c.Verbose)})
	bus, err := sessionbus.Connect(ctx, sessionbus.Config{Export: []sessionbus.Exporter{svc.Export}})
	if err != nil {
		return err
	}
	defer bus.Close()
	return svc.Serve(ctx)
}

// activate runs `snap userd --activate` (userd.Activate); without a user manager to
// hand the service to, this process becomes the service, on the activating bus.
func (c *cmdUserd) activate(ctx context.Context) error {
	err := userd.Activate(ctx)
	var noManager *userd.NoUserManagerError
	if !errors.As(err, &noManager) {
		return err
	}
	fmt.Fprintf(c.env.stderr, "%v: running the D-Bus service in this process\n", err)
	// The service, and what it runs (xdg-open, dialogs), use the activating bus.
	os.Setenv("DBUS_SESSION_BUS_ADDRESS", noManager.BusAddress)
	return c.runUserd(ctx)
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
