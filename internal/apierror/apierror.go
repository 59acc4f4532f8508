// Package apierror is the error model of the session agent's API: the one error type
// that the agent and its service backend (sessionagent/control) return when a request
// fails. It knows nothing of HTTP: the agent maps an error's kind to an HTTP status in
// one table (sessionagent/errors.go), so a new backend picks a kind and returns an
// *Error without touching that table. (The notification backend keeps kinds of its
// own, as package desktop/notification knows nothing of the wire; a second table there
// turns them into wire kinds.)
//
// A backend plugs in like this (sessionagent/control does):
//
//	return nil, apierror.Errorf(wire.ErrorKindBadRequest, "unknown action %q", inst.Action)  // 400
//	return nil, &apierror.Error{Kind: wire.ErrorKindServiceControl, Message: msg, Value: perUnit, Err: cause}  // 500, with a value
//	return nil, &apierror.Error{Kind: kind, Message: msg, Err: errors.Join(apierror.ErrTimeout, err)}  // 504
//
// Well-known kinds (wire.ErrorKind*: bad-request, not-found, systemd-timeout, ...) have
// their own status; any other kind names a backend's failure and is answered 500.
// Wrapping ErrUnavailable says "not now": the answer is 503; wrapping ErrTimeout says
// "no answer in time": 504.
package apierror

import (
	"errors"
	"fmt"
)

// Error is a failed request as the agent answers it: the error kind (the wire's
// "kind", a wire.ErrorKind* or a backend's own short stable string such as
// "service-control"), the message (snapd style, "cannot ..."), and an optional value
// (a JSON-encodable detail such as per-unit errors keyed by wire.*ErrorsKey; nil for
// none). Err is the cause, for errors.Is/As and logs; it is not sent.
type Error struct {
	Kind    string
	Message string
	Value   any
	Err     error
}

func (e *Error) Error() string { return e.Message }

// Unwrap returns the cause, if any.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error of kind whose message is fmt.Sprintf(format, args...); an
// error wrapped with %w becomes its cause.
func Errorf(kind, format string, args ...any) *Error {
	err := fmt.Errorf(format, args...)
	return &Error{Kind: kind, Message: err.Error(), Err: errors.Unwrap(err)}
}

// ErrUnavailable, as the cause (or one of the causes) of an Error, says the request
// cannot be served now but may be later (no backend yet, the request was cancelled
// while it waited its turn, the session bus is not up): the agent answers 503 whatever
// the kind.
var ErrUnavailable = errors.New("service unavailable")

// ErrTimeout, as the cause (or one of the causes) of an Error, says what the backend
// depends on (the systemd manager, the notification server) did not answer in time:
// the agent answers 504 whatever the kind, so that a kind a client branches on (and
// the value it reads under that kind) can stay.
var ErrTimeout = errors.New("no answer in time")
