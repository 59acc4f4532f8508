package clienttest

import (
	"context"
	"io"
	"net"
	"path/filepath"
	"time"

	"github.com/snapcore-ng/usersession-agent/desktop/notification"
	"github.com/snapcore-ng/usersession-agent/internal/logger"
	"github.com/snapcore-ng/usersession-agent/sessionagent"
)

// AgentVersion is the version the real agents run here report.
const AgentVersion = "fake-1.0"

// Behaviours of this project's agent, package sessionagent itself, run with this
// package's fake backends (Services, Notifications); the other behaviours are hand
// written (snapd's dialects, and hostile ones).
const (
	// Real is the agent with the fake backends as they are.
	Real = "real"
	// StatusExtra answers service-status with the last unit asked replaced by a
	// unit nobody asked for (Services.ExtraStatus).
	StatusExtra = "status-extra"
	// NotifyEager answers a notification's post "shown", and every poll of it at
	// once, still "shown", whatever wait the poll asked for.
	NotifyEager = "notify-eager"
	// NotifyBogusAction answers a notification's post "shown", and every poll with
	// the action BogusAction, which no client offers.
	NotifyBogusAction = "notify-bogus-action"
)

// BogusAction is the action NotifyBogusAction says the user chose.
const BogusAction = "rm-rf"

// agents are the configurations of the behaviours of the real agent, each made anew
// for each agent (the fakes keep state).
var agents = map[string]func() sessionagent.Config{
	Real:        func() sessionagent.Config { return sessionagent.Config{} },
	StatusExtra: func() sessionagent.Config { return sessionagent.Config{Services: &Services{ExtraStatus: true}} },
	NotifyEager: func() sessionagent.Config {
		return sessionagent.Config{Notifications: &Notifications{Answer: func(st notification.Status) notification.Status { return st }}}
	},
	NotifyBogusAction: func() sessionagent.Config {
		return sessionagent.Config{Notifications: &Notifications{Answer: func(st notification.Status) notification.Status {
			st.State, st.Action = notification.StateAction, BogusAction
			return st
		}}}
	},
}

// AgentConfig completes cfg for the real agent served on socket here: version
// AgentVersion, the fake backends cfg lacks, no idle exit, no session bus and no log
// unless cfg says otherwise.
//
// A fleet has no socket activation to start the next agent on the same socket, so its
// agents never exit on idle (and so ignore the exit hint, wire.HeaderExitWhenIdle:
// the agent's own tests and the integration tests cover it); agent-exit ends them.
func AgentConfig(cfg sessionagent.Config, socket string) sessionagent.Config {
	if cfg.Version == "" {
		cfg.Version = AgentVersion
	}
	if cfg.Services == nil {
		cfg.Services = &Services{}
	}
	if cfg.Notifications == nil {
		cfg.Notifications = &Notifications{}
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = -1
	}
	if cfg.SessionBusAddress == "" {
		// Never the bus of whoever runs the tests: the fakes need none.
		cfg.SessionBusAddress = "unix:path=" + filepath.Join(filepath.Dir(socket), "no-session-bus")
	}
	if cfg.Logger == nil {
		cfg.Logger = logger.New(io.Discard, false)
	}
	return cfg
}

// ServeAgent runs the real agent with cfg (completed by AgentConfig) on socket from
// this test process, whatever uid it runs as; it stops when the test ends.
func (f *Fleet) ServeAgent(socket string, cfg sessionagent.Config) {
	f.t.Helper()
	l, err := net.Listen("unix", socket)
	if err != nil {
		f.t.Fatal(err)
	}
	cfg = AgentConfig(cfg, socket)
	cfg.Listener = l
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sessionagent.Run(ctx, cfg) }()
	f.t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				f.t.Errorf("the agent on %s: %v", socket, err)
			}
		case <-time.After(time.Minute):
			f.t.Errorf("the agent on %s did not stop", socket)
		}
	})
}

// runAgent serves l with the real agent of behaviour (see agents) until it exits.
func runAgent(l net.Listener, behaviour string) error {
	cfg := AgentConfig(agents[behaviour](), l.Addr().String())
	cfg.Listener = l
	return sessionagent.Run(context.Background(), cfg)
}
