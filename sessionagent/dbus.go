package sessionagent

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/snapcore-ng/usersession-agent/desktop/notification"
)

const (
	// BusName is the well-known name the agent owns on the session bus while it
	// runs, as snapd's agent does.
	BusName = "io.snapcraft.SessionAgent"
	// busTimeout bounds connecting to the bus and claiming the name.
	busTimeout = 5 * time.Second
)

// busWait bounds how long a request that needs the bus waits for it to come up when
// the agent has just started: the connect and the setup calls, with room to spare.
const busWait = 2*busTimeout + time.Second

// sessionBus is the agent's connection to the session bus, which Run sets up off the
// path of the first request: whoever needs it waits on ready.
type sessionBus struct {
	ready chan struct{}
	// Set before ready is closed: the notifier on the bus, or why there is none.
	notifier Notifier
	err      error
}

// notifier returns the agent's Notifier: Config.Notifier, else the one on the
// session bus, waiting (within ctx, at most busWait) for the bus to come up. Without a
// bus the error wraps errNoBus.
func (a *Agent) notifier(ctx context.Context) (Notifier, error) {
	if a.cfg.Notifier != nil {
		return a.cfg.Notifier, nil
	}
	timer := time.NewTimer(busWait)
	defer timer.Stop()
	select {
	case <-a.bus.ready:
	case <-ctx.Done():
		return nil, fmt.Errorf("cannot show notifications: %w: not up before the request ended", errNoBus)
	case <-timer.C:
		return nil, fmt.Errorf("cannot show notifications: %w: not up within %v", errNoBus, busWait)
	}
	if a.bus.notifier == nil {
		return nil, a.bus.err
	}
	return a.bus.notifier, nil
}

// runBus connects to the session bus, exports the agent's objects (the notification
// manager's org.freedesktop.Application), then claims BusName, and holds the
// connection until ctx ends. Without a bus, or with the name taken, it logs why:
// unlike snapd's agent, this one still serves its REST API, which is what root uses;
// the notification endpoints then answer errNoBus.
func (a *Agent) runBus(ctx context.Context) {
	noBus := func(why string, err error) {
		a.bus.err = fmt.Errorf("cannot show notifications: %w: %s", errNoBus, why)
		if err != nil {
			a.bus.err = fmt.Errorf("%w: %v", a.bus.err, err)
		}
		close(a.bus.ready)
	}
	addr := sessionBusAddress(a.cfg.SessionBusAddress)
	if addr == "" {
		a.log.Info("no session bus, not claiming the bus name", "name", BusName)
		noBus("no session bus address", nil)
		return
	}
	conn, err := connectBus(ctx, addr)
	if err != nil {
		if ctx.Err() == nil {
			a.log.Warn("cannot claim the bus name", "name", BusName, "err", err)
		}
		noBus("cannot connect", err)
		return
	}
	defer conn.Close()

	// Objects are exported before the name is claimed: a caller that sees the name
	// finds them.
	mgr, err := notification.New(ctx, conn, notification.Config{AppID: BusName})
	if err != nil {
		a.log.Warn("cannot set up notifications", "err", err)
		noBus("cannot set up notifications", err)
		return
	}
	defer mgr.Stop()
	a.bus.notifier = mgr
	a.idle.AddSource(mgr.BusyUntil)
	close(a.bus.ready)

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
	case reply != dbus.RequestNameReplyPrimaryOwner:
		a.log.Info("bus name owned by another process, serving the REST API only", "name", BusName)
	default:
		a.log.Debug("claimed the bus name", "name", BusName)
	}
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
// the socket systemd's user bus puts in $XDG_RUNTIME_DIR, else, when the variable is
// not set at all, the address Upstart's session job writes in
// $XDG_RUNTIME_DIR/dbus-session on Ubuntu 16.04 ("DBUS_SESSION_BUS_ADDRESS=ADDRESS"),
// else empty. It never launches a bus, as godbus's own lookup would.
func sessionBusAddress(configured string) string {
	if configured != "" {
		return configured
	}
	if addr := os.Getenv("DBUS_SESSION_BUS_ADDRESS"); addr != "" && addr != "autolaunch:" {
		return addr
	}
	dir := os.Getenv("XDG_RUNTIME_DIR")
	if dir == "" {
		return ""
	}
	path := filepath.Join(dir, "bus")
	if fi, err := os.Stat(path); err == nil && fi.Mode().Type() == fs.ModeSocket {
		return "unix:path=" + path
	}
	if _, set := os.LookupEnv("DBUS_SESSION_BUS_ADDRESS"); set {
		return ""
	}
	return upstartBusAddress(filepath.Join(dir, "dbus-session"))
}

// upstartBusAddress reads the address in Upstart's dbus-session file at path: a
// regular file (opening a FIFO planted there would block) of one short line.
func upstartBusAddress(path string) string {
	fi, err := os.Lstat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return ""
	}
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(io.LimitReader(f, 4<<10))
	for sc.Scan() {
		if addr, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "DBUS_SESSION_BUS_ADDRESS="); ok && addr != "" {
			return addr
		}
	}
	return ""
}
