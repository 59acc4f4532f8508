// Package wire holds the JSON types spoken between root-side clients and the user
// session agent. Both sides import it, so neither depends on the other. The types and
// field names match snapd's session agent, so snapd's client can talk to this agent and
// this project's client to snapd's agent.
//
// Version skew is the normal case, not an accident: during a snapd refresh a newer
// snapd talks to agents that still run the old binary until they exit. The rules, as
// snapd's agent has them: an agent ignores request fields it does not know (and says
// so in its debug log), so an older agent still carries out the part it understands;
// it still refuses a body with data after the JSON value or a key given twice, which
// are faults of the sender, not skew. A client sends a field added after the first
// release of an endpoint only to an agent whose session-info lists the feature that
// introduced it, because an older agent would ignore it and do something else than
// asked.
package wire

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Response types of the envelope.
const (
	ResponseTypeSync  = "sync"
	ResponseTypeError = "error"
)

// Response is the envelope of every answer: {"type": "sync", "result": ...} or
// {"type": "error", "result": {"message": ..., "kind": ..., "value": ...}}.
// StatusCode and Status repeat the HTTP status as snapd's main API does; snapd's
// session agent does not send them and its clients ignore them.
type Response struct {
	Type       string          `json:"type"`
	StatusCode int             `json:"status-code,omitempty"`
	Status     string          `json:"status,omitempty"`
	Result     json.RawMessage `json:"result"`
}

// ErrorResult is the result of an error response.
type ErrorResult struct {
	Message string `json:"message"`
	Kind    string `json:"kind,omitempty"`
	Value   any    `json:"value,omitempty"`
}

// Error kinds. The first three are snapd's; the others are this agent's additions for
// errors a client may want to branch on.
const (
	ErrorKindServiceControl = "service-control"
	ErrorKindServiceStatus  = "service-status"
	ErrorKindAppControl     = "app-control"

	ErrorKindBadRequest       = "bad-request"
	ErrorKindForbidden        = "forbidden"
	ErrorKindNotFound         = "not-found"
	ErrorKindMethodNotAllowed = "method-not-allowed"
	ErrorKindRequestTooLarge  = "request-too-large"
	ErrorKindUnsupportedMedia = "unsupported-media-type"
	ErrorKindInternal         = "internal-error"
	// ErrorKindTooManyConnections says the agent has as many connections open as it
	// allows; retrying later may succeed.
	ErrorKindTooManyConnections = "too-many-connections"
	// ErrorKindManagerTimeout says the user's systemd manager did not answer within
	// the request's deadline. An answer that names the units that failed keeps its
	// own kind (service-control...), where snapd's client reads them, and only its
	// HTTP status (504) tells the timeout.
	ErrorKindManagerTimeout = "systemd-timeout"
	// ErrorKindAgentExiting says the agent is exiting and starts no new service work
	// (503); the next call reaches a new agent.
	ErrorKindAgentExiting = "agent-exiting"
)

// Keys of the value of a service-control, service-status or app-control error: each
// maps a unit or snap name to the reason it failed.
const (
	StartErrorsKey   = "start-errors"
	StopErrorsKey    = "stop-errors"
	RestartErrorsKey = "restart-errors"
	StatusErrorsKey  = "status-errors"
	KillErrorsKey    = "kill-errors"
	// KilledKey lists, in a failed stop's value, the units that had to be killed.
	KilledKey = "killed"
	// NotLoadedKey lists, in a failed stop's value, the units that were not loaded
	// (and so counted as stopped).
	NotLoadedKey = "not-loaded"
)

// SocketName is the name of the agent's socket in the user's runtime directory
// ($XDG_RUNTIME_DIR, /run/user/UID), as in snapd.
const SocketName = "snapd-session-agent.socket"

// HeaderExitWhenIdle is the request header by which a client says that the agent may
// exit as soon as it is idle after this request, instead of lingering for its idle
// timeout: root's one-shot calls across many sessions send it so that the agents they
// socket-activated do not all stay for 30 s. Its only value is "true"; any other value
// is ignored, as is the header itself by snapd's agents (they ignore unknown headers),
// so it is safe to send to them. This project's own extension: snapd has nothing like
// it. The name has no "X-" prefix (RFC 6648).
const HeaderExitWhenIdle = "Snap-Agent-Exit-When-Idle"

// Endpoints of the agent.
const (
	PathSessionInfo    = "/v1/session-info"
	PathServiceControl = "/v1/service-control"
	PathServiceStatus  = "/v1/service-status"
	PathAppControl     = "/v1/app-control"
	PathAgentExit      = "/v1/agent-exit"
)

// SessionInfo answers GET /v1/session-info. snapd's agent sends only Version.
type SessionInfo struct {
	Version string `json:"version"`
	// UID and PID identify the agent process; absent from snapd's agent.
	UID      *int     `json:"uid,omitempty"`
	PID      int      `json:"pid,omitempty"`
	Features []string `json:"features,omitempty"`
}

// ServiceInstruction is the body of POST /v1/service-control.
type ServiceInstruction struct {
	Action   string   `json:"action"`
	Services []string `json:"services,omitempty"`

	// Enable, for "start": enable the units (and reload the manager) first.
	Enable bool `json:"enable,omitempty"`
	// Disable, for "stop": disable the units (and reload the manager) afterwards.
	Disable bool `json:"disable,omitempty"`
	// Reload, for "restart": reload-or-restart instead of restart.
	Reload bool `json:"reload,omitempty"`
}

// Service-control actions.
const (
	ActionStart        = "start"
	ActionStop         = "stop"
	ActionRestart      = "restart"
	ActionDaemonReload = "daemon-reload"
	// ActionReloadOrRestart is what snapd's older agents accepted as an action of its
	// own; it means restart with Reload set.
	ActionReloadOrRestart = "reload-or-restart"
)

// ServiceControlResult is the result of a successful POST /v1/service-control. snapd's
// agent answers null; this agent says how the stops went. Units are named by the
// entries of the request.
type ServiceControlResult struct {
	// Killed lists the units that did not stop in time and were killed.
	Killed []string `json:"killed,omitempty"`
	// NotLoaded lists the units a stop found not loaded: nothing of them ran, so they
	// are stopped (a snap's removal must not fail on them).
	NotLoaded []string `json:"not-loaded,omitempty"`
}

// ServiceUnitStatus is one entry of the answer to GET /v1/service-status. The first
// fields are snapd's; the last ones are this agent's additions.
type ServiceUnitStatus struct {
	Daemon           string   `json:"daemon"`
	ID               string   `json:"id"`
	Name             string   `json:"name"`
	Names            []string `json:"names"`
	Enabled          bool     `json:"enabled"`
	Active           bool     `json:"active"`
	Installed        bool     `json:"installed"`
	NeedDaemonReload bool     `json:"needs-reload"`

	ActiveState string `json:"active-state,omitempty"`
	SubState    string `json:"sub-state,omitempty"`
	LoadState   string `json:"load-state,omitempty"`
	MainPID     uint32 `json:"main-pid,omitempty"`
}

// AppInstruction is the body of POST /v1/app-control. snapd's client also sends a
// "reason" ("remove"), a hint this agent has no use for: as an unknown field it is
// ignored.
type AppInstruction struct {
	Action string `json:"action"`
	// Snaps are snap instance names ("foo" or "foo_bar").
	Snaps []string `json:"snaps"`
	// Signal is the signal to send; zero (absent) means the agent's default, SIGTERM.
	Signal Signal `json:"signal,omitempty"`
}

// App-control actions.
const (
	ActionKill = "kill"
)

// AppControlResult is the result of a successful POST /v1/app-control: the scopes
// signalled, per snap.
type AppControlResult struct {
	Scopes map[string][]string `json:"scopes,omitempty"`
}

// Signal is a signal number. It travels as a JSON number, as snapd's client sends it
// (a syscall.Signal) and as snapd's agent decodes it; it also decodes from a string
// naming the signal ("SIGKILL", "KILL") or giving its number ("9"), as this project's
// first clients sent it.
type Signal syscall.Signal

// MaxSignal is the highest signal number Linux knows (SIGRTMAX).
const MaxSignal = 64

// ParseSignal parses a signal given as a name with or without its "SIG" prefix
// ("SIGTERM", "TERM", case-insensitive) or a number between 1 and MaxSignal.
func ParseSignal(s string) (Signal, error) {
	if s == "" {
		return 0, fmt.Errorf("invalid signal: empty")
	}
	if n, err := strconv.Atoi(s); err == nil {
		sig := Signal(n)
		if err := sig.Check(); err != nil {
			return 0, err
		}
		return sig, nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	sig := unix.SignalNum(name)
	if sig == 0 {
		return 0, fmt.Errorf("invalid signal %q: unknown signal name", s)
	}
	return Signal(sig), nil
}

// Check says whether s is a signal that can be sent: 1 to MaxSignal.
func (s Signal) Check() error {
	if s < 1 || s > MaxSignal {
		return fmt.Errorf("invalid signal %d: numbers go from 1 to %d", int(s), MaxSignal)
	}
	return nil
}

// String names the signal ("SIGKILL"), or says "signal N" if it has no name.
func (s Signal) String() string {
	if name := unix.SignalName(syscall.Signal(s)); name != "" {
		return name
	}
	return "signal " + strconv.Itoa(int(s))
}

// UnmarshalJSON decodes a number (any integer: Check is the receiver's business) or a
// string ParseSignal accepts.
func (s *Signal) UnmarshalJSON(data []byte) error {
	var n int
	if err := json.Unmarshal(data, &n); err == nil {
		*s = Signal(n)
		return nil
	}
	var name string
	if err := json.Unmarshal(data, &name); err != nil {
		return fmt.Errorf("invalid signal %s: want a number or a name", data)
	}
	sig, err := ParseSignal(name)
	if err != nil {
		return err
	}
	*s = sig
	return nil
}
