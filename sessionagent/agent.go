package sessionagent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/snapcore-ng/usersession-agent/desktop/desktopentry"
	"github.com/snapcore-ng/usersession-agent/desktop/snaprefresh"
	"github.com/snapcore-ng/usersession-agent/internal/idle"
	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

// writeGrace is how long after Config.RequestTimeout an answer may take to be written.
const writeGrace = 5 * time.Second

// Agent is one run of the session agent.
type Agent struct {
	cfg      Config
	log      *slog.Logger
	uid      uint32
	routes   map[string]*Command
	features []string
	// sessionInfo is the session-info answer, encoded on its first call.
	sessionInfo func() Response
	idle        *idle.Tracker
	work        *serviceWork
	bus         sessionBus
	// refreshLookup finds the names and icons of busy apps for refresh
	// notifications.
	refreshLookup snaprefresh.Lookup
	// exit receives the reason of an exit request; one is enough.
	exit    chan string
	running atomic.Bool
	// exiting ends when the agent stops accepting connections to exit; long polls
	// answer then (see longPoll).
	exiting     context.Context
	stopWaiting context.CancelFunc
}

// New returns an agent with the endpoints of the package; Handle may add more before
// Run.
func New(cfg Config) *Agent {
	cfg = cfg.withDefaults()
	exiting, stopWaiting := context.WithCancel(context.Background())
	a := &Agent{
		exiting:     exiting,
		stopWaiting: stopWaiting,
		cfg:         cfg,
		log:         cfg.Logger,
		uid:         uint32(os.Getuid()),
		routes:      newRoutes(),
		idle:        idle.NewTracker(cfg.IdleTimeout),
		bus:         sessionBus{ready: make(chan struct{})},
		refreshLookup: snaprefresh.Lookup{
			DesktopDir: cfg.DesktopDir,
			Locale:     desktopentry.Locale(os.Getenv),
		},
		exit: make(chan string, 1),
		work: newServiceWork(),
	}
	a.sessionInfo = sync.OnceValue(a.encodeSessionInfo)
	if n := cfg.Notifications; n != nil {
		a.idle.AddSource(n.BusyUntil)
	}
	return a
}

// Run runs an agent with cfg until it is idle, asked to exit, or ctx ends (SIGTERM);
// see (*Agent).Run.
func Run(ctx context.Context, cfg Config) error {
	return New(cfg).Run(ctx)
}

// Run serves until the agent has been idle for Config.IdleTimeout (or is idle after a
// request that said it may exit then, see ServeHTTP), a client asks it to exit, or ctx
// ends, then drains the requests in progress (for at most
// Config.ShutdownTimeout), resets the start limit of its unit (see forgetStart) and
// returns nil. It returns an error when the agent cannot start or its listener fails.
// An agent runs once.
func (a *Agent) Run(ctx context.Context) error {
	if !a.running.CompareAndSwap(false, true) {
		return errors.New("cannot run the session agent: it already ran")
	}
	a.features = features(a.routes)
	l, activated, err := a.listen()
	if err != nil {
		return err
	}
	conns := newConnLimiter(l, a.cfg.MaxConns, a.log)

	// Requests do not end with ctx: a signal drains them rather than cancelling
	// them. They end when the drain times out.
	baseCtx, cancelBase := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelBase()
	srv := &http.Server{
		Handler:           a,
		ReadHeaderTimeout: a.cfg.ReadHeaderTimeout,
		IdleTimeout:       a.cfg.KeepAliveTimeout,
		WriteTimeout:      a.cfg.RequestTimeout + writeGrace,
		MaxHeaderBytes:    a.cfg.MaxHeaderBytes,
		ConnContext:       withPeerCred,
		BaseContext:       func(net.Listener) context.Context { return baseCtx },
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelDebug),
		// Go's server answers "OPTIONS *" itself, before the handler and so before
		// the peer check; every request must go through that check.
		DisableGeneralOptionsHandler: true,
	}

	a.idle.Start()
	defer a.idle.Stop()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(conns) }()

	// The session bus is joined off the path of the first request, which a
	// socket-activated agent must answer within milliseconds; SessionBus waits for it.
	busCtx, releaseBus := context.WithCancel(baseCtx)
	var bus sync.WaitGroup
	bus.Go(func() { a.runBus(busCtx) })

	addr := l.Addr().String()
	a.log.Info("serving", "socket", addr, "activated", activated, "version", a.cfg.Version)
	sdNotify(a.log, "READY=1\nSTATUS=Serving on "+addr)

	var reason string
	var serveErr error
	select {
	case <-ctx.Done():
		reason = context.Cause(ctx).Error()
	case <-a.idle.Done():
		reason = fmt.Sprintf("idle for %v", a.cfg.IdleTimeout)
		if a.idle.TimeoutSkipped() {
			reason = "idle after a request with " + wire.HeaderExitWhenIdle + ": true"
		}
	case reason = <-a.exit:
	case err := <-served:
		serveErr = fmt.Errorf("cannot serve: %w", err)
		reason = serveErr.Error()
	}
	a.log.Info("exiting", "reason", reason)
	sdNotify(a.log, "STOPPING=1\nSTATUS=Exiting: "+reason)
	a.idle.Stop()
	// Releasing the name first lets D-Bus activation queue the next agent.
	releaseBus()
	a.leaveBus()
	a.shutdown(srv, conns, cancelBase)
	if serveErr == nil {
		// Serve has returned: the listener is closed.
		<-served
	}
	conns.wait()
	bus.Wait()
	if serveErr == nil {
		a.forgetStart()
	}
	return serveErr
}

// shutdown first waits for the service work in progress, which ends within its own
// deadline and must be answered: cut short, it would leave units half done. Until then
// the agent keeps accepting and answering every other call (new service work is
// refused), so that no call queues unanswered in the socket behind the work. It then
// stops accepting connections, waits for the requests in progress, and for the
// connections accepted but not read yet, to be answered, and closes the server. Long
// polls answer with their current state as soon as it stops accepting (see longPoll):
// a wait that does no work must not hold the exit, and the next agent, for up to the
// timeout. Past Config.ShutdownTimeout it cancels the requests left and closes their
// connections.
//
// It does not use (*http.Server).Shutdown: that waits for a connection accepted but not
// read yet, then drops the request it reads, which would lose the call that
// socket-activated the agent, or that came just as it decided to exit.
func (a *Agent) shutdown(srv *http.Server, conns *connLimiter, cancelRequests context.CancelFunc) {
	work := a.work.Close()
	select {
	case <-work:
	default:
		a.log.Info("waiting for the service work in progress, still answering other calls")
		<-work
	}
	timer := time.NewTimer(a.cfg.ShutdownTimeout)
	defer timer.Stop()
	drained := conns.drain()
	// Only now: a poll ended while the agent still accepts would be asked again
	// at once, and answered at once, in a loop until the work is done.
	a.stopWaiting()
	// Idle connections close now, the others after their answer.
	srv.SetKeepAlivesEnabled(false)
	select {
	case <-drained:
	case <-timer.C:
		a.log.Warn("requests still in progress at the shutdown timeout, closing their connections",
			"timeout", a.cfg.ShutdownTimeout)
		cancelRequests()
	}
	srv.Close()
}

// longPoll is the context of a request that only waits for something to happen (up to
// wait): it ends at wait, with the request, or as soon as the exiting agent stops
// accepting connections, so that the caller gets the current state at once and the
// drain is not held by a wait that does no work. The caller's next call queues in the
// socket and reaches the next agent (notification ids do not survive an exit).
func (a *Agent) longPoll(ctx context.Context, wait time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(ctx, wait)
	stop := context.AfterFunc(a.exiting, cancel)
	return ctx, func() {
		stop()
		cancel()
	}
}

// requestExit makes Run return; the first reason wins.
func (a *Agent) requestExit(reason string) {
	select {
	case a.exit <- reason:
	default:
	}
}
