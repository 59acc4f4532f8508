package client

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/snapcore-ng/usersession-agent/systemd"
)

// The agent's units, as `make install` and snapd's packaging name them.
const (
	AgentSocketUnit  = "snapd.session-agent.socket"
	AgentServiceUnit = "snapd.session-agent.service"
)

// UnitState is a unit's state as its manager reports it.
type UnitState struct {
	LoadState   string `json:"load-state"`
	ActiveState string `json:"active-state"`
	SubState    string `json:"sub-state"`
	// Result is the unit's Result property ("success", "start-limit-hit"...).
	Result string `json:"result"`
}

// String reads like systemctl status: "not-found, active (listening)", with the
// result when it is not success.
func (s UnitState) String() string {
	out := fmt.Sprintf("%s, %s (%s)", s.LoadState, s.ActiveState, s.SubState)
	if s.Result != "" && s.Result != "success" {
		out += ", result " + s.Result
	}
	return out
}

// RepairResult says what was wrong with a user's agent and what was done: the
// socket unit's failed state reset and the socket unit restarted, in that user's
// manager.
type RepairResult struct {
	// Cause is how the agent could not be reached.
	Cause string `json:"cause"`
	// Before and After are the socket unit's states around the repair.
	Before UnitState `json:"before"`
	After  UnitState `json:"after"`
}

// NoSessionError says an agent socket was left behind by a session that is gone:
// nothing listens on it and the user has no manager either.
type NoSessionError struct {
	// Cause is the agent's connection error; Manager why the manager was not reached.
	Cause, Manager error
}

func (e *NoSessionError) Error() string {
	return fmt.Sprintf("no session (agent socket left behind: %v; %v)", e.Cause, e.Manager)
}

func (e *NoSessionError) Unwrap() error { return e.Cause }

// Kind is KindNoSession, whatever the agent's connection said.
func (*NoSessionError) Kind() Kind { return KindNoSession }

// RepairError says an agent could not be reached although its user's manager runs,
// and repairing it failed (Err), or was not tried (Err nil: Options.RepairAgents
// is off, or the socket unit is masked). Err may carry what the user's manager sent
// (a D-Bus error's text, up to managerMaxMessage): its text is cut to maxManagerRunes
// in Error, as the manager's states are, so that JSON carries no more of it than the
// table.
type RepairError struct {
	Cause error
	Err   error
}

func (e *RepairError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("%v (the user's manager runs; the agent socket needs repair: snap sessions repair)", e.Cause)
	}
	return fmt.Sprintf("%v, and cannot repair it: %s", e.Cause, shorten(e.Err.Error(), maxManagerRunes))
}

func (e *RepairError) Unwrap() []error { return []error{e.Cause, e.Err} }

// Kind is KindBrokenAgent, or KindRefused when root refused what it met on the way to
// the manager (a *ManagerIdentityError): that, not the agent, is what failed.
func (e *RepairError) Kind() Kind {
	if KindOf(e.Err) == KindRefused {
		return KindRefused
	}
	return KindBrokenAgent
}

// unreachable reports whether err says the agent socket is broken rather than the
// agent: nothing listens on it (ECONNREFUSED), or it is gone (ENOENT, NoAgentError).
// An agent that answers slowly or wrongly is not repaired by restarting its socket.
func unreachable(err error) bool {
	var te *TransportError
	if errors.As(err, &te) && te.Op == "connect" {
		return errors.Is(te.Err, syscall.ECONNREFUSED) || errors.Is(te.Err, syscall.ENOENT)
	}
	return IsNoAgent(err)
}

// reach is the fan-out's one way to a session's agent (see settle): it makes attempt,
// one exchange with s's agent, and when the agent's socket is broken tells a gone
// session from a broken agent and repairs the latter. It returns what was repaired
// (nil if nothing) and attempt's typed error, or why attempt was not made.
//
// A session with a Cause is not attempted: the Cause is its error, except a
// *NoAgentError (a uid asked for, or found by the repair scan, without a socket) when
// Options.RepairAgents is on, which is repaired if the user's manager runs. A session
// whose socket nothing listens on, or that is gone (see unreachable), is told apart:
// without a manager it is a *NoSessionError; with one, its socket unit is reset and
// restarted in that manager when Options.RepairAgents is on (a *RepairError otherwise,
// or when the repair fails), and attempt made again, once, on the socket as discovery
// finds it anew.
//
// Telling the cases apart sends nothing to the user's manager (see managers.find),
// and nothing at all is sent to a process that is not that manager: that is a
// failure naming it, never "no session".
func (c *Client) reach(ctx context.Context, ms *managers, s Session, attempt func(context.Context, Session) error) (*RepairResult, error) {
	err := s.Cause
	switch _, noSocket := err.(*NoAgentError); {
	case err == nil:
		if err = attempt(ctx, s); err == nil || !unreachable(err) {
			return nil, err
		}
	case !noSocket || !c.opts.RepairAgents:
		return nil, err
	}
	// Telling the cases apart and repairing get a whole-call deadline of their own;
	// the attempt made again afterwards has its own deadlines.
	rctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	conn, merr := ms.find(rctx, s.UID)
	if merr != nil {
		var nm *NoManagerError
		switch {
		case errors.As(merr, &nm) && s.Cause == nil:
			return nil, &NoSessionError{Cause: err, Manager: merr}
		case errors.As(merr, &nm):
			// No socket and no manager: the user has no session, which the caller
			// asked about by uid.
			return nil, err
		}
		return nil, &RepairError{Cause: err, Err: merr}
	}
	if !c.opts.RepairAgents {
		conn.Close()
		return nil, &RepairError{Cause: err}
	}
	m, merr := ms.connect(rctx, s.UID, conn)
	if merr != nil {
		return nil, &RepairError{Cause: err, Err: merr}
	}
	defer m.Close()
	rep, rerr := repairSocket(rctx, m, err)
	if rerr != nil {
		return rep, &RepairError{Cause: err, Err: rerr}
	}
	// The restarted socket goes through discovery's checks again before root
	// connects to it.
	again, _ := c.discoverOne(strconv.Itoa(s.UID), true)
	if again.Cause != nil {
		return rep, again.Cause
	}
	return rep, attempt(ctx, again)
}

// repairSocket resets the failed state of the agent's units and restarts its socket
// unit, as `systemctl --user reset-failed` and `restart` would: a socket unit whose
// file was removed and reloaded (Loaded: not-found, its listening socket closed), or
// that failed by its start limit, listens again only once restarted. A masked socket
// unit is left alone: someone chose to turn the agent off.
func repairSocket(ctx context.Context, m *systemd.Manager, cause error) (*RepairResult, error) {
	rep := &RepairResult{Cause: cause.Error()}
	var err error
	if rep.Before, err = socketState(ctx, m); err != nil {
		return nil, err
	}
	if rep.Before.LoadState == "masked" {
		return rep, fmt.Errorf("%s is masked", AgentSocketUnit)
	}
	for _, unit := range []string{AgentSocketUnit, AgentServiceUnit} {
		if err := m.ResetFailed(ctx, unit); err != nil && !errors.Is(err, systemd.ErrNoSuchUnit) {
			return rep, err
		}
	}
	restartErr := m.Restart(ctx, AgentSocketUnit)
	rep.After, err = socketState(ctx, m)
	if restartErr != nil {
		return rep, restartErr
	}
	if err != nil {
		return rep, err
	}
	return rep, nil
}

// socketState reads the agent socket unit's state: the four properties it shows,
// each cut to maxManagerRunes.
func socketState(ctx context.Context, m *systemd.Manager) (UnitState, error) {
	props, err := m.Properties(ctx, AgentSocketUnit,
		systemd.UnitProp("LoadState"), systemd.UnitProp("ActiveState"), systemd.UnitProp("SubState"),
		systemd.Prop{Iface: "Socket", Name: "Result"})
	if err != nil {
		return UnitState{}, err
	}
	str := func(name string) string { s, _ := props[name].(string); return shorten(s, maxManagerRunes) }
	return UnitState{LoadState: str("LoadState"), ActiveState: str("ActiveState"), SubState: str("SubState"), Result: str("Result")}, nil
}

// maxManagerRunes bounds, in runes, each field of a UnitState and the text of why a
// repair failed (RepairError), as the table bounds what it prints of an agent's or a
// manager's text (cmd/snap: 200 runes): a manager's states are short words and its
// errors a line, and JSON carries no more of them than the table.
const maxManagerRunes = 200

// shorten cuts s to n runes, ending with "…" when it was cut, and replaces bytes that
// are not UTF-8.
func shorten(s string, n int) string {
	s = strings.ToValidUTF8(s, "\ufffd")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}
