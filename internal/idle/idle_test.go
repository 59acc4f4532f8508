package idle_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/snapcore-ng/usersession-agent/internal/idle"
	"github.com/snapcore-ng/usersession-agent/testkit/testenv"
)

func TestBusySourceKeepsTheProcessUntilItIsFreed(t *testing.T) {
	const timeout = 20 * time.Millisecond
	var busy atomic.Bool
	busy.Store(true)
	tr := idle.NewTracker(timeout)
	tr.AddSource(func() time.Time {
		if busy.Load() {
			return time.Now().Add(time.Hour)
		}
		return time.Time{}
	})
	tr.Start()
	defer tr.Stop()
	select {
	case <-tr.Done():
		t.Fatal("idle while a source is busy")
	case <-time.After(20 * timeout):
	}
	// Freed long before its hour is up, the source lets the tracker fire.
	busy.Store(false)
	select {
	case <-tr.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("not idle 10s after the source was freed")
	}
}

// idleNow says whether tr's Done is closed already.
func idleNow(tr *idle.Tracker) bool {
	select {
	case <-tr.Done():
		return true
	default:
		return false
	}
}

// startHourTracker starts a tracker whose timeout no test waits for: only SkipTimeout
// can explain Done. sources are added before it starts.
func startHourTracker(t *testing.T, sources ...func() time.Time) *idle.Tracker {
	tr := idle.NewTracker(time.Hour)
	for _, s := range sources {
		tr.AddSource(s)
	}
	tr.Start()
	t.Cleanup(tr.Stop)
	return tr
}

func TestSkipTimeoutFiresWhenTheLastWorkEnds(t *testing.T) {
	tr := startHourTracker(t)
	tr.Begin()
	tr.Begin()
	tr.SkipTimeout()
	tr.End()
	if idleNow(tr) {
		t.Fatal("idle with work in progress")
	}
	tr.End()
	if !idleNow(tr) {
		t.Fatal("not idle when the last work ended after SkipTimeout")
	}
	if !tr.TimeoutSkipped() {
		t.Error("TimeoutSkipped is false")
	}
}

func TestSkipTimeoutWaitsForBusySources(t *testing.T) {
	until := time.Now().Add(300 * time.Millisecond)
	tr := startHourTracker(t, func() time.Time { return until })
	tr.Begin()
	tr.SkipTimeout()
	tr.End()
	if idleNow(tr) {
		t.Fatal("idle while a source is busy")
	}
	// Asked again when the source's time is up, not after the hour.
	testenv.WaitFor(t, 10*time.Second, "idle after the source's time", func() bool { return idleNow(tr) })
	if time.Now().Before(until) {
		t.Error("idle before the source's time was up")
	}
}

func TestWithoutSkipTimeoutTheEndOfWorkIsNotIdle(t *testing.T) {
	tr := startHourTracker(t)
	tr.Begin()
	tr.End()
	if idleNow(tr) {
		t.Fatal("idle at the end of work, an hour before the timeout")
	}
	if tr.TimeoutSkipped() {
		t.Error("TimeoutSkipped is true")
	}
}
