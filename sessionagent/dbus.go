package sessionagent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/godbus/dbus/v5"

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

// sessionBus is the agent's one connection to the session bus, which Run sets up off
// the path of the first request and closes on exit. Whoever needs it waits on ready.
//
// A part of the agent that needs the bus (see package sessionbus):
//   - is a backend that implements BusBackend, which runBus starts on the connection
//     before BusName is requested, so that its objects are there for a caller
//     activated by the name;
//   - or gets the live connection from (*Agent).SessionBus in a handler;
//   - keeps the agent from exiting as idle while it has work pending with
//     a.idle.AddSource (internal/idle), bounding its own time;
//   - answers its errors as ResponseForError reads them (errors.go: *apierror.Error,
//     or *notification.Error for the notification backend).
type sessionBus struct {
	ready chan struct{}
	// Set before ready is closed: the bus and the backends started on it, or why
	// there is none (noSessionBus).
	bus     *sessionbus.Bus
	started []BusBackend
	err     error
}

// SessionBus returns the agent's live session bus connection, which owns BusName,
// waiting for it to be set up for at most BusWaitTimeout (or until ctx ends). Callers
// share it and must not close it. Without a bus the error is the one answer for that
// (noSessionBus), which a handler answers with ResponseForError (503).
func (a *Agent) SessionBus(ctx context.Context) (*dbus.Conn, error) {
	timer := time.NewTimer(BusWaitTimeout)
	defer timer.Stop()
	select {
	case <-a.bus.ready:
		if a.bus.err != nil {
			return nil, a.bus.err
		}
		return a.bus.bus.Conn(), nil
	case <-ctx.Done():
		return nil, noSessionBus("not up before the request ended", ctx.Err())
	case <-timer.C:
		return nil, noSessionBus(fmt.Sprintf("not up within %v", BusWaitTimeout), nil)
	}
}

// noSessionBus is the answer to every request that needs the session bus while the
// agent has none (none found, unreachable, its name taken, or not up in time): 503,
// kind no-session-bus.
func noSessionBus(why string, err error) *apierror.Error {
	return &apierror.Error{Kind: wire.ErrorKindNoSessionBus, Message: "cannot use the session bus: " + why, Err: err}
}

// runBus joins the session bus: it starts the backends that live on it (the
// notification manager exports its org.freedesktop.Application), then owns BusName,
// and makes the bus available to SessionBus. Without a bus, or with the name taken, it
// logs why: unlike snapd's agent, this one still serves its REST API, which is what
// root uses; the endpoints that need the bus then answer no-session-bus. leaveBus
// closes it.
func (a *Agent) runBus(ctx context.Context) {
	defer close(a.bus.ready)
	var started []BusBackend
	var exports []sessionbus.Exporter
	if b, ok := a.cfg.Notifications.(BusBackend); ok {
		exports = append(exports, func(conn *dbus.Conn) error {
			if err := b.Start(ctx, conn); err != nil {
				return err
			}
			started = append(started, b)
			return nil
		})
	}
	bus, err := sessionbus.Connect(ctx, sessionbus.Config{
		Address: a.cfg.SessionBusAddress,
		Name:    BusName,
		Export:  exports,
	})
	if err != nil {
		for _, b := range started {
			b.Stop()
		}
		a.bus.err = noSessionBus(err.Error(), err)
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
	a.bus.bus, a.bus.started = bus, started
}

// leaveBus stops the backends on the bus and closes it, once runBus is done,
// releasing the name.
func (a *Agent) leaveBus() {
	<-a.bus.ready
	if a.bus.bus == nil {
		return
	}
	for _, b := range a.bus.started {
		b.Stop()
	}
	if err := a.bus.bus.Close(); err != nil {
		a.log.Debug("cannot close the session bus", "err", err)
	}
}
