package sessionagent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/snapcore-ng/usersession-agent/desktop/notification"
	"github.com/snapcore-ng/usersession-agent/internal/apierror"
	"github.com/snapcore-ng/usersession-agent/internal/sessionbus"
	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

const (
	// BusName is the well-known name the agent owns on the session bus while it
	// runs, as snapd's agent does.
	BusName = "io.snapcraft.SessionAgent"
	// BusWaitTimeout bounds how long a request that needs the bus waits for it to
	// come up when the agent has just started: the setup's own bound, with room to
	// spare.
	BusWaitTimeout = sessionbus.DefaultTimeout + time.Second
)

// errNoBus says the agent has no session bus (none found, unreachable, its name
// taken, or not up in time); it is answered 503, kind no-session-bus.
var errNoBus = errors.New("no session bus")

// sessionBus is the agent's one connection to the session bus, which Run sets up off
// the path of the first request and closes on exit. Whoever needs it waits on ready.
//
// A part of the agent that needs the bus (see package sessionbus):
//   - exports its objects in an Exporter that runBus lists, so that they are there
//     before BusName is requested;
//   - gets the live connection from (*Agent).SessionBus in a handler;
//   - keeps the agent from exiting as idle while it has work pending with
//     a.idle.AddSource (internal/idle), bounding its own time;
//   - answers its errors as *apierror.Error (see errors.go for the statuses).
type sessionBus struct {
	ready chan struct{}
	// Set before ready is closed: the bus and the notifier on it, or why there is none
	// (wrapping errNoBus).
	bus      *sessionbus.Bus
	notifier *notification.Manager
	err      error
}

// SessionBus returns the agent's live session bus connection, which owns BusName,
// waiting for it to be set up for at most BusWaitTimeout (or until ctx ends). Callers
// share it and must not close it. Without a bus the error is an *apierror.Error of kind
// no-session-bus, which a handler answers with ResponseForError (503).
func (a *Agent) SessionBus(ctx context.Context) (*dbus.Conn, error) {
	if err := a.waitBus(ctx); err != nil {
		return nil, &apierror.Error{Kind: wire.ErrorKindNoSessionBus, Message: "cannot use the session bus: " + err.Error(), Err: err}
	}
	return a.bus.bus.Conn(), nil
}

// waitBus waits, within ctx and at most BusWaitTimeout, for the bus to be set up, and
// returns why there is none (wrapping errNoBus).
func (a *Agent) waitBus(ctx context.Context) error {
	timer := time.NewTimer(BusWaitTimeout)
	defer timer.Stop()
	select {
	case <-a.bus.ready:
		return a.bus.err
	case <-ctx.Done():
		return fmt.Errorf("%w: not up before the request ended", errNoBus)
	case <-timer.C:
		return fmt.Errorf("%w: not up within %v", errNoBus, BusWaitTimeout)
	}
}

// notifier returns the agent's Notifier: Config.Notifier, else the one on the
// session bus, waiting for the bus as SessionBus does. Without a bus the error wraps
// errNoBus.
func (a *Agent) notifier(ctx context.Context) (Notifier, error) {
	if a.cfg.Notifier != nil {
		return a.cfg.Notifier, nil
	}
	if err := a.waitBus(ctx); err != nil {
		return nil, fmt.Errorf("cannot show notifications: %w", err)
	}
	return a.bus.notifier, nil
}

// runBus joins the session bus: it exports the agent's objects (the notification
// manager's org.freedesktop.Application), then owns BusName, and makes the bus
// available to SessionBus. Without a bus, or with the name taken, it logs why: unlike
// snapd's agent, this one still serves its REST API, which is what root uses; the
// endpoints that need the bus then answer no-session-bus. leaveBus closes it.
func (a *Agent) runBus(ctx context.Context) {
	defer close(a.bus.ready)
	var mgr *notification.Manager
	m := notification.New(notification.Config{AppID: BusName})
	bus, err := sessionbus.Connect(ctx, sessionbus.Config{
		Address: a.cfg.SessionBusAddress,
		Name:    BusName,
		Export: []sessionbus.Exporter{func(conn *dbus.Conn) error {
			if err := m.Start(ctx, conn); err != nil {
				return err
			}
			mgr = m
			return nil
		}},
	})
	if err != nil {
		if mgr != nil {
			mgr.Stop()
		}
		a.bus.err = fmt.Errorf("%w: %v", errNoBus, err)
		var taken *sessionbus.NameTakenError
		switch {
		case errors.Is(err, sessionbus.ErrNoBus):
			a.log.Info("no session bus, not claiming the bus name", "name", BusName, "reason", err)
		case errors.As(err, &taken):
			a.log.Info("bus name owned by another process, serving the REST API only", "name", BusName)
		case ctx.Err() == nil:
			a.log.Warn("cannot claim the bus name", "name", BusName, "err", err)
		}
		return
	}
	a.log.Debug("claimed the bus name", "name", BusName)
	a.bus.bus, a.bus.notifier = bus, mgr
	a.idle.AddSource(mgr.BusyUntil)
}

// leaveBus closes the bus, once runBus is done, releasing the name.
func (a *Agent) leaveBus() {
	<-a.bus.ready
	if a.bus.bus == nil {
		return
	}
	a.bus.notifier.Stop()
	if err := a.bus.bus.Close(); err != nil {
		a.log.Debug("cannot close the session bus", "err", err)
	}
}
