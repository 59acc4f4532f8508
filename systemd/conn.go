// Package systemd controls a systemd manager, typically a user's `systemd --user`,
// through its D-Bus API.
//
// It talks to the manager's private peer-to-peer socket
// ($XDG_RUNTIME_DIR/systemd/private), as `systemctl --user` does, so it needs no session
// bus; root also reaches PID 1 over its own (ConnectSystem). Every call has a
// deadline: the caller's, or DefaultTimeout when the caller's context has none. What is
// read from a manager root does not trust can be bounded (Limits). Jobs (start, stop,
// restart...) are followed to their end, and a job that does not end well is reported
// as a *JobError carrying the unit's own account of the failure.
package systemd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	sdbus "github.com/coreos/go-systemd/v22/dbus"
	godbus "github.com/godbus/dbus/v5"

	"github.com/snapcore-ng/usersession-agent/internal/runtimedir"

	"github.com/snapcore-ng/usersession-agent/internal/peercred"
)

// DefaultTimeout bounds every call made with a context that has no deadline of its own.
const DefaultTimeout = 30 * time.Second

// SystemPrivateSocket is the system manager's (PID 1's) private socket, which only
// root may connect to.
const SystemPrivateSocket = "/run/systemd/private"

// Manager is a connection to one systemd manager. It is safe for concurrent use. If the
// manager drops the connection (for instance on `daemon-reexec`), the next call dials
// again.
type Manager struct {
	// name is the manager's socket, for messages.
	name string
	// dialSocket opens a new socket connection to the manager.
	dialSocket DialFunc
	// limits bound what is read from the manager; budget is what is left of
	// limits.ReadBudget over every connection of the Manager (nil: no budget).
	limits Limits
	budget *readBudget

	mu     sync.Mutex
	link   *link
	closed bool
}

// DialFunc opens a socket connection to a manager, ready for D-Bus: whatever checks
// the caller makes on who serves it are made before it returns, and nothing has been
// sent on it yet.
type DialFunc func(ctx context.Context) (net.Conn, error)

// link is one established connection: go-systemd's, and the godbus connection it was
// built from (go-systemd does not expose it; we watch it to notice that the manager
// went away while we wait for a job).
type link struct {
	conn *sdbus.Conn
	raw  *godbus.Conn
	// gone is closed once the raw connection is closed.
	gone chan struct{}
	// in is what the connection reads through; its error says why a connection
	// that broke the Manager's limits was closed.
	in *limitedReader
}

func (l *link) connected() bool { return l.conn.Connected() }

// lost is the error of a job whose connection closed before the job's end.
func (l *link) lost() error {
	if err := l.in.failure(); err != nil {
		return fmt.Errorf("%w: %w", ErrConnectionLost, err)
	}
	return ErrConnectionLost
}

// callError is callError for a call made on l: when l was closed for breaking the
// Manager's limits, that is what the call failed of, not the "connection closed"
// godbus answers it with (which of the two a caller sees first is a race between
// godbus's reader and the caller).
func (l *link) callError(ctx context.Context, op, unit string, err error) error {
	if lerr := l.in.failure(); lerr != nil {
		err = lerr
	}
	return callError(ctx, op, unit, err)
}

// ConnectUser connects to the user manager whose runtime directory is runtimeDir (the
// user's $XDG_RUNTIME_DIR, /run/user/UID). An empty runtimeDir means this process's
// (runtimedir.Dir).
func ConnectUser(ctx context.Context, runtimeDir string) (*Manager, error) {
	if runtimeDir == "" {
		runtimeDir = runtimedir.Dir()
	}
	return ConnectPrivate(ctx, UserPrivateSocket(runtimeDir))
}

// ConnectPrivate connects to the manager listening on the peer-to-peer D-Bus socket at
// socketPath. It dials at once, so that a missing or dead manager is reported here.
func ConnectPrivate(ctx context.Context, socketPath string) (*Manager, error) {
	return Connect(ctx, socketPath, dialPath(socketPath), Limits{})
}

// ConnectSystem connects root to the system manager, PID 1, over its private socket
// (SystemPrivateSocket): the socket must be served by uid 0. It is go-systemd's
// NewSystemdConnectionContext with our deadlines: that one's context bounds the
// connection's whole life (godbus closes a connection when its context ends), and its
// setup call (AddMatch) has no deadline at all, whereas here ctx bounds the connect
// and the setup only.
func ConnectSystem(ctx context.Context) (*Manager, error) {
	dial := func(ctx context.Context) (net.Conn, error) {
		s, err := dialPath(SystemPrivateSocket)(ctx)
		if err != nil {
			return nil, err
		}
		cred, err := peercred.Read(s)
		if err == nil && cred.UID != 0 {
			err = fmt.Errorf("%s is served by uid %d, not root", SystemPrivateSocket, cred.UID)
		}
		if err != nil {
			s.Close()
			return nil, err
		}
		return s, nil
	}
	return Connect(ctx, SystemPrivateSocket, dial, Limits{})
}

// Connect connects to a manager through dial, which the Manager also uses to dial
// again later; name (its socket's path) names the manager in errors. lim bounds what
// is read from the manager, for a manager root does not trust (a user's). It dials at
// once, so that a missing or dead manager is reported here.
func Connect(ctx context.Context, name string, dial DialFunc, lim Limits) (*Manager, error) {
	m := &Manager{name: name, dialSocket: dial, limits: lim}
	if lim.ReadBudget > 0 {
		m.budget = &readBudget{limit: lim.ReadBudget, left: lim.ReadBudget}
	}
	ctx, cancel := WithDefaultDeadline(ctx, DefaultTimeout)
	defer cancel()
	l, err := m.dial(ctx)
	if err != nil {
		return nil, err
	}
	m.link = l
	return m, nil
}

// dialPath connects to the unix socket at path.
func dialPath(path string) DialFunc {
	return func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", path)
	}
}

// UserPrivateSocket is the private socket of the user manager whose runtime directory
// is runtimeDir.
func UserPrivateSocket(runtimeDir string) string {
	return filepath.Join(runtimeDir, "systemd", "private")
}

// NewPrivate returns a Manager for the peer-to-peer socket at socketPath that
// connects on its first call. The agent uses it so that requests which never touch
// systemd (and its start-up) pay nothing for a connection.
func NewPrivate(socketPath string) *Manager {
	return &Manager{name: socketPath, dialSocket: dialPath(socketPath)}
}

// Close closes the connection. Calls in flight fail.
func (m *Manager) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	if m.link != nil {
		m.link.conn.Close()
		m.link = nil
	}
	return nil
}

// current returns a live link, dialling again if the last one was lost.
func (m *Manager) current(ctx context.Context) (*link, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, errors.New("cannot talk to the systemd manager: connection closed")
	}
	if m.link != nil && m.link.connected() {
		return m.link, nil
	}
	if m.link != nil {
		m.link.conn.Close()
		m.link = nil
	}
	l, err := m.dial(ctx)
	if err != nil {
		return nil, err
	}
	m.link = l
	return l, nil
}

// dial connects to the manager, once: go-systemd's calls and its signals share the
// connection (see the comment inside). The deadline of ctx bounds the connect, the
// authentication and the setup calls go-systemd makes without a context of its own:
// until setup is done each socket carries ctx's deadline, so a hung manager makes the
// setup fail instead of blocking forever.
func (m *Manager) dial(ctx context.Context) (*link, error) {
	if err := m.budget.spent(); err != nil {
		// A manager that sent too much is not dialled again.
		return nil, fmt.Errorf("cannot connect to the systemd manager at %s: %w", m.name, err)
	}
	l := &link{}
	var (
		mu    sync.Mutex // guards socks against the AfterFunc below
		socks []net.Conn
	)
	unbind := context.AfterFunc(ctx, func() {
		// Cancellation without a deadline: wake up whatever reads or writes now.
		mu.Lock()
		defer mu.Unlock()
		for _, s := range socks {
			_ = s.SetDeadline(time.Unix(1, 0))
		}
	})
	conn, err := sdbus.NewConnection(func() (*godbus.Conn, error) {
		if l.raw != nil {
			// go-systemd asks for a second connection, for signals, and documents
			// that it should be an independent one. On the private socket that would
			// double the agent's main cost: the manager sends every signal to every
			// connection, and godbus decodes all of them on both (measured: the agent's CPU
			// time for a start, restart, stop and daemon-reload of 10 units went
			// from about 100 ms to 65 ms with one connection). Sharing one is safe because godbus never blocks its
			// reader on a signal channel that is full (it hands the signal to a
			// goroutine instead), so a call's reply is never stuck behind a signal
			// go-systemd's dispatcher has not taken yet; and go-systemd registers a
			// job's listener under the same lock its dispatcher takes to deliver
			// the job's end, as with two connections.
			return l.raw, nil
		}
		s, err := m.dialSocket(ctx)
		if err != nil {
			return nil, err
		}
		if dl, ok := ctx.Deadline(); ok {
			_ = s.SetDeadline(dl)
		}
		mu.Lock()
		socks = append(socks, s)
		mu.Unlock()
		l.in = newLimitedReader(s, m.limits, m.budget)
		c, err := godbus.NewConn(readerConn{Conn: s, r: l.in})
		if err != nil {
			s.Close()
			return nil, err
		}
		// EXTERNAL with the numeric uid, as systemctl does; no Hello: there is no bus
		// daemon on the other end, only the manager.
		if err := c.Auth([]godbus.Auth{godbus.AuthExternal(strconv.Itoa(os.Getuid()))}); err != nil {
			c.Close()
			return nil, err
		}
		l.raw = c
		return c, nil
	})
	stopped := unbind()
	if err == nil && (ctx.Err() != nil || !stopped) {
		conn.Close()
		err = ctx.Err()
	}
	if err != nil {
		if l.raw != nil {
			l.raw.Close()
		}
		if lerr := l.in.failure(); lerr != nil {
			err = lerr
		}
		if ctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded) {
			// The sockets' deadlines are ctx's: say so in terms of ctx.
			cause := ctx.Err()
			if cause == nil {
				cause = context.DeadlineExceeded
			}
			return nil, fmt.Errorf("cannot connect to the systemd manager at %s: it did not answer in time: %w", m.name, cause)
		}
		return nil, fmt.Errorf("cannot connect to the systemd manager at %s: %w", m.name, err)
	}
	for _, s := range socks {
		_ = s.SetDeadline(time.Time{})
	}
	l.conn = conn
	l.gone = make(chan struct{})
	// Runs once, when the connection closes (godbus cancels its context then).
	context.AfterFunc(l.raw.Context(), func() { close(l.gone) })
	if !l.connected() {
		conn.Close()
		if err := l.in.failure(); err != nil {
			return nil, fmt.Errorf("cannot connect to the systemd manager at %s: %w", m.name, err)
		}
		return nil, fmt.Errorf("cannot connect to the systemd manager at %s: connection closed during setup", m.name)
	}
	return l, nil
}

// WithDefaultDeadline gives ctx a deadline of d from now if it has none.
func WithDefaultDeadline(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}
