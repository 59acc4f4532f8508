package integration_test

import (
	"encoding/json"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/snapcore-ng/usersession-agent/testkit/testenv"
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

// An exit while root long-polls a notification, in a real session with dunst: the
// wait is answered at once with the notification's current state (shown) instead of
// holding the drain (which would cut it off at Config.ShutdownTimeout), the old agent
// goes, and the next call is served by a new agent. How long a call made during the
// exit waits is logged, not asserted.
func TestExitAnswersALongPollInProgress(t *testing.T) {
	t.Parallel()
	d := startDesktopSession(t, 0)
	sock := d.AgentSocket()
	first := sessionInfo(t, sock)

	var posted wire.NotificationStatus
	wantSync(t, "post a question", postJSON(t, sock, wire.PathNotifications, wire.Notification{
		Title: "Firefox must close", Urgency: "critical",
		Actions: []wire.NotificationAction{{ID: "ok", Label: "OK"}},
	}), &posted)
	testenv.WaitFor(t, 30*time.Second, "dunst to show the question", func() bool { return d.displayed(t) == 1 })

	type result struct {
		r   reply
		err error
	}
	testenv.WaitFor(t, 10*time.Second, "the agent to close the connections of the calls so far", func() bool {
		return acceptedConns(t, sock) == 0
	})
	polled := make(chan result, 1)
	go func() {
		r, err := tryCall(sock, "GET", wire.PathNotifications+"?id="+posted.ID+"&wait=60s", "", nil)
		polled <- result{r, err}
	}()
	// Once accepted, the long poll is answered by this agent: the drain waits for the
	// connections it has accepted.
	testenv.WaitFor(t, 10*time.Second, "the agent to accept the long poll", func() bool {
		return acceptedConns(t, sock) == 1
	})

	if r := call(t, sock, "POST", wire.PathAgentExit, "application/json", nil); r.status != 200 {
		t.Fatalf("agent-exit: %d %s", r.status, r.raw)
	}
	// Made while the old agent drains: the old agent answers it, or it waits in the
	// socket for the next one.
	t0 := time.Now()
	during := sessionInfo(t, sock)
	t.Logf("a session-info call made right after the exit's answer, with a long poll in progress, took %v (answered by the %s agent)",
		time.Since(t0).Round(time.Microsecond), map[bool]string{true: "exiting", false: "next"}[during.PID == first.PID])

	p := <-polled
	if p.err != nil {
		t.Fatalf("the long poll in progress at the exit: %v", p.err)
	}
	var st wire.NotificationStatus
	wantSync(t, "the long poll in progress at the exit", p.r, &st)
	if st.ID != posted.ID || st.State != wire.NotificationStateShown {
		t.Errorf("the long poll answered %+v, want notification %s still shown", st, posted.ID)
	}
	testenv.WaitFor(t, 30*time.Second, "the exited agent to be gone", func() bool {
		return syscall.Kill(first.PID, 0) != nil
	})
	if next := sessionInfo(t, sock); next.PID == first.PID {
		t.Errorf("the call after the exit was answered by the exited agent (pid %d)", first.PID)
	}
}

// acceptedConns counts the connections the agent has accepted on sock and not closed:
// the sockets of /proc/net/unix bound to its path and connected (state 03).
func acceptedConns(t *testing.T, sock string) int {
	t.Helper()
	data, err := os.ReadFile("/proc/net/unix")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) == 8 && f[7] == sock && f[5] == "03" {
			n++
		}
	}
	return n
}
