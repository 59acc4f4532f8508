package systemd

import (
	"context"
	"errors"
	"fmt"
	"strings"

	godbus "github.com/godbus/dbus/v5"
)

// ErrNoSuchUnit says the manager knows no unit (or unit file) of that name. Test with
// errors.Is.
var ErrNoSuchUnit = errors.New("no such unit")

// ErrNoSuchProcess says a unit to signal has no process (left) to signal.
var ErrNoSuchProcess = errors.New("no such process")

// ErrConnectionLost says the connection to the manager closed while a job was being
// followed; the job may still run.
var ErrConnectionLost = errors.New("connection to the systemd manager lost")

// D-Bus error names of the manager that callers branch on.
const (
	dbusNoSuchUnit    = "org.freedesktop.systemd1.NoSuchUnit"
	dbusFileNotFound  = "org.freedesktop.DBus.Error.FileNotFound"
	dbusNoSuchProcess = "org.freedesktop.systemd1.NoSuchProcess"
)

// managerError is an error the manager answered with. It unwraps to the godbus.Error
// (for callers that need the D-Bus name) and, where one applies, to a sentinel of this
// package.
type managerError struct {
	err  godbus.Error
	kind error
}

func (e *managerError) Error() string {
	if len(e.err.Body) > 0 {
		if msg, ok := e.err.Body[0].(string); ok && msg != "" {
			return strings.TrimSuffix(msg, ".")
		}
	}
	return e.err.Name
}

func (e *managerError) Unwrap() []error {
	if e.kind != nil {
		return []error{e.err, e.kind}
	}
	return []error{e.err}
}

// callError words the failure of a call about unit (empty for manager-wide calls) made
// for op ("start", "enable"...).
func callError(ctx context.Context, op, unit string, err error) error {
	what := op
	if unit != "" {
		what = fmt.Sprintf("%s %q", op, unit)
	}
	var dbusErr godbus.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), ctx.Err() != nil && errors.Is(err, ctx.Err()):
		return fmt.Errorf("cannot %s: the systemd manager did not answer in time: %w", what, err)
	case errors.As(err, &dbusErr):
		me := &managerError{err: dbusErr}
		switch dbusErr.Name {
		case dbusNoSuchUnit, dbusFileNotFound:
			me.kind = ErrNoSuchUnit
		case dbusNoSuchProcess:
			me.kind = ErrNoSuchProcess
		}
		return fmt.Errorf("cannot %s: %w", what, me)
	default:
		return fmt.Errorf("cannot %s: %w", what, err)
	}
}

// JobError says a job ran but did not end well. The unit fields are the unit's state
// read right after the job ended, to say why.
type JobError struct {
	Op    string // "start", "stop", "restart", "reload-or-restart"
	Unit  string
	JobID int
	// Result is the job's result: "failed", "timeout", "canceled", "dependency",
	// "invalid", "unsupported", "once" or "frozen".
	Result string

	// UnitResult is the unit's Result property ("exit-code", "signal", "timeout"...),
	// empty if it could not be read or the unit type has none.
	UnitResult  string
	ActiveState string
	SubState    string
	// ExecMainCode is the si_code of the main process's end (1 exited, 2 killed,
	// 3 dumped core) and ExecMainStatus its exit status or signal; zero when unknown.
	ExecMainCode   int32
	ExecMainStatus int32
}

func (e *JobError) Error() string {
	var what string
	switch e.Result {
	case "failed":
		what = "job failed"
	case "timeout":
		what = "job timed out"
	case "canceled":
		what = "job canceled"
	case "dependency":
		what = "a dependency failed"
	case "invalid":
		what = "job is not applicable to the unit"
	case "unsupported":
		what = "job is not supported by the unit type"
	default:
		what = "job ended with result " + e.Result
	}
	var details []string
	if e.UnitResult != "" && e.UnitResult != "success" {
		details = append(details, "unit result: "+e.UnitResult)
	}
	switch e.ExecMainCode {
	case 1: // CLD_EXITED
		if e.ExecMainStatus != 0 {
			details = append(details, fmt.Sprintf("status %d", e.ExecMainStatus))
		}
	case 2, 3: // CLD_KILLED, CLD_DUMPED
		details = append(details, "signal "+signalName(e.ExecMainStatus))
	}
	if len(details) == 0 && e.ActiveState != "" {
		details = append(details, "unit is "+e.ActiveState+" ("+e.SubState+")")
	}
	msg := fmt.Sprintf("cannot %s %q: %s", e.Op, e.Unit, what)
	if len(details) > 0 {
		msg += " (" + strings.Join(details, ", ") + ")"
	}
	return msg
}
