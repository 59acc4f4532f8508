package control

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

// Error is a failed instruction, with what the agent answers: the HTTP status, the
// error kind (wire.ErrorKind*), the message and the value (per-unit error maps keyed
// by wire.*ErrorsKey, or nil).
type Error struct {
	Status  int
	Kind    string
	Message string
	Value   any

	err error // the cause, if a single one, for errors.Is/As and logs
}

func (e *Error) Error() string { return e.Message }

// Unwrap returns the cause, if any.
func (e *Error) Unwrap() error { return e.err }

func badRequest(format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Kind: wire.ErrorKindBadRequest, Message: fmt.Sprintf(format, args...)}
}

// failure is a 500 of the given kind, or a 504 if err (or any of the per-unit errors)
// says the manager did not answer in time. A timed-out answer that carries per-unit
// errors (value) keeps its kind: snapd's client reads start-errors and stop-errors
// only under service-control (and status-errors, kill-errors under theirs), so under
// "systemd-timeout" the units that failed would be lost to it. One without per-unit
// errors is of kind "systemd-timeout".
func failure(kind, message string, value any, err error, unitErrs ...map[string]error) *Error {
	e := &Error{Status: http.StatusInternalServerError, Kind: kind, Message: message, Value: value, err: err}
	timedOut := isTimeout(err)
	for _, m := range unitErrs {
		for _, uerr := range m {
			timedOut = timedOut || isTimeout(uerr)
		}
	}
	if timedOut {
		e.Status = http.StatusGatewayTimeout
		if value == nil {
			e.Kind = wire.ErrorKindManagerTimeout
		}
		e.Message = message + ": the systemd manager did not answer in time"
	}
	return e
}

func isTimeout(err error) bool {
	return err != nil && errors.Is(err, context.DeadlineExceeded)
}

// waitError is the answer to a request that gave up waiting for another one.
func waitError(what string, err error) *Error {
	if errors.Is(err, context.DeadlineExceeded) {
		return &Error{
			Status:  http.StatusGatewayTimeout,
			Kind:    wire.ErrorKindManagerTimeout,
			Message: fmt.Sprintf("cannot %s: timed out waiting for another request to the systemd manager to finish", what),
			err:     err,
		}
	}
	return &Error{Status: http.StatusServiceUnavailable, Kind: wire.ErrorKindInternal, Message: fmt.Sprintf("cannot %s: %v", what, err), err: err}
}

// messages turns per-unit errors into the wire's per-unit messages.
func messages(errs map[string]error) map[string]string {
	out := make(map[string]string, len(errs))
	for k, v := range errs {
		out[k] = v.Error()
	}
	return out
}
