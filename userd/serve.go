package userd

import (
	"context"
	"fmt"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/snapcore-ng/usersession-agent/internal/sessionbus"
)

// Defaults of ServeConfig.
const (
	// DefaultIdleTimeout is how long the service waits without a call in progress
	// before it exits (snapd's userd never exits once started).
	DefaultIdleTimeout = 60 * time.Second
	// settle is how long, once the names are released, no new call may start
	// before the process exits: godbus runs each call in a goroutine of its own, so a
	// call the bus routed here just before the release may not have begun yet.
	settle = 500 * time.Millisecond
	// maxDrain bounds the wait for calls in progress at exit.
	maxDrain = 10 * time.Second
)

// Serve requests the service's well-known names on the connection given to Export
// and serves until it has been idle for Config.IdleTimeout or ctx ends. It then
// releases the names, so that the next call starts a new instance through D-Bus
// activation, and returns once the calls in progress are done. A name owned by
// another process is an error: two services would split the names between them.
func (s *Service) Serve(ctx context.Context) error {
	if s.conn == nil {
		return fmt.Errorf("cannot serve: the objects are not exported")
	}
	var owned []string
	defer func() { releaseNames(s.conn, owned) }()
	for _, name := range BusNames() {
		if err := requestName(ctx, s.conn, name); err != nil {
			return err
		}
		owned = append(owned, name)
	}
	s.log.Debug("serving", "names", owned)

	s.activity.Start()
	defer s.activity.Stop()
	select {
	case <-s.activity.Done():
		s.log.Debug("idle, exiting", "timeout", s.idleFor)
	case <-ctx.Done():
		s.log.Debug("asked to exit")
		// Open dialogs are closed and their calls answered: the process is going.
		s.cancelCalls()
	}
	releaseNames(s.conn, owned)
	owned = nil
	s.drain()
	return nil
}

func requestName(ctx context.Context, conn *dbus.Conn, name string) error {
	ctx, cancel := context.WithTimeout(ctx, busCallTimeout)
	defer cancel()
	return sessionbus.RequestName(ctx, conn, name)
}

// releaseNames gives the names up; a failure leaves the name to the bus daemon,
// which releases it when the process exits.
func releaseNames(conn *dbus.Conn, names []string) {
	for _, name := range names {
		ctx, cancel := context.WithTimeout(context.Background(), busCallTimeout)
		sessionbus.ReleaseName(ctx, conn, name)
		cancel()
	}
}
