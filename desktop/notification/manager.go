package notification

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"
)

// State is what became of a notification.
type State string

const (
	// StateShown: the server took the notification and has not said more.
	StateShown State = "shown"
	// StateAction: the user chose an action; Status.Action says which.
	StateAction State = "action"
	// StateDismissed: the user closed it.
	StateDismissed State = "dismissed"
	// StateExpired: the server took it down when its time was up.
	StateExpired State = "expired"
	// StateClosed: it was closed by a call (Close) or for a reason the server did not
	// give.
	StateClosed State = "closed"
	// StateServerGone: the server left the bus while it was shown.
	StateServerGone State = "server-gone"
)

// Final says whether nothing more will happen to a notification in state s.
func (s State) Final() bool { return s != StateShown }

// Backend names, as Status.Server reports them.
const (
	ServerFreedesktop = "freedesktop"
	ServerGTK         = "gtk"
)

// Status is what the manager knows of one notification.
type Status struct {
	ID    string
	State State
	// Action is the ID of the chosen action when State is StateAction.
	Action string
	// Server is the protocol it was posted with: ServerFreedesktop or ServerGTK.
	Server string
	// ServerName is the freedesktop server's name and version (GetServerInformation),
	// such as "dunst 1.9.0"; empty for GTK, which does not say.
	ServerName string
	// ActionsShown says the server shows the message's actions: false without
	// actions, or on a freedesktop server without the "actions" capability.
	ActionsShown bool
}

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

// backend is one server protocol.
type backend interface {
	name() string
	// post shows msg as e (e.serverID is the notification to replace, or 0) and
	// sets e.serverID and e.status.ActionsShown.
	post(ctx context.Context, e *entry, msg *Message) error
	// close takes e down.
	close(ctx context.Context, e *entry) error
}

// entry is one notification the manager remembers.
type entry struct {
	status    Status
	serverID  uint32
	posted    time.Time
	keepUntil time.Time
	// actions are those offered to the server.
	actions []Action
	// changed is closed when status changes, then replaced.
	changed chan struct{}
}

// orphan is a freedesktop signal about a server ID no entry has yet: the server may
// signal before the manager has recorded the answer of Notify.
type orphan struct {
	serverID uint32
	state    State
	action   string
}

const maxOrphans = 16

// Manager posts notifications on one bus connection and tracks what becomes of
// them. Its signal reader runs from New until Stop.
type Manager struct {
	cfg  Config
	conn *dbus.Conn
	fdo  *fdoBackend
	gtk  *gtkBackend

	signals chan *dbus.Signal
	stopped chan struct{}

	mu      sync.Mutex
	entries map[string]*entry
	order   []string
	orphans []orphan
	// owners caches the unique name owning each server name ("" for none); a name
	// missing from it is looked up. ownerGen counts changes, so that a lookup that
	// raced a change is not cached.
	owners   map[string]string
	ownerGen map[string]uint64
	// fdoServer caches what the freedesktop server says of itself until it changes
	// owner.
	fdoServer *fdoServer
}

// New returns a manager posting on conn. Before it returns it exports the
// org.freedesktop.Application object GTK actions call (at the path derived from
// Config.AppID; request the name after New) and subscribes to the signals it follows,
// each call within ctx and the call timeout. Stop stops it; conn stays open.
func New(ctx context.Context, conn *dbus.Conn, cfg Config) (*Manager, error) {
	cfg = cfg.withDefaults()
	m := &Manager{
		cfg:      cfg,
		conn:     conn,
		signals:  make(chan *dbus.Signal, 64),
		stopped:  make(chan struct{}),
		entries:  make(map[string]*entry),
		owners:   make(map[string]string),
		ownerGen: make(map[string]uint64),
	}
	m.fdo = &fdoBackend{m: m, obj: conn.Object(fdoName, fdoPath)}
	m.gtk = &gtkBackend{m: m, obj: conn.Object(gtkName, gtkPath)}
	if err := exportApplication(conn, m); err != nil {
		return nil, err
	}
	matches := [][]dbus.MatchOption{
		{dbus.WithMatchSender("org.freedesktop.DBus"), dbus.WithMatchMember("NameOwnerChanged"), dbus.WithMatchArg(0, fdoName)},
		{dbus.WithMatchSender("org.freedesktop.DBus"), dbus.WithMatchMember("NameOwnerChanged"), dbus.WithMatchArg(0, gtkName)},
		{dbus.WithMatchInterface(fdoName), dbus.WithMatchObjectPath(fdoPath)},
	}
	for _, opts := range matches {
		callCtx, cancel := context.WithTimeout(ctx, cfg.CallTimeout)
		err := conn.AddMatchSignalContext(callCtx, opts...)
		cancel()
		if err != nil {
			unexportApplication(conn, m)
			return nil, fmt.Errorf("cannot follow notification signals: %w", err)
		}
	}
	conn.Signal(m.signals)
	go m.readSignals()
	return m, nil
}

// Stop stops following signals and unexports the application object; call it once.
// The notifications stay on screen.
func (m *Manager) Stop() {
	m.conn.RemoveSignal(m.signals)
	close(m.stopped)
	unexportApplication(m.conn, m)
}

// readSignals drains the signal channel until Stop: godbus starts a goroutine per
// signal while the channel is full.
func (m *Manager) readSignals() {
	for {
		select {
		case <-m.stopped:
			return
		case sig, ok := <-m.signals:
			if !ok {
				// The connection closed: every server is gone for us.
				m.serverGone(fdoName)
				m.serverGone(gtkName)
				return
			}
			m.handleSignal(sig)
		}
	}
}

func (m *Manager) handleSignal(sig *dbus.Signal) {
	switch sig.Name {
	case "org.freedesktop.DBus.NameOwnerChanged":
		if sig.Sender != "org.freedesktop.DBus" || len(sig.Body) != 3 {
			return
		}
		name, _ := sig.Body[0].(string)
		oldOwner, _ := sig.Body[1].(string)
		newOwner, _ := sig.Body[2].(string)
		if name != fdoName && name != gtkName {
			return
		}
		m.mu.Lock()
		m.owners[name] = newOwner
		m.ownerGen[name]++
		if name == fdoName {
			m.fdoServer = nil
			m.orphans = nil
		}
		m.mu.Unlock()
		// A server that starts (activated by a post) leaves nothing behind; one that
		// leaves takes its notifications with it.
		if oldOwner != "" {
			m.serverGone(name)
		}
	case fdoName + ".ActionInvoked", fdoName + ".NotificationClosed":
		m.fdo.handleSignal(sig)
	}
}

// serverGone ends every shown notification of the server that owned name.
func (m *Manager) serverGone(name string) {
	server := ServerFreedesktop
	if name == gtkName {
		server = ServerGTK
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, e := range m.entries {
		if e.status.Server == server && e.status.State == StateShown {
			m.setLocked(e, StateServerGone, "")
		}
	}
}

// owner returns the unique name owning the well-known name, "" for none, looked up
// once per change of owner.
func (m *Manager) owner(ctx context.Context, name string) (string, error) {
	m.mu.Lock()
	owner, known := m.owners[name]
	gen := m.ownerGen[name]
	m.mu.Unlock()
	if known {
		return owner, nil
	}
	err := m.call(ctx, m.conn.BusObject(), "org.freedesktop.DBus.GetNameOwner", name).Store(&owner)
	if dbusErrorName(err) == "org.freedesktop.DBus.Error.NameHasNoOwner" {
		owner, err = "", nil
	}
	if err != nil {
		return "", callError("cannot find the owner of "+name, err, m.cfg.CallTimeout)
	}
	m.mu.Lock()
	if m.ownerGen[name] == gen {
		m.owners[name] = owner
	}
	m.mu.Unlock()
	return owner, nil
}

// choose picks the backend for a post: GTK where a process owns org.gtk.Notifications
// (GNOME Shell), else freedesktop, which the bus may activate.
func (m *Manager) choose(ctx context.Context) (backend, error) {
	owner, err := m.owner(ctx, gtkName)
	if err != nil {
		return nil, err
	}
	if owner != "" {
		return m.gtk, nil
	}
	return m.fdo, nil
}

// call makes one method call bounded by the call timeout.
func (m *Manager) call(ctx context.Context, obj dbus.BusObject, method string, args ...any) *dbus.Call {
	ctx, cancel := context.WithTimeout(ctx, m.cfg.CallTimeout)
	defer cancel()
	return obj.CallWithContext(ctx, method, 0, args...)
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
	ctx, cancel := context.WithTimeout(ctx, m.cfg.CallTimeout)
	defer cancel()
	if msg.AppName == "" {
		withApp := *msg
		withApp.AppName = m.cfg.AppID
		msg = &withApp
	}
	b, err := m.choose(ctx)
	if err != nil {
		return Status{}, err
	}

	m.mu.Lock()
	prev := m.entries[id]
	if prev == nil {
		if err := m.makeRoomLocked(); err != nil {
			m.mu.Unlock()
			return Status{}, err
		}
	}
	e := &entry{status: Status{ID: id, State: StateShown, Server: b.name()}}
	if prev != nil && prev.status.Server == b.name() {
		e.serverID = prev.serverID
	}
	m.mu.Unlock()

	if err := b.post(ctx, e, msg); err != nil {
		return Status{}, err
	}
	e.posted = time.Now()
	if len(msg.Actions) > 0 && e.status.ActionsShown {
		keep := m.cfg.MaxKeepAlive
		if msg.Expire > 0 && msg.Expire < keep {
			keep = msg.Expire
		}
		e.keepUntil = e.posted.Add(keep)
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	if old := m.entries[id]; old != nil {
		e.changed = old.changed
		m.entries[id] = e
		// Waiters on the replaced notification now wait on this one.
	} else {
		if err := m.makeRoomLocked(); err != nil {
			return Status{}, err
		}
		e.changed = make(chan struct{})
		m.entries[id] = e
		m.order = append(m.order, id)
	}
	m.adoptOrphanLocked(e)
	return e.status, nil
}

// makeRoomLocked forgets the oldest finished notification, or the oldest one posted
// longer than MaxKeepAlive ago, when the manager is full.
func (m *Manager) makeRoomLocked() error {
	if len(m.entries) < m.cfg.MaxTracked {
		return nil
	}
	stale := time.Now().Add(-m.cfg.MaxKeepAlive)
	for _, pass := range []func(*entry) bool{
		func(e *entry) bool { return e.status.State.Final() },
		func(e *entry) bool { return e.posted.Before(stale) },
	} {
		for i, id := range m.order {
			if pass(m.entries[id]) {
				delete(m.entries, id)
				m.order = append(m.order[:i:i], m.order[i+1:]...)
				return nil
			}
		}
	}
	return &Error{Kind: KindTooMany, Message: fmt.Sprintf("cannot post notification: %d notifications are still open", len(m.entries))}
}

// Status returns the status of notification id; an unknown id is an *Error of kind
// KindUnknown.
func (m *Manager) Status(id string) (Status, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.entries[id]
	if e == nil {
		return Status{}, unknown(id)
	}
	return e.status, nil
}

func unknown(id string) *Error {
	return &Error{Kind: KindUnknown, Message: fmt.Sprintf("cannot find notification %q: unknown here (ids do not survive a restart of the agent)", id)}
}

// Wait returns the status of notification id once it is final, or its current status
// when ctx ends first (the caller's long-poll timeout; not an error).
func (m *Manager) Wait(ctx context.Context, id string) (Status, error) {
	for {
		m.mu.Lock()
		e := m.entries[id]
		if e == nil {
			m.mu.Unlock()
			return Status{}, unknown(id)
		}
		st, changed := e.status, e.changed
		m.mu.Unlock()
		if st.State.Final() {
			return st, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return st, nil
		}
	}
}

// Close takes notification id down and returns its status: closed, or the final
// state it had already reached.
func (m *Manager) Close(ctx context.Context, id string) (Status, error) {
	m.mu.Lock()
	e := m.entries[id]
	m.mu.Unlock()
	if e == nil {
		return Status{}, unknown(id)
	}
	st := e.status
	if st.State.Final() {
		return st, nil
	}
	b := backend(m.fdo)
	if st.Server == ServerGTK {
		b = m.gtk
	}
	ctx, cancel := context.WithTimeout(ctx, m.cfg.CallTimeout)
	defer cancel()
	if err := b.close(ctx, e); err != nil {
		return Status{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.setLocked(e, StateClosed, "")
	return e.status, nil
}

// BusyUntil is the time until which an open notification with actions waits for the
// user's answer: the latest, over the notifications with actions still shown, of
// their post time plus their expiry, or plus Config.MaxKeepAlive when it is shorter
// or unset. It is zero when there is none. A process that exits on idle should wait
// for it, so that the answer is not lost.
func (m *Manager) BusyUntil() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	var until time.Time
	for _, e := range m.entries {
		if e.status.State == StateShown && e.keepUntil.After(until) {
			until = e.keepUntil
		}
	}
	return until
}

// setLocked moves e to state (once: a final state never changes) and wakes its
// waiters.
func (m *Manager) setLocked(e *entry, state State, action string) {
	if e.status.State.Final() {
		return
	}
	e.status.State = state
	e.status.Action = action
	if e.changed != nil {
		close(e.changed)
		e.changed = make(chan struct{})
	}
}

// fdoEvent records what a freedesktop server said of its notification serverID.
func (m *Manager) fdoEvent(serverID uint32, state State, action string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, e := range m.entries {
		if e.status.Server == ServerFreedesktop && e.serverID == serverID && e.status.State == StateShown {
			if state != StateAction || e.offered(action) {
				m.setLocked(e, state, action)
			}
			return
		}
	}
	if len(m.orphans) == maxOrphans {
		m.orphans = m.orphans[1:]
	}
	m.orphans = append(m.orphans, orphan{serverID: serverID, state: state, action: action})
}

// adoptOrphanLocked applies to a freshly recorded e the first signal that arrived
// before it.
func (m *Manager) adoptOrphanLocked(e *entry) {
	if e.status.Server != ServerFreedesktop {
		return
	}
	for i, o := range m.orphans {
		if o.serverID == e.serverID {
			m.orphans = append(m.orphans[:i:i], m.orphans[i+1:]...)
			if o.state != StateAction || e.offered(o.action) {
				m.setLocked(e, o.state, o.action)
			}
			return
		}
	}
}

// gtkAction records the action chosen on GTK notification id.
func (m *Manager) gtkAction(id, action string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e := m.entries[id]; e != nil && e.status.Server == ServerGTK && e.offered(action) {
		m.setLocked(e, StateAction, action)
	}
}

// callError turns the error of a call to a notification server into an *Error.
func callError(what string, err error, timeout time.Duration) error {
	name := dbusErrorName(err)
	switch {
	case errors.Is(err, context.DeadlineExceeded), name == "org.freedesktop.DBus.Error.NoReply",
		name == "org.freedesktop.DBus.Error.Timeout", name == "org.freedesktop.DBus.Error.TimedOut":
		return &Error{Kind: KindTimeout, Err: err, Message: fmt.Sprintf("%s: no answer within %v", what, timeout)}
	case name == "org.freedesktop.DBus.Error.ServiceUnknown", name == "org.freedesktop.DBus.Error.NameHasNoOwner",
		len(name) > len("org.freedesktop.DBus.Error.Spawn.") && name[:len("org.freedesktop.DBus.Error.Spawn.")] == "org.freedesktop.DBus.Error.Spawn.":
		return &Error{Kind: KindNoServer, Err: err, Message: fmt.Sprintf("%s: no notification server: %v", what, err)}
	}
	return &Error{Kind: KindServer, Err: err, Message: fmt.Sprintf("%s: %v", what, err)}
}

func dbusErrorName(err error) string {
	var dbusErr dbus.Error
	if errors.As(err, &dbusErr) {
		return dbusErr.Name
	}
	var dbusErrPtr *dbus.Error
	if errors.As(err, &dbusErrPtr) {
		return dbusErrPtr.Name
	}
	return ""
}
