// Package control carries out the agent's service-control, service-status and
// app-control instructions on the user's systemd manager.
//
// It is the logic of those endpoints without HTTP: each instruction is a method of
// Services that takes a wire type and returns a wire result, or an *apierror.Error that
// carries the error kind and value to answer with (the agent picks the HTTP status). Every name is checked before
// anything runs, so a bad entry anywhere in a list changes nothing. The work of one
// agent on its manager is serialised, and every request is bounded by its context's
// deadline: a hung manager makes requests fail with 504 instead of piling up behind
// each other (kind "systemd-timeout", or the instruction's own kind when the answer
// names the units that failed).
package control

import (
	"context"
	"syscall"
	"time"

	"github.com/snapcore-ng/usersession-agent/systemd"
)

// Manager is what control needs from a systemd manager. *systemd.Manager implements it;
// tests use a fake.
type Manager interface {
	Start(ctx context.Context, unit string) error
	StopOrKill(ctx context.Context, unit string, margin time.Duration) (systemd.StopResult, error)
	Restart(ctx context.Context, unit string) error
	ReloadOrRestart(ctx context.Context, unit string) error
	Enable(ctx context.Context, units []string) error
	Disable(ctx context.Context, units []string) error
	Reload(ctx context.Context) error
	Status(ctx context.Context, units []string) ([]systemd.UnitStatus, error)
	ListUnitsByPatterns(ctx context.Context, states, patterns []string) ([]systemd.Unit, error)
	Kill(ctx context.Context, unit string, sig syscall.Signal) error
}

var _ Manager = (*systemd.Manager)(nil)

// DefaultTimeout bounds a request whose context has no deadline.
const DefaultTimeout = 60 * time.Second

// DefaultStopMargin is how long past its own stop timeout a unit is given to stop
// before it is killed.
const DefaultStopMargin = 500 * time.Millisecond

// Services carries out instructions on one manager. Make one per agent with New and
// share it between requests: it serialises their work on the manager (a copy would
// not).
type Services struct {
	m Manager
	// sem is a one-slot semaphore rather than a mutex so that waiting for it gives up
	// at the request's deadline.
	sem chan struct{}
}

// New returns the Services of manager m.
func New(m Manager) *Services {
	return &Services{m: m, sem: make(chan struct{}, 1)}
}

// begin gives ctx a deadline if it has none and waits for the manager to be free.
// Call the returned function when done.
func (s *Services) begin(ctx context.Context, what string) (context.Context, func(), error) {
	ctx, cancel := systemd.WithDefaultDeadline(ctx, DefaultTimeout)
	select {
	case s.sem <- struct{}{}:
		return ctx, func() { <-s.sem; cancel() }, nil
	case <-ctx.Done():
		cancel()
		return nil, nil, waitError(what, ctx.Err())
	}
}
