package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// SessionError is the error of one session's outcome: what was attempted, for which
// uid, and the typed cause, reachable with errors.As. Each typed cause says its own
// Kind ([KindOf]): [AgentError], [TimeoutError], [TransportError], [IdentityError],
// [UnsafeSocketError], [NoAgentError], [InvalidResponseError], [UnsupportedError],
// and the repair's [NoSessionError], [RepairError] and [ManagerIdentityError].
type SessionError struct {
	UID int
	// Op says what was attempted, as in "cannot <Op> for uid N", e.g. "stop units".
	Op  string
	Err error
}

func (e *SessionError) Error() string {
	if e.UID < 0 {
		return fmt.Sprintf("cannot %s: %v", e.Op, e.Err)
	}
	return fmt.Sprintf("cannot %s for uid %d: %v", e.Op, e.UID, e.Err)
}

func (e *SessionError) Unwrap() error { return e.Err }

// AgentError is an error the agent itself answered with.
type AgentError struct {
	// Status is the HTTP status of the answer.
	Status int
	// AgentKind is the agent's error kind (wire.ErrorKind*); empty from snapd 2.57
	// agents.
	AgentKind string
	Message   string
	// Value is the error's value as sent, or nil.
	Value json.RawMessage
	// Failures holds the per-unit (or per-snap) reasons of service-control,
	// service-status and app-control errors: value key ("stop-errors", ...) ->
	// unit -> reason. Nil when the value carries none.
	Failures map[string]map[string]string
}

// Kind is KindAgentError.
func (*AgentError) Kind() Kind { return KindAgentError }

func (e *AgentError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = fmt.Sprintf("agent answered with an error (HTTP status %d)", e.Status)
	}
	if len(e.Failures) == 0 {
		return msg
	}
	// The message alone ("some user services failed to stop") does not say which
	// units; name them, in a stable order.
	var parts []string
	for _, key := range slices.Sorted(maps.Keys(e.Failures)) {
		for _, unit := range slices.Sorted(maps.Keys(e.Failures[key])) {
			parts = append(parts, fmt.Sprintf("%s: %s", unit, e.Failures[key][unit]))
		}
	}
	return msg + " (" + strings.Join(parts, "; ") + ")"
}

// FailedUnits returns the units (or snaps) named by the error's per-unit failures,
// sorted, each once.
func (e *AgentError) FailedUnits() []string {
	seen := map[string]bool{}
	var units []string
	for _, m := range e.Failures {
		for unit := range m {
			if !seen[unit] {
				seen[unit] = true
				units = append(units, unit)
			}
		}
	}
	slices.Sort(units)
	return units
}

// Call phases a timeout can happen in.
const (
	PhaseConnect = "connect"
	PhaseHeaders = "response headers"
	PhaseBody    = "response body"
	// PhaseQueued: the caller's deadline passed before the call could start,
	// while it waited for one of the Concurrency slots.
	PhaseQueued = "a free call slot"
)

// TimeoutError says the agent did not answer within a deadline.
type TimeoutError struct {
	// Phase is what the client was waiting for (Phase*).
	Phase string
	// Limit is the deadline that expired, measured from the start of the call for
	// the whole-call deadline.
	Limit time.Duration
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("agent did not answer within %v (waiting for %s)", e.Limit, e.Phase)
}

// Kind is KindTimeout.
func (*TimeoutError) Kind() Kind { return KindTimeout }

// Timeout reports true, so that TimeoutError satisfies net.Error-style checks.
func (e *TimeoutError) Timeout() bool { return true }

// TransportError is a failure to connect to the agent or to exchange the request and
// answer with it, other than a timeout (for instance the agent died mid-answer, or
// the caller cancelled the context).
type TransportError struct {
	// Op is "connect", "send request" or "read response" (the request was sent in
	// full; Err is ErrClosedBeforeAnswer when the agent hung up before answering).
	Op  string
	Err error
}

func (e *TransportError) Error() string { return fmt.Sprintf("cannot %s: %v", e.Op, e.Err) }
func (e *TransportError) Unwrap() error { return e.Err }

// Kind is KindTransportError, unless the cause says a kind of its own: the dial's
// *UnsafeSocketError when the socket was swapped after discovery is why nothing was
// sent.
func (e *TransportError) Kind() Kind {
	if k, ok := errors.AsType[kinded](e.Err); ok {
		return k.Kind()
	}
	return KindTransportError
}

// IdentityError says the process serving the socket is not the session's user: the
// client hung up before sending anything.
type IdentityError struct {
	PeerUID, PeerPID int
}

func (e *IdentityError) Error() string {
	return fmt.Sprintf("socket is served by uid %d (pid %d), not by the session's user", e.PeerUID, e.PeerPID)
}

// Kind is KindRefused.
func (*IdentityError) Kind() Kind { return KindRefused }

// UnsafeSocketError says the client would not use a socket path, because it, or its
// directory, could have been placed or replaced by someone other than the user.
type UnsafeSocketError struct {
	Path   string
	Reason string
	// Manager: the socket is the user manager's private socket, not the agent's.
	Manager bool
}

func (e *UnsafeSocketError) Error() string {
	what := "agent socket"
	if e.Manager {
		what = "user manager socket"
	}
	return fmt.Sprintf("unsafe %s %s: %s", what, e.Path, e.Reason)
}

// Kind is KindUnsafeSocket.
func (*UnsafeSocketError) Kind() Kind { return KindUnsafeSocket }

// UnsupportedError says the agent does not know an option of the request (an older
// snapd's agent would ignore it): nothing was sent beyond session-info.
type UnsupportedError struct {
	// Version is the agent's version, as session-info gave it.
	Version string
	// Option is the option it does not know ("disable").
	Option string
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("the session agent (version %q) does not support %s", e.Version, e.Option)
}

// Kind is KindUnsupported.
func (*UnsupportedError) Kind() Kind { return KindUnsupported }

// NoAgentError says a requested user has no agent socket.
type NoAgentError struct {
	Path string
}

func (e *NoAgentError) Error() string {
	return fmt.Sprintf("no session agent (no socket at %s)", e.Path)
}

// Kind is KindNoAgent.
func (*NoAgentError) Kind() Kind { return KindNoAgent }

// InvalidResponseError says the agent answered something that is not a valid answer:
// not JSON, not the envelope, a result of the wrong shape, or too large (then Err is
// a *ResponseTooLargeError). Reason or Err may be empty.
type InvalidResponseError struct {
	Status int
	Reason string
	Err    error
}

func (e *InvalidResponseError) Error() string {
	s := fmt.Sprintf("invalid response (HTTP status %d)", e.Status)
	for _, part := range []string{e.Reason, errString(e.Err)} {
		if part != "" {
			s += ": " + part
		}
	}
	return s
}

func (e *InvalidResponseError) Unwrap() error { return e.Err }

// Kind is KindInvalidResponse.
func (*InvalidResponseError) Kind() Kind { return KindInvalidResponse }

// ResponseTooLargeError says the answer exceeded the client's size cap; the client
// stopped reading at the cap.
type ResponseTooLargeError struct {
	Limit int64
}

func (e *ResponseTooLargeError) Error() string {
	return fmt.Sprintf("response larger than %d bytes", e.Limit)
}

// Kind is KindInvalidResponse: an answer over the cap is no valid answer.
func (*ResponseTooLargeError) Kind() Kind { return KindInvalidResponse }

// IsRefused reports whether root refused to talk to a session because of who serves
// or owns a socket: the agent's or the user manager's process is not the user's
// (KindRefused: *IdentityError, *ManagerIdentityError), or the agent's socket could
// have been placed by someone else (KindUnsafeSocket).
func IsRefused(err error) bool {
	k := KindOf(err)
	return k == KindRefused || k == KindUnsafeSocket
}

// IsNoAgent reports whether err is, or wraps, a *NoAgentError.
func IsNoAgent(err error) bool {
	var e *NoAgentError
	return errors.As(err, &e)
}

// IsTooLarge reports whether err is, or wraps, a *ResponseTooLargeError.
func IsTooLarge(err error) bool {
	var e *ResponseTooLargeError
	return errors.As(err, &e)
}

// AsAgentError returns the *AgentError err is or wraps, if any.
func AsAgentError(err error) (*AgentError, bool) {
	var e *AgentError
	ok := errors.As(err, &e)
	return e, ok
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
