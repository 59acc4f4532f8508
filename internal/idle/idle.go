// Package idle says when a process has had nothing in progress for a while, so that
// services started on demand (the session agent, `snap userd`) can exit and be started
// again by their socket or by D-Bus.
package idle

import (
	"sync"
	"time"
)

// Tracker says when no work (a request, a D-Bus call) has been in progress for a
// while. It counts work in progress, not connections: a connection that sends nothing,
// or waits between requests, does not keep the process alive. One timer, re-armed when
// the last piece of work ends, does the waiting.
type Tracker struct {
	timeout time.Duration

	mu      sync.Mutex
	active  int
	last    time.Time
	timer   *time.Timer
	stopped bool
	// skip: Done closes as soon as nothing is in progress (see SkipTimeout).
	skip    bool
	idle    chan struct{}
	sources []func() time.Time
}

// NewTracker returns a tracker that fires timeout after the last work ends; a
// negative timeout never fires.
func NewTracker(timeout time.Duration) *Tracker {
	return &Tracker{timeout: timeout, idle: make(chan struct{})}
}

// Start arms the timer: the start of the process counts as activity.
func (t *Tracker) Start() {
	if t.timeout < 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.last = time.Now()
	t.timer = time.AfterFunc(t.timeout, t.check)
}

// AddSource adds an activity source other than work in progress: busyUntil returns
// the time until which it keeps the process alive (zero or past: not busy). It is
// asked when the timeout has passed since the last work, and again at least every
// timeout while it is busy, so that a source freed early lets the process exit early.
// The source bounds its own time.
func (t *Tracker) AddSource(busyUntil func() time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sources = append(t.sources, busyUntil)
}

// Begin marks work in progress.
func (t *Tracker) Begin() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.active++
}

// End marks the end of work started with Begin.
func (t *Tracker) End() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.active--
	t.last = time.Now()
	if t.active == 0 && t.timer != nil && !t.stopped {
		if t.skip {
			t.checkLocked()
			return
		}
		t.timer.Reset(t.timeout)
	}
}

// SkipTimeout makes Done close, from now on, the first moment no work is in progress
// and no source is busy, without waiting for the timeout: for work whose caller said
// nothing more will come for a while (a one-shot call from root across sessions).
// Call it before the End of that work, so that its own End is such a moment. Sources
// keep their meaning: a busy one is asked again when its time is up, and at least
// every timeout. A tracker that never fires (negative timeout) ignores it.
func (t *Tracker) SkipTimeout() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.skip = true
	if t.timer != nil {
		t.checkLocked()
	}
}

// TimeoutSkipped says whether SkipTimeout was called, and so whether Done closed
// without waiting for the timeout.
func (t *Tracker) TimeoutSkipped() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.skip
}

// check runs when the timer fires.
func (t *Tracker) check() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.checkLocked()
}

// checkLocked closes idle if nothing is in progress, the timeout has passed since the
// last work (unless skipped) and no source is busy; otherwise it re-arms the timer
// where it must be. Work may have come and gone since the timer was armed: then it
// waits for the rest of the timeout from the last one.
func (t *Tracker) checkLocked() {
	if t.stopped || t.active > 0 {
		// End re-arms the timer when the last work ends.
		return
	}
	if rest := t.timeout - time.Since(t.last); rest > 0 && !t.skip {
		t.timer.Reset(rest)
		return
	}
	for _, busyUntil := range t.sources {
		if rest := time.Until(busyUntil()); rest > 0 {
			t.timer.Reset(min(rest, t.timeout))
			return
		}
	}
	t.stopped = true
	close(t.idle)
}

// Done is closed once nothing has been in progress for the timeout.
func (t *Tracker) Done() <-chan struct{} {
	return t.idle
}

// Stop disarms the timer for good.
func (t *Tracker) Stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stopped = true
	if t.timer != nil {
		t.timer.Stop()
	}
}
