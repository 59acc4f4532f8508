package sessionagent

import (
	"sync"
	"time"
)

// idleTracker says when no request has been in progress for a while. It counts requests
// in progress, not connections: a connection that sends nothing, or waits between
// requests, does not keep the agent alive. One timer, re-armed when the last request
// ends, does the waiting.
type idleTracker struct {
	timeout time.Duration

	mu      sync.Mutex
	active  int
	last    time.Time
	timer   *time.Timer
	stopped bool
	idle    chan struct{}
}

// newIdleTracker returns a tracker that fires timeout after the last request ends; a
// negative timeout never fires.
func newIdleTracker(timeout time.Duration) *idleTracker {
	return &idleTracker{timeout: timeout, idle: make(chan struct{})}
}

// start arms the timer: the agent's start counts as activity.
func (t *idleTracker) start() {
	if t.timeout < 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.last = time.Now()
	t.timer = time.AfterFunc(t.timeout, t.check)
}

// begin marks a request in progress.
func (t *idleTracker) begin() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.active++
}

// end marks the end of a request started with begin.
func (t *idleTracker) end() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.active--
	t.last = time.Now()
	if t.active == 0 && t.timer != nil && !t.stopped {
		t.timer.Reset(t.timeout)
	}
}

// check runs when the timer fires. A request may have come and gone since it was armed:
// then it waits for the rest of the timeout from the last one.
func (t *idleTracker) check() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped || t.active > 0 {
		// end re-arms the timer when the last request ends.
		return
	}
	if rest := t.timeout - time.Since(t.last); rest > 0 {
		t.timer.Reset(rest)
		return
	}
	t.stopped = true
	close(t.idle)
}

// done is closed once the agent has been idle for the timeout.
func (t *idleTracker) done() <-chan struct{} {
	return t.idle
}

// stop disarms the timer for good.
func (t *idleTracker) stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stopped = true
	if t.timer != nil {
		t.timer.Stop()
	}
}
