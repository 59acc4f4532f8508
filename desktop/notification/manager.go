package notification

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/godbus/dbus/v5"
)

// Config says how a Manager posts. The zero value of every field means its default.
type Config struct {
	// AppID is the sender's name: the freedesktop app_name of messages without
	// their own, and the GTK application ID, which must be the well-known bus name
	// the process owns for GTK actions to come back. Default DefaultAppID.
	AppID string
	// CallTimeout bounds every bus call, and every Post and Close as a whole.
	// Default DefaultCallTimeout.
	CallTimeout time.Duration
	// MaxTracked bounds how many notifications the manager remembers; past it the
	// oldest finished ones are forgotten, and a post with none to forget fails with
	// KindTooMany. Default DefaultMaxTracked.
	MaxTracked int
	// MaxKeepAlive bounds how long after its post a notification with actions counts
	// in BusyUntil. Default DefaultMaxKeepAlive.
	MaxKeepAlive time.Duration
}

// Defaults of Config. The call timeout is far below dbus-daemon's 25 s method call
// and 120 s activation timeouts, well above a real server's answer (milliseconds),
// and below the 5 s root's client waits for an agent's answer.
const (
	DefaultAppID        = "io.snapcraft.SessionAgent"
	DefaultCallTimeout  = 3 * time.Second
	DefaultMaxTracked   = 128
	DefaultMaxKeepAlive = 10 * time.Minute
)

func (cfg Config) withDefaults() Config {
	if cfg.AppID == "" {
		cfg.AppID = DefaultAppID
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = DefaultCallTimeout
	}
	if cfg.MaxTracked <= 0 {
		cfg.MaxTracked = DefaultMaxTracked
	}
	if cfg.MaxKeepAlive <= 0 {
		cfg.MaxKeepAlive = DefaultMaxKeepAlive
	}
	return cfg
}

// backend is one server protocol, as snapd keeps one per protocol behind a small
// interface: it takes what one post or close needs and returns what the server said,
// which the manager records in its tracker.
type backend interface {
	name() string
	// post shows msg as notification id, replacing the freedesktop server's
	// notification replaces (0: none).
	post(ctx context.Context, id string, replaces uint32, msg *Message) (postResult, error)
	// close takes down notification id, serverID to the freedesktop server.
	close(ctx context.Context, id string, serverID uint32) error
}

// ownerLookup finds the unique name owning a server name, "" for none (the watcher).
type ownerLookup interface {
	owner(ctx context.Context, name string) (string, error)
}

// onBus is what a manager has on its bus connection, from Start to Stop.
type onBus struct {
	owners   ownerLookup
	fdo, gtk backend
	stop     func()
}

// choose picks the backend for a post: GTK where a process owns org.gtk.Notifications
// (GNOME Shell), else freedesktop, which the bus may activate.
func (b *onBus) choose(ctx context.Context) (backend, error) {
	owner, err := b.owners.owner(ctx, gtkName)
	if err != nil {
		return nil, err
	}
	if owner != "" {
		return b.gtk, nil
	}
	return b.fdo, nil
}

// backend is the backend of server (Status.Server).
func (b *onBus) backend(server string) backend {
	if server == ServerGTK {
		return b.gtk
	}
	return b.fdo
}

// Manager posts notifications and tracks what becomes of them. Its state (tracker.go)
// is apart from the bus: Start puts it on a connection, where it follows the servers
// (bus.go) until Stop, and posts through their protocols (fdo.go, gtk.go).
type Manager struct {
	cfg     Config
	tracker *tracker
	bus     atomic.Pointer[onBus]
}

// New returns a manager with cfg, not on a bus yet: Start puts it on one.
func New(cfg Config) *Manager {
	cfg = cfg.withDefaults()
	return &Manager{cfg: cfg, tracker: newTracker(cfg.MaxTracked, cfg.MaxKeepAlive, time.Now)}
}

// Start puts m on conn: it subscribes to the signals it follows and exports the
// org.freedesktop.Application object GTK actions call (at the path derived from
// Config.AppID; request the name after Start), each call within ctx and the call
// timeout. It runs once; Stop undoes it and leaves conn open.
func (m *Manager) Start(ctx context.Context, conn *dbus.Conn) error {
	c := caller{timeout: m.cfg.CallTimeout}
	w, err := watch(ctx, conn, c, m.tracker)
	if err != nil {
		return err
	}
	app := &application{
		isServer: func(sender string) bool { return w.isOwner(gtkName, sender) },
		chosen:   m.tracker.gtkAction,
	}
	if err := exportApplication(conn, m.cfg.AppID, app); err != nil {
		w.stop()
		return fmt.Errorf("cannot export the application object for GTK notifications: %w", err)
	}
	b := &onBus{
		owners: w,
		fdo:    &fdoBackend{obj: conn.Object(fdoName, fdoPath), c: c, server: w.fdoServer},
		gtk:    &gtkBackend{obj: conn.Object(gtkName, gtkPath), c: c, appID: m.cfg.AppID},
		stop: func() {
			w.stop()
			unexportApplication(conn, m.cfg.AppID)
		},
	}
	if !m.bus.CompareAndSwap(nil, b) {
		b.stop()
		return errors.New("cannot start the notification manager: it runs already")
	}
	return nil
}

// Stop stops following signals and unexports the application object. The
// notifications stay on screen, and their statuses can still be read.
func (m *Manager) Stop() {
	if b := m.bus.Swap(nil); b != nil {
		b.stop()
	}
}

// notOnBus is the error of a post or close before Start or after Stop.
func notOnBus(what string) error {
	return &Error{Kind: KindNoServer, Message: "cannot " + what + " notification: the manager is not on a bus"}
}

// NewID returns a fresh notification ID: random, so that an ID of an earlier run of
// the process is unknown to this one rather than naming another notification.
func NewID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Post shows msg as notification id, replacing what is shown under that id, and
// returns its status. id is chosen by the caller (NewID for a fresh one). Errors are
// *Error: KindInvalid for a bad message, KindTooMany past Config.MaxTracked open
// notifications, KindNoServer, KindServer or KindTimeout when the server could not
// take it.
func (m *Manager) Post(ctx context.Context, id string, msg *Message) (Status, error) {
	if id == "" {
		return Status{}, invalidf("cannot post notification: no id")
	}
	if err := msg.Validate(); err != nil {
		return Status{}, err
	}
	bus := m.bus.Load()
	if bus == nil {
		return Status{}, notOnBus("post")
	}
	ctx, cancel := context.WithTimeout(ctx, m.cfg.CallTimeout)
	defer cancel()
	if msg.AppName == "" {
		withApp := *msg
		withApp.AppName = m.cfg.AppID
		msg = &withApp
	}
	b, err := bus.choose(ctx)
	if err != nil {
		return Status{}, err
	}
	rsv, err := m.tracker.reserve(id, b.name())
	if err != nil {
		return Status{}, err
	}
	res, err := b.post(ctx, id, rsv.replaces, msg)
	if err != nil {
		m.tracker.abandon(rsv)
		return Status{}, err
	}
	if b.name() == ServerFreedesktop {
		// The server's unique name, to tell its signals from anyone else's. A
		// failure here only means its signals are ignored until it changes owner.
		_, _ = bus.owners.owner(ctx, fdoName)
	}
	return m.tracker.record(rsv, msg, res)
}

// Status returns the status of notification id; an unknown id is an *Error of kind
// KindUnknown.
func (m *Manager) Status(id string) (Status, error) {
	return m.tracker.status(id)
}

// Wait returns the status of notification id once it is final, or its current status
// when ctx ends first (the caller's long-poll timeout; not an error).
func (m *Manager) Wait(ctx context.Context, id string) (Status, error) {
	return m.tracker.wait(ctx, id)
}

// Close takes notification id down and returns its status: closed, or the final
// state it had already reached.
func (m *Manager) Close(ctx context.Context, id string) (Status, error) {
	tg, err := m.tracker.closing(id)
	if err != nil {
		return Status{}, err
	}
	if tg.status.State.Final() {
		return tg.status, nil
	}
	bus := m.bus.Load()
	if bus == nil {
		return Status{}, notOnBus("close")
	}
	ctx, cancel := context.WithTimeout(ctx, m.cfg.CallTimeout)
	defer cancel()
	if err := bus.backend(tg.status.Server).close(ctx, id, tg.serverID); err != nil {
		return Status{}, err
	}
	return m.tracker.closed(tg), nil
}

// BusyUntil is the time until which an open notification with actions waits for the
// user's answer: the latest, over the notifications with actions still shown, of
// their post time plus their expiry, or plus Config.MaxKeepAlive when it is shorter
// or unset. It is zero when there is none. A process that exits on idle should wait
// for it, so that the answer is not lost.
func (m *Manager) BusyUntil() time.Time {
	return m.tracker.busyUntil()
}
