// Package drain counts the work a process has in progress, so that it can exit once
// that work is done: the session agent's service work (systemd jobs answered before
// it exits) and `snap userd`'s calls (answered before it exits).
package drain

import (
	"context"
	"sync"
	"time"
)

// Counter counts work in progress; the zero value is ready. Close refuses new work
// and says when the work in progress has ended; Quiet waits for a pause in the work
// without refusing any. Waiting is done on a channel closed when the count falls to
// zero, not by polling.
type Counter struct {
	mu     sync.Mutex
	n      int
	closed bool
	// last is when work last began or ended.
	last time.Time
	// zero is closed while n is zero, and replaced by an open one when work begins.
	zero chan struct{}
}

// Begin counts one piece of work in; false means the counter is closed, and the work
// must not start.
func (c *Counter) Begin() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	if c.n == 0 {
		c.zero = make(chan struct{})
	}
	c.n++
	c.last = time.Now()
	return true
}

// End counts out work that Begin counted in.
func (c *Counter) End() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == 0 {
		panic("drain: End without Begin")
	}
	c.n--
	c.last = time.Now()
	if c.n == 0 {
		close(c.zero)
	}
}

// zeroLocked is a channel closed once nothing is in progress.
func (c *Counter) zeroLocked() <-chan struct{} {
	if c.zero == nil {
		c.zero = make(chan struct{})
		close(c.zero)
	}
	return c.zero
}

// Close refuses new work from now on and returns a channel closed once the work in
// progress has ended (at once when there is none). It may be called more than once.
func (c *Counter) Close() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	return c.zeroLocked()
}

// Quiet waits until nothing is in progress and no work has begun or ended for settle,
// counted from the call at the earliest, or until ctx ends (its error is returned).
// Work may still begin: Quiet is for a process that stopped the source of new work
// (released its bus names, say) but may still receive some that was on its way.
func (c *Counter) Quiet(ctx context.Context, settle time.Duration) error {
	start := time.Now()
	for {
		c.mu.Lock()
		busy := c.n > 0
		zero := c.zeroLocked()
		since := c.last
		c.mu.Unlock()
		if busy {
			select {
			case <-zero:
				continue
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		from := start
		if since.After(from) {
			from = since
		}
		rest := settle - time.Since(from)
		if rest <= 0 {
			return nil
		}
		timer := time.NewTimer(rest)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		}
	}
}
