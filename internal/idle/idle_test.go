package idle_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/snapcore-ng/usersession-agent/internal/idle"
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
