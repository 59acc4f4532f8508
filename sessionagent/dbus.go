package sessionagent

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/godbus/dbus/v5"
)

const (
	// BusName is the well-known name the agent owns on the session bus while it
	// runs, as snapd's agent does.
	BusName = "io.snapcraft.SessionAgent"
	// busTimeout bounds connecting to the bus and claiming the name.
	busTimeout = 5 * time.Second
)

// holdBusName claims BusName on the session bus and holds it until ctx ends. Without a
// bus, or with the name taken, it logs why and returns: unlike snapd's agent, this one
// still serves its REST API, which is what root uses.
func (a *Agent) holdBusName(ctx context.Context) {
	addr := sessionBusAddress(a.cfg.SessionBusAddress)
	if addr == "" {
		a.log.Info("no session bus, not claiming the bus name", "name", BusName)
		return
	}
	conn, err := connectBus(ctx, addr)
	if err != nil {
		if ctx.Err() == nil {
			a.log.Warn("cannot claim the bus name", "name", BusName, "err", err)
		}
		return
	}
	defer conn.Close()

	callCtx, cancel := context.WithTimeout(ctx, busTimeout)
	var reply dbus.RequestNameReply
	err = conn.BusObject().CallWithContext(callCtx, "org.freedesktop.DBus.RequestName", 0,
		BusName, uint32(dbus.NameFlagDoNotQueue)).Store(&reply)
	cancel()
	switch {
	case err != nil:
		if ctx.Err() == nil {
			a.log.Warn("cannot claim the bus name", "name", BusName, "err", err)
		}
		return
	case reply != dbus.RequestNameReplyPrimaryOwner:
		a.log.Info("bus name owned by another process, serving the REST API only", "name", BusName)
		return
	}
	a.log.Debug("claimed the bus name", "name", BusName)
	<-ctx.Done()
}

// connectBus connects to the bus at addr; the connection lives until ctx ends, but
// setting it up is bounded by busTimeout: godbus's handshake has no deadline of its own,
// and ending the connection's context is what interrupts it.
func connectBus(ctx context.Context, addr string) (*dbus.Conn, error) {
	connCtx, cancel := context.WithCancel(ctx)
	timer := time.AfterFunc(busTimeout, cancel)
	conn, err := dbus.Connect(addr, dbus.WithContext(connCtx))
	timedOut := !timer.Stop()
	switch {
	case err == nil && timedOut:
		conn.Close()
		fallthrough
	case timedOut:
		return nil, fmt.Errorf("cannot connect to the session bus: no answer within %v", busTimeout)
	case err != nil:
		cancel()
		return nil, fmt.Errorf("cannot connect to the session bus: %w", err)
	}
	// The connection ends with ctx: connCtx needs no cancelling of its own.
	return conn, nil
}

// sessionBusAddress is the configured address, else $DBUS_SESSION_BUS_ADDRESS, else
// the socket systemd's user bus puts in $XDG_RUNTIME_DIR, else empty. It never
// launches a bus, as godbus's own lookup would.
func sessionBusAddress(configured string) string {
	if configured != "" {
		return configured
	}
	if addr := os.Getenv("DBUS_SESSION_BUS_ADDRESS"); addr != "" && addr != "autolaunch:" {
		return addr
	}
	if dir := os.Getenv("XDG_RUNTIME_DIR"); dir != "" {
		path := filepath.Join(dir, "bus")
		if fi, err := os.Stat(path); err == nil && fi.Mode().Type() == fs.ModeSocket {
			return "unix:path=" + path
		}
	}
	return ""
}
