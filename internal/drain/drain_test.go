package drain_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/snapcore-ng/usersession-agent/internal/drain"
)

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func TestCloseWaitsForTheWorkInProgressAndRefusesMore(t *testing.T) {
	var c drain.Counter
	if !closed(c.Close()) {
		t.Fatal("Close with nothing in progress: not done at once")
	}
	if c.Begin() {
		t.Fatal("Begin after Close: accepted")
	}

	var d drain.Counter
	if !d.Begin() || !d.Begin() {
		t.Fatal("Begin refused")
	}
	done := d.Close()
	if closed(done) {
		t.Fatal("done with two pieces of work in progress")
	}
	d.End()
	if closed(done) {
		t.Fatal("done with one piece of work in progress")
	}
	d.End()
	if !closed(done) || !closed(d.Close()) {
		t.Fatal("not done once the work ended")
	}
}

func TestEndWithoutBeginPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("End without Begin did not panic")
		}
	}()
	var c drain.Counter
	c.End()
}

// Work begun and ended from many goroutines while the counter closes: every Begin
// that was accepted is waited for, none after Close is.
func TestCloseUnderConcurrentWork(t *testing.T) {
	var c drain.Counter
	var mu sync.Mutex
	running := 0
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c.Begin() {
				mu.Lock()
				running++
				mu.Unlock()
				runtime.Gosched()
				mu.Lock()
				running--
				mu.Unlock()
				c.End()
			}
		}()
	}
	time.Sleep(time.Millisecond)
	<-c.Close()
	mu.Lock()
	if running != 0 {
		t.Errorf("%d pieces of work running once Close's channel closed", running)
	}
	mu.Unlock()
	wg.Wait()
}

// quietAt runs Quiet in the background; the channel gives when it returned.
func quietAt(t *testing.T, c *drain.Counter, settle time.Duration) <-chan time.Time {
	quiet := make(chan time.Time, 1)
	go func() {
		if err := c.Quiet(t.Context(), settle); err != nil {
			t.Error(err)
		}
		quiet <- time.Now()
	}()
	return quiet
}

// Quiet returns only after the work in progress has ended and nothing has begun or
// ended for settle, counted from its call too; it refuses nothing.
func TestQuietWaitsForAPause(t *testing.T) {
	const settle = 50 * time.Millisecond
	var c drain.Counter
	start := time.Now()
	if err := c.Quiet(t.Context(), settle); err != nil || time.Since(start) < settle {
		t.Fatalf("Quiet with no work: %v after %v, want nil after at least %v", err, time.Since(start), settle)
	}

	c.Begin()
	quiet := quietAt(t, &c, settle)
	time.Sleep(3 * settle)
	select {
	case <-quiet:
		t.Fatal("Quiet returned with work in progress")
	default:
	}
	if !c.Begin() {
		t.Fatal("Begin refused while Quiet waits")
	}
	c.End()
	c.End()
	returnsAfter(t, quiet, time.Now(), settle)
}

// returnsAfter checks that Quiet returned settle after the work ended at the soonest.
func returnsAfter(t *testing.T, quiet <-chan time.Time, ended time.Time, settle time.Duration) {
	t.Helper()
	if at := <-quiet; at.Sub(ended) < settle {
		t.Errorf("Quiet returned %v after the last work ended, want at least %v", at.Sub(ended), settle)
	}
}

// Work that begins and ends within the pause starts the pause again.
func TestQuietStartsAgainAfterShortWork(t *testing.T) {
	const settle = 100 * time.Millisecond
	var c drain.Counter
	quiet := quietAt(t, &c, settle)
	time.Sleep(settle / 2)
	c.Begin()
	c.End()
	returnsAfter(t, quiet, time.Now(), settle)
}

func TestQuietEndsWithItsContext(t *testing.T) {
	var c drain.Counter
	c.Begin()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if err := c.Quiet(ctx, time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Quiet with work in progress past its deadline: %v", err)
	}
	c.End()
	ctx, cancel = context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if err := c.Quiet(ctx, time.Hour); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Quiet in a pause shorter than settle past its deadline: %v", err)
	}
}
