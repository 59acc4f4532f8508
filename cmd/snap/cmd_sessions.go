package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/jessevdk/go-flags"

	"github.com/snapcore-ng/usersession-agent/usersession/client"
	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

// envRuntimeDir points `snap sessions` at another runtime base directory than
// /run/user; tests use it to address fake agents. It is deliberately not in the help.
const envRuntimeDir = "SNAP_SESSION_AGENT_RUNTIME_DIR"

// cmdSessions groups the subcommands; go-flags requires one of them, so Execute is
// only reached if that ever changes.
type cmdSessions struct {
	List           cmdSessionsList           `command:"list" description:"List user sessions and their agents" long-description:"The list command shows, for every user session with a session agent (or for the users given with --users), the user, the agent's version, and whether the agent answered."`
	Exit           cmdSessionsExit           `command:"exit" description:"Tell session agents to exit" long-description:"The exit command tells the session agents to exit, for instance after the snap binary was upgraded; each is started again, from the new binary, when next needed."`
	Start          cmdSessionsStart          `command:"start" description:"Start user services in sessions" long-description:"The start command starts the given user units in every targeted user session. With --enable they are enabled first, so that they also start in later sessions."`
	Stop           cmdSessionsStop           `command:"stop" description:"Stop user services in sessions" long-description:"The stop command stops the given user units in every targeted user session. With --disable they are disabled afterwards, so that later sessions do not start them."`
	Restart        cmdSessionsRestart        `command:"restart" description:"Restart user services in sessions" long-description:"The restart command restarts the given user units in every targeted user session. With --reload, units that support reloading are reloaded instead."`
	DaemonReload   cmdSessionsDaemonReload   `command:"daemon-reload" description:"Reload user unit files in sessions" long-description:"The daemon-reload command makes the systemd user manager of every targeted session reload its unit files, as after installing or changing user units."`
	Status         cmdSessionsStatus         `command:"status" description:"Show the status of user services in sessions" long-description:"The status command shows, for every targeted user session, whether each given user unit is enabled and active."`
	Kill           cmdSessionsKill           `command:"kill" description:"Signal the running apps of snaps in sessions" long-description:"The kill command sends a signal (SIGTERM unless --signal says otherwise) to the running apps of the given snaps in every targeted user session."`
	Notify         cmdSessionsNotify         `command:"notify" description:"Show a desktop notification in sessions" long-description:"The notify command shows a desktop notification to every targeted user and reports its id in each session. With --action, it offers buttons; with --wait it waits for each user's answer and reports the action chosen, a dismissal, or no answer."`
	PendingRefresh cmdSessionsPendingRefresh `command:"pending-refresh" description:"Tell users that a snap refresh waits for its apps" long-description:"The pending-refresh command sends snapd's pending-refresh notification request for the given snap instance to every targeted session: the user is asked to close the app, and told when the snap will be refreshed anyway."`
	FinishRefresh  cmdSessionsFinishRefresh  `command:"finish-refresh" description:"Tell users that a snap was refreshed" long-description:"The finish-refresh command sends snapd's finish-refresh notification request for the given snap instance to every targeted session; it replaces the pending-refresh notification of that snap."`
	Repair         cmdSessionsRepair         `command:"repair" description:"Repair broken session agent sockets" long-description:"The repair command reaches the session agent of every targeted user and repairs the agent socket of those whose socket refuses connections or is gone while their systemd user manager runs: it resets the failed state of the agent's units and restarts its socket unit in that manager, then asks the agent again. It also finds, when no --users are given, user managers whose agent socket unit failed. With --no-repair it only reports what needs repair."`
}

func init() {
	addCommand("sessions", "Address the agents of user sessions", `
The sessions command lets root address the session agent of every logged-in
user, or of the users given with --users, and reports what each agent
answered.

Each agent is called with its own deadlines (--timeout sets the whole-call
one). One slow, broken or missing agent never hides the other sessions'
results; it makes the command exit with status 1 once everything is
reported. With --json the results are a JSON array with one object per
session: uid, user, ok, and result or error.

A socket is used only if it and its directory belong to the user, and only
if the process serving it runs as that user. Sessions whose socket fails
these checks are reported, never used.

A socket that refuses connections while its user has no systemd user manager
is what a session that is gone left behind: it is listed as "no session" and is
no failure. If the user's manager runs, the agent socket is broken: it is
repaired as "snap sessions repair" does, and the call made again, once, unless
--no-repair is given. Root talks to a user's manager only after checking that
the process serving its socket is the systemd --user the system started for that
user (where PID 1 is systemd: the main process of user@UID.service, as PID 1
says); a process that fails the check is sent nothing, and the session fails.

While more than 8 sessions are being called and stderr is a terminal, a
progress line ("42/200 sessions answered") is shown on stderr.`, func(*cmdEnv) flags.Commander { return &cmdSessions{} })
}

func (c *cmdSessions) Execute([]string) error {
	return fmt.Errorf("missing sessions subcommand")
}

// sessionsOptions are shared by every subcommand, which embeds them. Its env is set
// by the parser's command handler (see setEnv), for whichever subcommand runs.
type sessionsOptions struct {
	env *cmdEnv
	// lingerAgents is set by a subcommand whose effect a later command relies on
	// the same agent for (a refresh notification, replaced by id): its calls go
	// without the exit hint, so that the agents stay for their idle timeout. The
	// others are one-shot (a call's own follow-up requests are the client's
	// business: client.Options.ExitWhenIdle).
	lingerAgents bool

	Users    []string      `long:"users" value-name:"<user>[,<user>...]" description:"Address these users (names or uids; repeatable) instead of every session"`
	JSON     bool          `long:"json" description:"Print one JSON object per session instead of a table"`
	Timeout  time.Duration `long:"timeout" value-name:"<duration>" description:"Give each agent at most this long (e.g. 30s) instead of the default for the call"`
	NoRepair bool          `long:"no-repair" description:"Do not repair broken agent sockets (see snap sessions repair): report them as failures"`
}

func (o *sessionsOptions) setEnv(env *cmdEnv) { o.env = env }

type cmdSessionsList struct{ sessionsOptions }

func (c *cmdSessionsList) Execute(args []string) error {
	if err := noArgs(args); err != nil {
		return err
	}
	return runSessions(&c.sessionsOptions, (*client.Client).SessionInfo, table[wire.SessionInfo]{
		headers: []string{"Version", "State"},
		rows: func(info wire.SessionInfo) [][]string {
			return [][]string{{orDash(printable(info.Version)), "ok"}}
		},
	})
}

type cmdSessionsExit struct{ sessionsOptions }

func (c *cmdSessionsExit) Execute(args []string) error {
	if err := noArgs(args); err != nil {
		return err
	}
	return runSessions(&c.sessionsOptions, (*client.Client).AgentExit, table[struct{}]{
		headers: []string{"State"},
		rows:    func(struct{}) [][]string { return [][]string{{"exiting"}} },
	})
}

type unitArgs struct {
	Units []string `positional-arg-name:"<unit>" required:"1"`
}

type cmdSessionsStart struct {
	sessionsOptions
	Enable     bool     `long:"enable" description:"Enable the units before starting them"`
	Positional unitArgs `positional-args:"yes" required:"yes"`
}

func (c *cmdSessionsStart) Execute(args []string) error {
	state := "started"
	if c.Enable {
		state = "enabled, started"
	}
	return c.runControl(args, unitRows(c.Positional.Units, state), func(cl *client.Client, ctx context.Context, t client.Targets) (*client.Results[wire.ServiceControlResult], error) {
		return cl.ServicesStart(ctx, t, c.Positional.Units, c.Enable)
	})
}

type cmdSessionsStop struct {
	sessionsOptions
	Disable    bool     `long:"disable" description:"Disable the units after stopping them"`
	Positional unitArgs `positional-args:"yes" required:"yes"`
}

func (c *cmdSessionsStop) Execute(args []string) error {
	state := "stopped"
	if c.Disable {
		state = "stopped, disabled"
	}
	return c.runControl(args, unitRows(c.Positional.Units, state), func(cl *client.Client, ctx context.Context, t client.Targets) (*client.Results[wire.ServiceControlResult], error) {
		return cl.ServicesStop(ctx, t, c.Positional.Units, c.Disable)
	})
}

type cmdSessionsRestart struct {
	sessionsOptions
	Reload     bool     `long:"reload" description:"Reload units that support it instead of restarting them"`
	Positional unitArgs `positional-args:"yes" required:"yes"`
}

func (c *cmdSessionsRestart) Execute(args []string) error {
	state := "restarted"
	if c.Reload {
		state = "reloaded or restarted"
	}
	return c.runControl(args, unitRows(c.Positional.Units, state), func(cl *client.Client, ctx context.Context, t client.Targets) (*client.Results[wire.ServiceControlResult], error) {
		return cl.ServicesRestart(ctx, t, c.Positional.Units, c.Reload)
	})
}

type cmdSessionsDaemonReload struct{ sessionsOptions }

func (c *cmdSessionsDaemonReload) Execute(args []string) error {
	return c.runControl(args, table[wire.ServiceControlResult]{
		headers: []string{"State"},
		rows:    func(wire.ServiceControlResult) [][]string { return [][]string{{"reloaded"}} },
	}, (*client.Client).ServicesDaemonReload)
}

func (o *sessionsOptions) runControl(args []string, tbl table[wire.ServiceControlResult], call sessionsCall[wire.ServiceControlResult]) error {
	if err := noArgs(args); err != nil {
		return err
	}
	return runSessions(o, call, tbl)
}

// unitRows is the table of a successful start, stop or restart: one row per unit
// asked for, saying what was done to it (state), or "killed" for a unit the agent
// had to kill to stop, and "(not loaded)" after the state of a unit a stop found not
// loaded. An agent answers with success only when every unit reached
// its goal, so the units asked for are the units done.
func unitRows(units []string, state string) table[wire.ServiceControlResult] {
	return table[wire.ServiceControlResult]{
		headers: []string{"Unit", "State"},
		rows: func(res wire.ServiceControlResult) [][]string {
			rows := make([][]string, len(units))
			for i, unit := range units {
				st := state
				switch {
				case slices.Contains(res.Killed, unit):
					st = strings.Replace(state, "stopped", "killed", 1)
				case slices.Contains(res.NotLoaded, unit):
					st += " (not loaded)"
				}
				rows[i] = []string{printable(unit), st}
			}
			return rows
		},
	}
}

type cmdSessionsStatus struct {
	sessionsOptions
	Positional unitArgs `positional-args:"yes" required:"yes"`
}

func (c *cmdSessionsStatus) Execute(args []string) error {
	if err := noArgs(args); err != nil {
		return err
	}
	return runSessions(&c.sessionsOptions, func(cl *client.Client, ctx context.Context, t client.Targets) (*client.Results[[]wire.ServiceUnitStatus], error) {
		return cl.ServiceStatus(ctx, t, c.Positional.Units)
	}, table[[]wire.ServiceUnitStatus]{
		headers: []string{"Service", "Startup", "Current", "Notes"},
		rows: func(units []wire.ServiceUnitStatus) [][]string {
			var rows [][]string
			for _, u := range units {
				startup, current, notes := "disabled", "inactive", "-"
				if u.Enabled {
					startup = "enabled"
				}
				if u.Active {
					current = "active"
				}
				if u.ActiveState != "" && u.ActiveState != current {
					current = printable(u.ActiveState)
				}
				if !u.Installed {
					notes = "not-installed"
				} else if u.NeedDaemonReload {
					notes = "needs-reload"
				}
				rows = append(rows, []string{orDash(printable(u.Name)), startup, current, notes})
			}
			if len(rows) == 0 {
				rows = append(rows, []string{"-", "-", "-", "no units"})
			}
			return rows
		},
	})
}

type cmdSessionsKill struct {
	sessionsOptions
	Signal     string `long:"signal" value-name:"<signal>" description:"Signal to send (name or number; default SIGTERM)"`
	Positional struct {
		Snaps []string `positional-arg-name:"<snap>" required:"1"`
	} `positional-args:"yes" required:"yes"`
}

func (c *cmdSessionsKill) Execute(args []string) error {
	if err := noArgs(args); err != nil {
		return err
	}
	var sig wire.Signal
	if c.Signal != "" {
		var err error
		if sig, err = wire.ParseSignal(c.Signal); err != nil {
			return err
		}
	}
	return runSessions(&c.sessionsOptions, func(cl *client.Client, ctx context.Context, t client.Targets) (*client.Results[wire.AppControlResult], error) {
		return cl.KillApps(ctx, t, c.Positional.Snaps, sig)
	}, table[wire.AppControlResult]{
		headers: []string{"State"},
		rows: func(res wire.AppControlResult) [][]string {
			n := 0
			for _, scopes := range res.Scopes {
				n += len(scopes)
			}
			return [][]string{{fmt.Sprintf("ok (%d scopes signalled)", n)}}
		},
	})
}

func noArgs(args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("too many arguments for command")
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// sessionsCall is one client call across targets; its shape is that of the client's
// method expressions, such as (*client.Client).SessionInfo.
type sessionsCall[T any] func(*client.Client, context.Context, client.Targets) (*client.Results[T], error)

// runSessions resolves the targets, runs call once across them, and reports.
func runSessions[T any](o *sessionsOptions, call sessionsCall[T], tbl table[T]) error {
	// An interrupt ends the lookups and calls in flight; what was answered is still
	// reported.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	names := newUserNames()
	targets, err := o.targets(ctx, names)
	if err != nil {
		return err
	}

	prog := newProgress(o.env.stderr)
	cl := client.New(client.Options{
		RuntimeDir:   os.Getenv(envRuntimeDir),
		Progress:     prog.update,
		RepairAgents: !o.NoRepair,
		// Each subcommand is one call from root across sessions: the agents it
		// socket-activated need not linger for their idle timeout after it.
		ExitWhenIdle: !o.lingerAgents,
	}).WithTimeout(o.Timeout)
	res, err := call(cl, ctx, targets)
	prog.done()
	if err != nil {
		return err
	}
	// One batch for every uid in the results; without names the results are still
	// worth printing.
	if err := names.lookUp(ctx, res.UIDs()); err != nil {
		fmt.Fprintf(o.env.stderr, "warning: cannot name users: %v\n", err)
	}
	return report(o, res, tbl, names)
}

// targets turns --users into uids: names are looked up, numbers taken as uids.
func (o *sessionsOptions) targets(ctx context.Context, names *userNames) (client.Targets, error) {
	if len(o.Users) == 0 {
		return client.AllSessions(), nil
	}
	var uids []int
	for _, v := range o.Users {
		for _, u := range strings.Split(v, ",") {
			if u = strings.TrimSpace(u); u == "" {
				continue
			}
			uid, err := names.uid(ctx, u)
			if err != nil {
				return client.Targets{}, err
			}
			uids = append(uids, uid)
		}
	}
	if len(uids) == 0 {
		return client.Targets{}, fmt.Errorf("cannot use --users: no users given")
	}
	return client.UIDs(uids...), nil
}
