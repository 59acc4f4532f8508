package notification

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"
)

// watcher is the manager's bus side apart from posting, as go-systemd keeps its
// subscription (dbus/subscription.go) apart from its calls: which connection owns each
// server name, what the freedesktop server says of itself, and the signal reader that
// keeps both current and tells the tracker what the servers said. It has a lock of its
// own and never holds it across a call.
type watcher struct {
	conn    *dbus.Conn
	c       caller
	tracker *tracker
	signals chan *dbus.Signal
	stopped chan struct{}
	done    chan struct{}

	mu sync.Mutex
	// owners caches the unique name owning each server name ("" for none); a name
	// missing from it is looked up. ownerGen counts changes, so that a lookup that
	// raced a change is not cached.
	owners   map[string]string
	ownerGen map[string]uint64
	// fdoInfo caches what the freedesktop server says of itself until it changes
	// owner.
	fdoInfo *fdoServer
}

// fdoServer is what the freedesktop server says of itself, asked once per server.
type fdoServer struct {
	caps map[string]bool
	// name and version from GetServerInformation, such as "dunst 1.9.0"; empty
	// when it did not say.
	name string
}

// watch subscribes to the signals of both servers on conn, each call within ctx and
// the call timeout, and reads them into tr until stop.
func watch(ctx context.Context, conn *dbus.Conn, c caller, tr *tracker) (*watcher, error) {
	w := &watcher{
		conn:     conn,
		c:        c,
		tracker:  tr,
		signals:  make(chan *dbus.Signal, 64),
		stopped:  make(chan struct{}),
		done:     make(chan struct{}),
		owners:   make(map[string]string),
		ownerGen: make(map[string]uint64),
	}
	matches := [][]dbus.MatchOption{
		{dbus.WithMatchSender("org.freedesktop.DBus"), dbus.WithMatchMember("NameOwnerChanged"), dbus.WithMatchArg(0, fdoName)},
		{dbus.WithMatchSender("org.freedesktop.DBus"), dbus.WithMatchMember("NameOwnerChanged"), dbus.WithMatchArg(0, gtkName)},
		{dbus.WithMatchInterface(fdoName), dbus.WithMatchObjectPath(fdoPath)},
	}
	for _, opts := range matches {
		callCtx, cancel := context.WithTimeout(ctx, c.timeout)
		err := conn.AddMatchSignalContext(callCtx, opts...)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("cannot follow notification signals: %w", err)
		}
	}
	conn.Signal(w.signals)
	go w.run()
	return w, nil
}

// stop stops following signals and waits for the reader to return.
func (w *watcher) stop() {
	w.conn.RemoveSignal(w.signals)
	close(w.stopped)
	<-w.done
}

// run drains the signal channel until stop: godbus starts a goroutine per signal while
// the channel is full.
func (w *watcher) run() {
	defer close(w.done)
	for {
		select {
		case <-w.stopped:
			return
		case sig, ok := <-w.signals:
			if !ok {
				// The connection closed: every server is gone for us.
				w.tracker.serverGone(ServerFreedesktop)
				w.tracker.serverGone(ServerGTK)
				return
			}
			w.handle(sig)
		}
	}
}

func (w *watcher) handle(sig *dbus.Signal) {
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
		w.mu.Lock()
		w.owners[name] = newOwner
		w.ownerGen[name]++
		if name == fdoName {
			w.fdoInfo = nil
		}
		w.mu.Unlock()
		server := ServerGTK
		if name == fdoName {
			server = ServerFreedesktop
			w.tracker.forgetOrphans()
		}
		// A server that starts (activated by a post) leaves nothing behind; one that
		// leaves takes its notifications with it.
		if oldOwner != "" {
			w.tracker.serverGone(server)
		}
	case fdoName + ".ActionInvoked", fdoName + ".NotificationClosed":
		// Only the server's own signals count, not anyone else's.
		if sig.Path != fdoPath || !w.isOwner(fdoName, sig.Sender) {
			return
		}
		if serverID, state, action, ok := fdoSignal(sig); ok {
			w.tracker.fdoEvent(uint64(sig.Sequence), serverID, state, action)
		}
	}
}

// isOwner says whether sender is the known owner of the well-known name, without a
// lookup.
func (w *watcher) isOwner(name, sender string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	owner := w.owners[name]
	return owner != "" && sender == owner
}

// owner returns the unique name owning the well-known name, "" for none, looked up
// once per change of owner.
func (w *watcher) owner(ctx context.Context, name string) (string, error) {
	w.mu.Lock()
	owner, known := w.owners[name]
	gen := w.ownerGen[name]
	w.mu.Unlock()
	if known {
		return owner, nil
	}
	err := w.c.call(ctx, w.conn.BusObject(), "org.freedesktop.DBus.GetNameOwner", name).Store(&owner)
	if dbusErrorName(err) == "org.freedesktop.DBus.Error.NameHasNoOwner" {
		owner, err = "", nil
	}
	if err != nil {
		return "", w.c.error("cannot find the owner of "+name, err)
	}
	w.mu.Lock()
	if w.ownerGen[name] == gen {
		w.owners[name] = owner
	}
	w.mu.Unlock()
	return owner, nil
}

// fdoServer returns what the freedesktop server supports and its name, asked once per
// server (the first call may D-Bus-activate it): a post offers actions only where it
// lists "actions" and escapes the body where it lists "body-markup".
func (w *watcher) fdoServer(ctx context.Context) (*fdoServer, error) {
	w.mu.Lock()
	srv := w.fdoInfo
	gen := w.ownerGen[fdoName]
	w.mu.Unlock()
	if srv != nil {
		return srv, nil
	}
	obj := w.conn.Object(fdoName, fdoPath)
	var list []string
	if err := w.c.call(ctx, obj, fdoName+".GetCapabilities").Store(&list); err != nil {
		return nil, w.c.error("cannot ask the notification server what it supports", err)
	}
	srv = &fdoServer{caps: make(map[string]bool, len(list))}
	for _, c := range list {
		srv.caps[c] = true
	}
	// The name only labels the notifications: a server that will not say is still
	// used.
	var name, vendor, version, specVersion string
	if w.c.call(ctx, obj, fdoName+".GetServerInformation").Store(&name, &vendor, &version, &specVersion) == nil {
		srv.name = strings.TrimSpace(name + " " + version)
	}
	w.mu.Lock()
	if w.ownerGen[fdoName] == gen {
		w.fdoInfo = srv
	}
	w.mu.Unlock()
	return srv, nil
}

// caller makes the manager's bus calls, each bounded by the call timeout, and turns
// their errors into *Error.
type caller struct {
	timeout time.Duration
}

func (c caller) call(ctx context.Context, obj dbus.BusObject, method string, args ...any) *dbus.Call {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	return obj.CallWithContext(ctx, method, 0, args...)
}

// error turns the error of a call to a notification server into an *Error: KindTimeout
// for no answer in time, KindNoServer for no server (none on the bus, or its
// activation failed), else KindServer.
func (c caller) error(what string, err error) error {
	name := dbusErrorName(err)
	switch {
	case errors.Is(err, context.DeadlineExceeded), name == "org.freedesktop.DBus.Error.NoReply",
		name == "org.freedesktop.DBus.Error.Timeout", name == "org.freedesktop.DBus.Error.TimedOut":
		return &Error{Kind: KindTimeout, Err: err, Message: fmt.Sprintf("%s: no answer within %v", what, c.timeout)}
	case name == "org.freedesktop.DBus.Error.ServiceUnknown", name == "org.freedesktop.DBus.Error.NameHasNoOwner",
		strings.HasPrefix(name, "org.freedesktop.DBus.Error.Spawn."):
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
