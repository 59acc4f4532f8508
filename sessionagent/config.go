package sessionagent

import (
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/snapcore-ng/usersession-agent/desktop/snaprefresh"
	"github.com/snapcore-ng/usersession-agent/internal/logger"
	"github.com/snapcore-ng/usersession-agent/internal/runtimedir"
	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

// Defaults of Config. The idle timeout is snapd's; the limits are generous for a local
// API whose requests are a few hundred bytes. The request timeout must stay below root's
// client's deadline for service calls (usersession/client.DefaultServiceTimeout), so
// that an agent has given up, and undone a failed start, before root reports the
// session as timed out: TestRequestTimeoutIsShorterThanTheClients holds it.
const (
	DefaultIdleTimeout       = 30 * time.Second
	DefaultShutdownTimeout   = 10 * time.Second
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadBodyTimeout   = 10 * time.Second
	DefaultKeepAliveTimeout  = 10 * time.Second
	DefaultRequestTimeout    = 90 * time.Second
	DefaultMaxRequestBody    = 256 << 10
	DefaultMaxHeaderBytes    = 16 << 10
	DefaultMaxConns          = 2048
)

// Config says how the agent runs. The zero value of every field means its default.
type Config struct {
	// Version is what session-info reports.
	Version string

	// Listener, when set, is served instead of a socket-activated or bound socket; Run
	// closes it. For tests and embedding: the peer check needs a unix socket.
	Listener net.Listener
	// SocketPath is where the agent listens when it is not socket-activated; empty
	// means DefaultSocketPath(). Ignored when activated.
	SocketPath string

	// IdleTimeout is how long the agent stays without a request in progress before
	// it exits; negative means never.
	IdleTimeout time.Duration
	// ShutdownTimeout bounds how long requests in progress may take to finish once
	// the agent is exiting; the connections left are then closed. Service work
	// (service-control, app-control) is waited for before it starts, within
	// RequestTimeout.
	ShutdownTimeout time.Duration
	// ReadHeaderTimeout bounds reading a request's headers, and so how long a
	// connection that sends nothing can delay an exit.
	ReadHeaderTimeout time.Duration
	// ReadBodyTimeout bounds reading a request's body.
	ReadBodyTimeout time.Duration
	// KeepAliveTimeout is how long a kept-alive connection may wait for its next
	// request. Idle connections never keep the agent alive.
	KeepAliveTimeout time.Duration
	// RequestTimeout is the deadline of a handler's request context; the answer must
	// be written within a few seconds after it.
	RequestTimeout time.Duration
	// MaxRequestBody is the largest request body accepted, in bytes (413 past it).
	MaxRequestBody int64
	// MaxHeaderBytes bounds the request headers (431 past it; Go's server allows
	// 4 KiB of slack on top).
	MaxHeaderBytes int
	// MaxConns bounds the connections open at once. Connections past it are accepted,
	// answered 503 (kind too-many-connections) and closed, so that a client learns why
	// instead of waiting in the listen backlog behind connections that send nothing.
	MaxConns int

	// Services controls the session's services; nil means the service endpoints
	// answer that service control is not available. NewBackends builds it and
	// Notifications for a user's session.
	Services ServiceBackend
	// Notifications shows the user's notifications; nil means the notification
	// endpoints answer that notifications are not available. A BusBackend is started
	// on the session bus when the agent joins it.
	Notifications NotificationBackend
	// Systemd is the user's systemd manager, in which the agent resets its own
	// service unit's start limit as it exits cleanly (see forgetStart); nil means it
	// does not.
	Systemd UnitManager

	// SessionBusAddress is the D-Bus address of the session bus on which the agent
	// owns BusName; empty means sessionbus.Address() ($DBUS_SESSION_BUS_ADDRESS, else
	// the runtime directory's bus, else Upstart's dbus-session file there). The bus is
	// never launched.
	SessionBusAddress string

	// DesktopDir is where the desktop entries of snap apps are read, for the name and
	// icon of a busy app; empty means snaprefresh.DefaultDesktopDir.
	DesktopDir string

	// Logger receives the agent's log; nil means logger.New(os.Stderr, false).
	Logger *slog.Logger
}

// DefaultSocketPath is the agent's socket in the user's runtime directory
// (runtimedir.Dir: $XDG_RUNTIME_DIR, else /run/user/UID).
func DefaultSocketPath() string {
	return filepath.Join(runtimedir.Dir(), wire.SocketName)
}

// withDefaults returns cfg with every zero (or negative, for limits) field set to its
// default.
func (cfg Config) withDefaults() Config {
	orDuration := func(d *time.Duration, def time.Duration) {
		if *d <= 0 {
			*d = def
		}
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	orDuration(&cfg.ShutdownTimeout, DefaultShutdownTimeout)
	orDuration(&cfg.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	orDuration(&cfg.ReadBodyTimeout, DefaultReadBodyTimeout)
	orDuration(&cfg.KeepAliveTimeout, DefaultKeepAliveTimeout)
	orDuration(&cfg.RequestTimeout, DefaultRequestTimeout)
	if cfg.MaxRequestBody <= 0 {
		cfg.MaxRequestBody = DefaultMaxRequestBody
	}
	if cfg.MaxHeaderBytes <= 0 {
		cfg.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = DefaultMaxConns
	}
	if cfg.SocketPath == "" {
		cfg.SocketPath = DefaultSocketPath()
	}
	if cfg.DesktopDir == "" {
		cfg.DesktopDir = snaprefresh.DefaultDesktopDir
	}
	if cfg.Logger == nil {
		cfg.Logger = logger.New(os.Stderr, false)
	}
	return cfg
}
