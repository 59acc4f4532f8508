package sessionagent

import (
	"context"
	"fmt"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/snapcore-ng/usersession-agent/desktop/notification"
	"github.com/snapcore-ng/usersession-agent/internal/sessionbus"
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
	addr := a.cfg.SessionBusAddress
	if addr == "" {
		var err error
		if addr, err = sessionbus.Address(); err != nil {
			a.log.Info("no session bus, not claiming the bus name", "name", BusName, "why", err)
			noBus("no session bus address", nil)
			return
		}
	}
	bus, err := sessionbus.Connect(ctx, sessionbus.Config{Address: addr, Timeout: busTimeout})
	if err != nil {
		if ctx.Err() == nil {
			a.log.Warn("cannot claim the bus name", "name", BusName, "err", err)
		}
		noBus("cannot connect", err)
		return
	}
	defer bus.Close()
	conn := bus.Conn()

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
