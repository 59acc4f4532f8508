package userd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/snapcore-ng/usersession-agent/internal/drain"
	"github.com/snapcore-ng/usersession-agent/internal/idle"
	"github.com/snapcore-ng/usersession-agent/internal/procfs"
)

// DefaultDesktopDir is where snapd installs the desktop files of snaps.
const DefaultDesktopDir = "/var/lib/snapd/desktop/applications"

// Config says what a Service works with.
type Config struct {
	// DesktopDir is snapd's directory of snap desktop files; empty means
	// DefaultDesktopDir.
	DesktopDir string
	// Asker puts questions to the user; nil means NewAsker().
	Asker Asker
	// IdleTimeout is how long Serve waits without a call in progress before it
	// returns; zero means DefaultIdleTimeout, negative never.
	IdleTimeout time.Duration
	Logger      *slog.Logger
}

// Service is the state the three objects share: the bus connection, who may call,
// the calls in progress and the xdg-open processes running.
type Service struct {
	conn       *dbus.Conn
	desktopDir string
	asker      Asker
	activity   *idle.Tracker
	idleFor    time.Duration
	log        *slog.Logger
	uid        uint32
	children   children
	// questions are the questions to the user open; identifying the callers being
	// identified; commands the external commands running (limits.go).
	questions   questions
	identifying *bound
	commands    *bound
	limitLog    limitLog
	// base is the context of every call; Serve cancels it when asked to exit.
	base        context.Context
	cancelCalls context.CancelFunc
	// calls are the calls in progress, which the exit waits for (drain).
	calls drain.Counter
}

// New returns the service of cfg; Export puts it on a connection.
func New(cfg Config) *Service {
	timeout := cfg.IdleTimeout
	if timeout == 0 {
		timeout = DefaultIdleTimeout
	}
	s := &Service{
		desktopDir:  cfg.DesktopDir,
		asker:       cfg.Asker,
		activity:    idle.NewTracker(timeout),
		idleFor:     timeout,
		log:         cfg.Logger,
		uid:         uint32(os.Getuid()),
		questions:   questions{max: maxQuestions},
		identifying: identifyingBound(maxIdentifying, maxIdentifyingPerSender),
		commands:    commandsBound(maxCommands, maxCommandsPerSnap),
	}
	s.base, s.cancelCalls = context.WithCancel(context.Background())
	if s.desktopDir == "" {
		s.desktopDir = DefaultDesktopDir
	}
	if s.asker == nil {
		s.asker = NewAsker()
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s
}

// object is what each exported object tells about itself.
type object interface {
	Interface() string
	ObjectPath() dbus.ObjectPath
	IntrospectionData() string
	// methods maps D-Bus method names to the object's methods. A table, not
	// conn.Export: finding methods by name through reflection would keep every
	// exported method of the whole binary, the agent's included, alive (and
	// resident).
	methods() map[string]any
}

// Objects are the service's objects, in the order snapd exports them.
func (s *Service) Objects() []object {
	return []object{&Launcher{s}, &PrivilegedDesktopLauncher{s}, &Settings{s}}
}

// BusNames are the well-known names of the service, one per object interface.
func BusNames() []string {
	var names []string
	for _, o := range (&Service{}).Objects() {
		names = append(names, o.Interface())
	}
	return names
}

// introspectableXML describes org.freedesktop.DBus.Introspectable itself (the D-Bus
// specification's interface), written here rather than taken from godbus's introspect
// package, which would bring encoding/xml into the binary for one constant.
const introspectableXML = `<interface name="org.freedesktop.DBus.Introspectable">
	<method name="Introspect">
		<arg name="out" direction="out" type="s"/>
	</method>
</interface>`

// Export exports every object on conn with its introspection data (and
// org.freedesktop.DBus.Peer, which godbus answers itself); the service then works on
// conn. Call it before the names are requested, so that the first call after
// activation finds its object.
func (s *Service) Export(conn *dbus.Conn) error {
	s.conn = conn
	for _, o := range s.Objects() {
		if err := s.conn.ExportMethodTable(o.methods(), o.ObjectPath(), o.Interface()); err != nil {
			return fmt.Errorf("cannot export %s: %w", o.Interface(), err)
		}
		node := `<node>` + introspectableXML + o.IntrospectionData() + `</node>`
		introspect := func() (string, *dbus.Error) { return node, nil }
		if err := s.conn.ExportMethodTable(map[string]any{"Introspect": introspect}, o.ObjectPath(),
			"org.freedesktop.DBus.Introspectable"); err != nil {
			return fmt.Errorf("cannot export the introspection of %s: %w", o.Interface(), err)
		}
	}
	return nil
}

// call runs one method for sender: it counts as activity until it returns, the
// caller is identified with its snap (no more than maxIdentifying at once,
// maxIdentifyingPerSender per connection) and must be this
// user, and the error (if any) becomes the D-Bus error: a refusal's own (AccessDenied,
// InvalidArgs, LimitsExceeded), Failed for the rest.
func (s *Service) call(sender dbus.Sender, method func(ctx context.Context, c *Caller) error) *dbus.Error {
	s.activity.Begin()
	defer s.activity.End()
	// Never closed: a call that arrives once the names are released was routed here
	// before, and is served.
	s.calls.Begin()
	defer s.calls.End()
	ctx := s.base
	err := func() error {
		leave, err := s.identifying.enter(string(sender))
		if err != nil {
			return err
		}
		c, err := identify(ctx, s.conn, sender)
		leave()
		if err != nil {
			return err
		}
		if c.UID != s.uid {
			return denied("cannot serve user %d: this service acts for user %d", c.UID, s.uid)
		}
		return method(ctx, c)
	}()
	if err == nil {
		return nil
	}
	var r *refusal
	if !errors.As(err, &r) {
		s.log.Info("call failed", "sender", string(sender), "err", err)
		return dbus.MakeFailedError(err)
	}
	if r.name == errLimitsExceeded {
		s.limitLog.note(s.log, string(sender), err)
	} else {
		s.log.Info("call refused", "sender", string(sender), "err", err)
	}
	return dbus.NewError(r.name, []any{err.Error()})
}

// drain waits, up to maxDrain, until no call is in progress and none has begun or
// ended for settle (a reply is sent after its method returns, and a call routed here
// before the release may not have begun yet).
func (s *Service) drain() {
	ctx, cancel := context.WithTimeout(context.Background(), maxDrain)
	defer cancel()
	if err := s.calls.Quiet(ctx, settle); err != nil {
		s.log.Info("exiting with calls in progress", "waited", maxDrain)
	}
}

// children are the xdg-open processes running, for the loop check.
type children struct {
	mu   sync.Mutex
	pids map[int]bool
}

func (c *children) add(pid int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pids == nil {
		c.pids = make(map[int]bool)
	}
	c.pids[pid] = true
}

func (c *children) remove(pid int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.pids, pid)
}

// maxAncestors bounds the walk up the process tree.
const maxAncestors = 64

// isAncestor says whether one of the children is pid or one of its ancestors.
func (c *children) isAncestor(pid int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := 0; i < maxAncestors && pid > 1 && len(c.pids) > 0; i++ {
		if c.pids[pid] {
			return true
		}
		st, err := procfs.ReadStat(pid)
		if err != nil {
			return false
		}
		pid = st.PPID
	}
	return false
}
