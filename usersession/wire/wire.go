// Package wire holds the JSON types spoken between root-side clients and the user
// session agent. Both sides import it, so neither depends on the other. The types and
// field names match snapd's session agent, so snapd's client can talk to this agent and
// this project's client to snapd's agent.
package wire

import "encoding/json"

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
	// the request's deadline.
	ErrorKindManagerTimeout = "systemd-timeout"
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
)

// SocketName is the name of the agent's socket in the user's runtime directory
// ($XDG_RUNTIME_DIR, /run/user/UID), as in snapd.
const SocketName = "snapd-session-agent.socket"

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
// agent answers null; this agent says which units had to be killed to stop.
type ServiceControlResult struct {
	Killed []string `json:"killed,omitempty"`
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

// AppInstruction is the body of POST /v1/app-control.
type AppInstruction struct {
	Action string `json:"action"`
	// Snaps are snap instance names ("foo" or "foo_bar").
	Snaps []string `json:"snaps"`
	// Signal is a signal name ("SIGTERM", "TERM") or number; the default is SIGTERM.
	Signal string `json:"signal,omitempty"`
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
