package integration_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/snapcore-ng/usersession-agent/internal/testenv"
	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

// An exit asked in the middle of a start of slow units, in a real session: the start
// is done and answered in full, the exit is answered too, a call made meanwhile is
// answered by the old agent, and a call made right after the exit's answer reaches the
// next agent. How long each call waits is logged, not asserted. (That the exit's answer
// waits for the work is held by sessionagent's TestExitRequestWaitsForServiceWorkInProgress:
// seen from two connections here, the two answers can arrive in either order.)
func TestExitDuringAStartOfSlowUnits(t *testing.T) {
	t.Parallel()
	units := []string{"snap.slow.one.service", "snap.slow.two.service"}
	// Within the 15 s deadline of tryCall, started one after the other.
	unit := func(secs string) string {
		return "[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/sleep " + secs + "\n"
	}
	s := servicesSession(t, map[string]string{units[0]: unit("9"), units[1]: unit("1")})
	sock := s.AgentSocket()
	first := sessionInfo(t, sock)

	type result struct {
		r   reply
		err error
	}
	started, exited := make(chan result, 1), make(chan result, 1)
	body, _ := json.Marshal(wire.ServiceInstruction{Action: wire.ActionStart, Services: units})
	go func() {
		r, err := tryCall(sock, "POST", wire.PathServiceControl, "application/json", body)
		started <- result{r, err}
	}()
	testenv.WaitFor(t, 10*time.Second, "the start to be under way", func() bool {
		return unitState(t, s, units[0]) == "activating"
	})
	go func() {
		r, err := tryCall(sock, "POST", wire.PathAgentExit, "application/json", nil)
		exited <- result{r, err}
	}()
	t0 := time.Now()
	during := sessionInfo(t, sock)
	t.Logf("a session-info call during the exit's wait for the start took %v", time.Since(t0).Round(time.Microsecond))
	if during.PID != first.PID {
		t.Errorf("the call during the exit was answered by pid %d, not the exiting agent %d", during.PID, first.PID)
	}

	st := <-started
	if st.err != nil || st.r.status != 200 {
		t.Fatalf("the start in progress at the exit: %v %d %s", st.err, st.r.status, st.r.raw)
	}
	for _, u := range units {
		if state := unitState(t, s, u); state != "active" {
			t.Errorf("%s is %s after the start was answered, want active", u, state)
		}
	}
	ex := <-exited
	if ex.err != nil || ex.r.status != 200 {
		t.Fatalf("agent-exit: %v %d %s", ex.err, ex.r.status, ex.r.raw)
	}
	t0 = time.Now()
	next := sessionInfo(t, sock)
	t.Logf("a session-info call right after the exit's answer took %v (old agent draining, socket starting the next)", time.Since(t0).Round(time.Microsecond))
	if next.PID == first.PID {
		t.Errorf("the call after the exit's answer was answered by the exited agent (pid %d)", first.PID)
	}
}
