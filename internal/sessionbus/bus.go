// Package sessionbus is a process's one connection to the user's session bus: finding
// the bus (Address), connecting to it under a deadline, exporting the process's
// objects, then owning its well-known name for as long as the process runs. The
// session agent (`snap userd --agent`) and `snap userd` each open one Bus and share it
// between their parts instead of opening a connection per part.
//
// A part that needs the bus plugs in like this:
//
//   - it exports its objects in an Exporter listed in Config.Export (for the agent,
//     the Start of each backend that implements sessionagent.BusBackend, such as the
//     notification manager), which runs on the new connection before the name is
//     requested, so that a caller activated by the name finds them;
//   - it gets the live *dbus.Conn from the process's owner of the Bus (for the agent,
//     (*sessionagent.Agent).SessionBus, which waits a bounded time for it), and never
//     closes it;
//   - every call it makes on the connection carries a deadline (CallWithContext):
//     godbus has none of its own.
package sessionbus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/godbus/dbus/v5"
)

// DefaultTimeout bounds connecting and authenticating, exporting, and requesting the
// name, when Config.Timeout is zero.
const DefaultTimeout = 5 * time.Second

// Exporter exports objects (conn.Export, conn.ExportMethodTable, ...) on a new
// connection, before the well-known name is requested. It must not block.
type Exporter func(conn *dbus.Conn) error

// Config says which bus to join and as what.
type Config struct {
	// Address is the bus's D-Bus address; empty means Address().
	Address string
	// Name is the well-known name to own for the connection's life; empty means none.
	Name string
	// Export lists what to export before Name is requested, in order.
	Export []Exporter
	// Timeout bounds the connection's setup (connect and handshake, exports, name
	// request); zero means DefaultTimeout.
	Timeout time.Duration
}

// NameTakenError says another connection owns the well-known name; the bus is not
// joined.
type NameTakenError struct {
	Name string
}

func (e *NameTakenError) Error() string {
	return fmt.Sprintf("cannot own bus name %s: owned by another process", e.Name)
}

// Bus is a connection to the session bus that owns Config.Name.
type Bus struct {
	conn *dbus.Conn
	name string
}

// Connect joins the bus of cfg: connect and authenticate, export, request the name
// (without queueing: a taken name is a *NameTakenError). The whole setup is bounded by
// cfg.Timeout; the connection then lives until Close or until ctx ends. Without an
// address it returns an error wrapping ErrNoBus.
func Connect(ctx context.Context, cfg Config) (*Bus, error) {
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	addr := cfg.Address
	if addr == "" {
		var err error
		if addr, err = Address(); err != nil {
			return nil, err
		}
	}
	conn, err := dial(ctx, addr, timeout)
	if err != nil {
		return nil, err
	}
	b := &Bus{conn: conn, name: cfg.Name}
	if err := b.setUp(ctx, cfg.Export, timeout); err != nil {
		conn.Close()
		return nil, err
	}
	return b, nil
}

// dial connects to addr; the connection lives until ctx ends, but setting it up is
// bounded by timeout: godbus's handshake has no deadline of its own, and ending the
// connection's context is what interrupts it.
func dial(ctx context.Context, addr string, timeout time.Duration) (*dbus.Conn, error) {
	connCtx, cancel := context.WithCancel(ctx)
	timer := time.AfterFunc(timeout, cancel)
	conn, err := dbus.Connect(addr, dbus.WithContext(connCtx))
	timedOut := !timer.Stop()
	switch {
	case err == nil && timedOut:
		conn.Close()
		fallthrough
	case timedOut:
		return nil, fmt.Errorf("cannot connect to the session bus: no answer within %v", timeout)
	case err != nil:
		cancel()
		return nil, fmt.Errorf("cannot connect to the session bus: %w", err)
	}
	// The connection ends with ctx or Close: connCtx needs no cancelling of its own.
	return conn, nil
}

func (b *Bus) setUp(ctx context.Context, exports []Exporter, timeout time.Duration) error {
	for _, export := range exports {
		if err := export(b.conn); err != nil {
			return fmt.Errorf("cannot export objects on the session bus: %w", err)
		}
	}
	if b.name == "" {
		return nil
	}
	callCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return RequestName(callCtx, b.conn, b.name)
}

// RequestName makes conn the owner of name (org.freedesktop.DBus.RequestName, without
// queueing), within ctx's deadline: a name another connection owns is a
// *NameTakenError. Owning it already is no error.
func RequestName(ctx context.Context, conn *dbus.Conn, name string) error {
	var reply dbus.RequestNameReply
	err := conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.RequestName", 0,
		name, uint32(dbus.NameFlagDoNotQueue)).Store(&reply)
	switch {
	case err != nil:
		return fmt.Errorf("cannot own bus name %s: %w", name, err)
	case reply != dbus.RequestNameReplyPrimaryOwner && reply != dbus.RequestNameReplyAlreadyOwner:
		return &NameTakenError{Name: name}
	}
	return nil
}

// ReleaseName gives name up (org.freedesktop.DBus.ReleaseName) within ctx's
// deadline, so that the bus may activate its next owner.
func ReleaseName(ctx context.Context, conn *dbus.Conn, name string) error {
	if err := conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.ReleaseName", 0, name).Err; err != nil {
		return fmt.Errorf("cannot release bus name %s: %w", name, err)
	}
	return nil
}

// Conn is the live connection, for every part of the process. Its users must not
// close it.
func (b *Bus) Conn() *dbus.Conn { return b.conn }

// Name is the well-known name the bus owns, or empty.
func (b *Bus) Name() string { return b.name }

// Close leaves the bus; the bus daemon releases the name with the connection, so that
// activation may start the next owner.
func (b *Bus) Close() error {
	if err := b.conn.Close(); err != nil && !errors.Is(err, dbus.ErrClosed) {
		return fmt.Errorf("cannot close the session bus connection: %w", err)
	}
	return nil
}
