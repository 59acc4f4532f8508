// Package systemd controls a systemd manager, typically a user's `systemd --user`,
// through its D-Bus API.
//
// It talks to the manager's private peer-to-peer socket
// ($XDG_RUNTIME_DIR/systemd/private), as `systemctl --user` does, so it needs no session
// bus. Every call has a deadline: the caller's, or DefaultTimeout when the caller's
// context has none. Jobs (start, stop, restart...) are followed to their end, and a job
// that does not end well is reported as a *JobError carrying the unit's own account of
// the failure.
package systemd

import (
	"bufio"
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
)

// DefaultTimeout bounds every call made with a context that has no deadline of its own.
const DefaultTimeout = 30 * time.Second

// Manager is a connection to one systemd manager. It is safe for concurrent use. If the
// manager drops the connection (for instance on `daemon-reexec`), the next call dials
// again.
type Manager struct {
	socketPath string
	// verify, if set, vets every socket connection before it is used.
	verify func(net.Conn) error

	mu     sync.Mutex
	link   *link
	closed bool
}

// link is one established connection: go-systemd's, and the godbus connection it was
// built from (go-systemd does not expose it; we watch it to notice that the manager
// went away while we wait for a job).
type link struct {
	conn *sdbus.Conn
	raw  *godbus.Conn
	// gone is closed once the raw connection is closed.
	gone chan struct{}
}

func (l *link) connected() bool { return l.conn.Connected() }

// ConnectUser connects to the user manager whose runtime directory is runtimeDir (the
// user's $XDG_RUNTIME_DIR, /run/user/UID). An empty runtimeDir means this process's
// $XDG_RUNTIME_DIR.
func ConnectUser(ctx context.Context, runtimeDir string) (*Manager, error) {
	if runtimeDir == "" {
		runtimeDir = os.Getenv("XDG_RUNTIME_DIR")
		if runtimeDir == "" {
			return nil, errors.New("cannot connect to the user's systemd manager: XDG_RUNTIME_DIR is not set")
		}
	}
	return ConnectPrivate(ctx, UserPrivateSocket(runtimeDir))
}

// ConnectPrivate connects to the manager listening on the peer-to-peer D-Bus socket at
// socketPath. It dials at once, so that a missing or dead manager is reported here.
func ConnectPrivate(ctx context.Context, socketPath string) (*Manager, error) {
	return ConnectPrivateVerified(ctx, socketPath, nil)
}

// ConnectPrivateVerified is ConnectPrivate for a socket whose server must be vetted
// first (root connecting to a socket in a user's directory): verify is called on each
// new socket connection, before anything is sent on it, and an error it returns fails
// the connection. Redials are vetted the same way.
func ConnectPrivateVerified(ctx context.Context, socketPath string, verify func(net.Conn) error) (*Manager, error) {
	m := &Manager{socketPath: socketPath, verify: verify}
	ctx, cancel := WithDefaultDeadline(ctx, DefaultTimeout)
	defer cancel()
	l, err := dial(ctx, socketPath, verify)
	if err != nil {
		return nil, err
	}
	m.link = l
	return m, nil
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
	return &Manager{socketPath: socketPath}
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
	l, err := dial(ctx, m.socketPath, m.verify)
	if err != nil {
		return nil, err
	}
	m.link = l
	return l, nil
}

// dial connects to the socket, once: go-systemd's calls and its signals share the
// connection (see the comment inside). The deadline of ctx bounds the connect, the authentication and the
// setup calls go-systemd makes without a context of its own: until setup is done each
// socket carries ctx's deadline, so a hung manager makes the setup fail instead of
// blocking forever. verify, if not nil, vets each socket before it is used.
func dial(ctx context.Context, socketPath string, verify func(net.Conn) error) (*link, error) {
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
		var d net.Dialer
		s, err := d.DialContext(ctx, "unix", socketPath)
		if err != nil {
			return nil, err
		}
		if dl, ok := ctx.Deadline(); ok {
			_ = s.SetDeadline(dl)
		}
		mu.Lock()
		socks = append(socks, s)
		mu.Unlock()
		if verify != nil {
			if err := verify(s); err != nil {
				s.Close()
				return nil, err
			}
		}
		c, err := godbus.NewConn(bufferedConn{Conn: s, r: bufio.NewReaderSize(s, readBufferSize)})
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
		if ctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded) {
			// The sockets' deadlines are ctx's: say so in terms of ctx.
			cause := ctx.Err()
			if cause == nil {
				cause = context.DeadlineExceeded
			}
			return nil, fmt.Errorf("cannot connect to the systemd manager at %s: it did not answer in time: %w", socketPath, cause)
		}
		return nil, fmt.Errorf("cannot connect to the systemd manager at %s: %w", socketPath, err)
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
		return nil, fmt.Errorf("cannot connect to the systemd manager at %s: connection closed during setup", socketPath)
	}
	return l, nil
}

// readBufferSize is the read buffer of the connection to the manager: the size of
// a few of its signals (a JobRemoved is about 200 bytes, a PropertiesChanged of a
// unit up to a few KiB).
const readBufferSize = 16 << 10

// bufferedConn reads a socket through a buffer. godbus decodes a message from a
// connection it was given (rather than one it dialled itself) field by field, with a
// read(2) for each field: about 40 system calls per message. The manager sends every
// signal to every connection on its private socket, whether asked for or not (a
// daemon-reload of a small session is about 80 of them per connection, a start or a
// stop several per unit), so those reads were most of the agent's work: its CPU time
// for a start, a restart, a stop and a daemon-reload of 10 units went from about 230
// ms to 100 ms with the buffer (bench/services.sh, docs/benchmarks.md). Writes and
// deadlines go to the socket itself.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// WithDefaultDeadline gives ctx a deadline of d from now if it has none.
func WithDefaultDeadline(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}
