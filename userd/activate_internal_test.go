package userd

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/snapcore-ng/usersession-agent/testkit/dbustest"
)

// A name nobody takes ends the wait at its deadline, naming the name.
func TestWaitForOwnersEndsAtItsDeadline(t *testing.T) {
	bus := dbustest.Start(t)
	dbustest.RequestName(t, bus.Connect(t), "io.snapcraft.Taken")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := waitForOwners(ctx, bus.Address, []string{"io.snapcraft.Taken", "io.snapcraft.Never"})
	if err == nil || !strings.Contains(err.Error(), "did not take io.snapcraft.Never in time") {
		t.Fatalf("got %v", err)
	}
}
