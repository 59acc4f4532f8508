package systemd

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"syscall"
	"time"

	sdbus "github.com/coreos/go-systemd/v22/dbus"
	"golang.org/x/sys/unix"
)

// Kill sends sig to every process of unit (KillUnit with who=all: the unit's whole
// cgroup, not only its main process).
func (m *Manager) Kill(ctx context.Context, unit string, sig syscall.Signal) error {
	ctx, cancel := WithDefaultDeadline(ctx, DefaultTimeout)
	defer cancel()
	l, err := m.current(ctx)
	if err != nil {
		return err
	}
	if err := l.conn.KillUnitWithTarget(ctx, unit, sdbus.All, int32(sig)); err != nil {
		return l.callError(ctx, "send "+signalName(int32(sig))+" to", unit, err)
	}
	return nil
}

// StopResult says how a StopOrKill went.
type StopResult struct {
	// Killed is set when the unit did not stop in time and its processes were sent
	// SIGKILL.
	Killed bool
	// KillAfter is how long the stop was given before the kill (or would have been).
	KillAfter time.Duration
}

// StopOrKill stops unit like Stop, but does not wait forever on a unit that will not
// die: if the stop job has not ended when the unit's own stop timeout (its
// TimeoutStopUSec) plus margin has passed, or when little of ctx's time is left
// (whichever comes first), every process of the unit's cgroup is sent SIGKILL, and the
// job is then awaited to its end.
//
// With systemd's defaults (SendSIGKILL=yes) the manager itself sends SIGKILL when
// TimeoutStopUSec passes, and this kill only acts if that did not work in time or the
// caller's deadline is shorter than the unit's timeout. It matters for units with
// SendSIGKILL=no (the manager then gives up and leaves the processes running, with the
// unit marked stopped), FinalKillSignal= changes, or long or infinite stop timeouts.
func (m *Manager) StopOrKill(ctx context.Context, unit string, margin time.Duration) (StopResult, error) {
	ctx, cancel := WithDefaultDeadline(ctx, DefaultTimeout)
	defer cancel()
	var res StopResult

	timeout, err := m.stopTimeout(ctx, unit)
	if err != nil {
		return res, err
	}
	start := time.Now()
	j, err := m.queueJob(ctx, "stop", unit, (*sdbus.Conn).StopUnitContext)
	if err != nil {
		return res, err
	}
	res.KillAfter = killAfter(ctx, start, timeout, margin)
	timer := time.NewTimer(time.Until(start.Add(res.KillAfter)))
	defer timer.Stop()
	select {
	case r := <-j.result:
		return res, m.jobResult(ctx, j, r)
	case <-ctx.Done():
		return res, fmt.Errorf("cannot stop %q: job %d did not end in time: %w", unit, j.id, ctx.Err())
	case <-j.gone:
		return res, fmt.Errorf("cannot stop %q: job %d: %w", unit, j.id, j.lost())
	case <-timer.C:
	}
	if err := m.Kill(ctx, unit, unix.SIGKILL); err != nil {
		return res, fmt.Errorf("cannot stop %q: it did not stop within %v, and killing it failed: %w", unit, res.KillAfter.Round(time.Millisecond), err)
	}
	res.Killed = true
	return res, m.wait(ctx, j)
}

// killAfter is how long a stop may take before its unit is killed: the unit's timeout
// plus margin, but leaving some of the caller's time for the kill and the end of the
// job (a tenth of what is left, between 100 ms and 2 s).
func killAfter(ctx context.Context, start time.Time, timeout, margin time.Duration) time.Duration {
	d := time.Duration(math.MaxInt64)
	if timeout > 0 {
		d = timeout + margin
	}
	if dl, ok := ctx.Deadline(); ok {
		left := dl.Sub(start)
		reserve := min(max(left/10, 100*time.Millisecond), 2*time.Second)
		d = min(d, left-reserve)
	}
	return max(d, 0)
}

// stopTimeout reads the unit's TimeoutStopUSec; zero means none (infinity).
func (m *Manager) stopTimeout(ctx context.Context, unit string) (time.Duration, error) {
	if t := UnitType(unit); t != "service" && t != "socket" && t != "mount" && t != "swap" && t != "scope" {
		return 0, nil // no TimeoutStopUSec on this unit type
	}
	v, err := m.Property(ctx, unit, typeInterface(unit), "TimeoutStopUSec")
	if err != nil {
		return 0, err
	}
	usec, _ := v.(uint64)
	if usec == 0 || usec == math.MaxUint64 || usec > uint64(math.MaxInt64/int64(time.Microsecond)) {
		return 0, nil
	}
	return time.Duration(usec) * time.Microsecond, nil
}

// typeInterface is the short D-Bus interface name of a unit type ("Service").
func typeInterface(unit string) string {
	t := UnitType(unit)
	if t == "" {
		return "Unit"
	}
	return strings.ToUpper(t[:1]) + t[1:]
}

// signalName names a signal number ("SIGKILL"), or gives the number if it has no name.
func signalName(n int32) string {
	if name := unix.SignalName(syscall.Signal(n)); name != "" {
		return name
	}
	return strconv.Itoa(int(n))
}
