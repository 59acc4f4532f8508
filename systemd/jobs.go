package systemd

import (
	"context"
	"fmt"
	"time"

	sdbus "github.com/coreos/go-systemd/v22/dbus"
)

// jobMode is the mode of every job we queue: like systemctl, replace a conflicting
// queued job rather than fail.
const jobMode = "replace"

// Start starts unit and returns once its start job has ended.
func (m *Manager) Start(ctx context.Context, unit string) error {
	return m.runJob(ctx, "start", unit, (*sdbus.Conn).StartUnitContext)
}

// Stop stops unit and returns once its stop job has ended. See StopOrKill for a stop
// that does not wait on a unit that will not die.
func (m *Manager) Stop(ctx context.Context, unit string) error {
	return m.runJob(ctx, "stop", unit, (*sdbus.Conn).StopUnitContext)
}

// Restart restarts unit (stopping it first if it runs) and returns once the job has
// ended.
func (m *Manager) Restart(ctx context.Context, unit string) error {
	return m.runJob(ctx, "restart", unit, (*sdbus.Conn).RestartUnitContext)
}

// ReloadOrRestart reloads unit if it supports reloading and restarts it otherwise, and
// returns once the job has ended.
func (m *Manager) ReloadOrRestart(ctx context.Context, unit string) error {
	return m.runJob(ctx, "reload-or-restart", unit, (*sdbus.Conn).ReloadOrRestartUnitContext)
}

type jobFunc func(c *sdbus.Conn, ctx context.Context, name, mode string, ch chan<- string) (int, error)

// job is a queued job whose result is awaited.
type job struct {
	op, unit string
	id       int
	// result receives the job's result. go-systemd sends on it while holding its
	// listener lock, so it is buffered: the send never blocks, even once we stopped
	// listening.
	result chan string
	gone   <-chan struct{}
	// lost says why the connection closed.
	lost func() error
}

// runJob queues a job and follows it to its end.
func (m *Manager) runJob(ctx context.Context, op, unit string, queue jobFunc) error {
	ctx, cancel := WithDefaultDeadline(ctx, DefaultTimeout)
	defer cancel()
	j, err := m.queueJob(ctx, op, unit, queue)
	if err != nil {
		return err
	}
	return m.wait(ctx, j)
}

func (m *Manager) queueJob(ctx context.Context, op, unit string, queue jobFunc) (*job, error) {
	l, err := m.current(ctx)
	if err != nil {
		return nil, err
	}
	j := &job{op: op, unit: unit, result: make(chan string, 1), gone: l.gone, lost: l.lost}
	// On the private socket the manager sends JobRemoved to every connection without
	// Subscribe (bus_foreach_bus: "send to all direct buses, unconditionally"), which
	// the integration tests confirm.
	j.id, err = queue(l.conn, ctx, unit, jobMode, j.result)
	if err != nil {
		return nil, l.callError(ctx, op, unit, err)
	}
	return j, nil
}

// wait waits for the job's result and turns a bad one into a *JobError.
func (m *Manager) wait(ctx context.Context, j *job) error {
	select {
	case res := <-j.result:
		return m.jobResult(ctx, j, res)
	case <-ctx.Done():
		return fmt.Errorf("cannot %s %q: job %d did not end in time: %w", j.op, j.unit, j.id, ctx.Err())
	case <-j.gone:
		return fmt.Errorf("cannot %s %q: job %d: %w", j.op, j.unit, j.id, j.lost())
	}
}

// jobResult maps a job result to an error; like systemctl, "done" and "skipped" (the
// job did not apply to the unit's current state) are success.
func (m *Manager) jobResult(ctx context.Context, j *job, res string) error {
	if res == "done" || res == "skipped" {
		return nil
	}
	jerr := &JobError{Op: j.op, Unit: j.unit, JobID: j.id, Result: res}
	// Ask the unit why. This is best effort (the error is about the job either way),
	// and bounded so that it cannot eat the caller's whole remaining time.
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	props := []Prop{UnitProp("ActiveState"), UnitProp("SubState")}
	switch UnitType(j.unit) {
	case "service", "socket", "mount", "swap", "timer", "path", "automount", "scope":
		// The unit types that have a Result.
		props = append(props, Prop{Iface: typeInterface(j.unit), Name: "Result"})
	}
	if UnitType(j.unit) == "service" {
		props = append(props, Prop{Iface: "Service", Name: "ExecMainCode"}, Prop{Iface: "Service", Name: "ExecMainStatus"})
	}
	if got, err := m.Properties(pctx, j.unit, props...); err == nil {
		jerr.UnitResult, _ = got["Result"].(string)
		jerr.ActiveState, _ = got["ActiveState"].(string)
		jerr.SubState, _ = got["SubState"].(string)
		jerr.ExecMainCode, _ = got["ExecMainCode"].(int32)
		jerr.ExecMainStatus, _ = got["ExecMainStatus"].(int32)
	}
	return jerr
}
