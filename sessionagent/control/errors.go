package control

import (
	"context"
	"errors"
	"fmt"

	"github.com/snapcore-ng/usersession-agent/internal/apierror"
	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

// The errors of this package are *apierror.Error: a failed instruction with its kind
// (wire.ErrorKind*), message and value (per-unit error maps keyed by wire.*ErrorsKey,
// or nil). The agent chooses the HTTP status from the kind.

func badRequest(format string, args ...any) *apierror.Error {
	return apierror.Errorf(wire.ErrorKindBadRequest, format, args...)
}

// failure is an error of the given kind, unless err (or any of the per-unit errors)
// says the manager did not answer in time: then it wraps apierror.ErrTimeout (504),
// and one without per-unit errors (value) is of kind "systemd-timeout". A timed-out
// answer that carries per-unit errors keeps its kind: snapd's client reads
// start-errors and stop-errors only under service-control (and status-errors,
// kill-errors under theirs), so under "systemd-timeout" the units that failed would
// be lost to it.
func failure(kind, message string, value any, err error, unitErrs ...map[string]error) *apierror.Error {
	e := &apierror.Error{Kind: kind, Message: message, Value: value, Err: err}
	timedOut := isTimeout(err)
	for _, m := range unitErrs {
		for _, uerr := range m {
			timedOut = timedOut || isTimeout(uerr)
		}
	}
	if timedOut {
		e.Err = errors.Join(apierror.ErrTimeout, err)
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

// waitError is the answer to a request that gave up waiting for another one: a
// "systemd-timeout" past its deadline, else (cancelled) unavailable.
func waitError(what string, err error) *apierror.Error {
	if errors.Is(err, context.DeadlineExceeded) {
		return &apierror.Error{
			Kind:    wire.ErrorKindManagerTimeout,
			Message: fmt.Sprintf("cannot %s: timed out waiting for another request to the systemd manager to finish", what),
			Err:     err,
		}
	}
	return &apierror.Error{Kind: wire.ErrorKindInternal, Message: fmt.Sprintf("cannot %s: %v", what, err),
		Err: errors.Join(apierror.ErrUnavailable, err)}
}

// messages turns per-unit errors into the wire's per-unit messages.
func messages(errs map[string]error) map[string]string {
	out := make(map[string]string, len(errs))
	for k, v := range errs {
		out[k] = v.Error()
	}
	return out
}
