package sessionagent_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/snapcore-ng/usersession-agent/sessionagent"
	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

// longIdle is an idle timeout no test waits for: only the hint can explain an exit.
const longIdle = 10 * time.Minute

func hinted(value string) http.Header {
	return http.Header{wire.HeaderExitWhenIdle: {value}}
}

// A hinted request answered while another is in progress: the agent stays until that
// one is answered too, then exits at once, through the usual drain (a connection
// accepted before the exit is still served).
func TestExitWhenIdleHintExitsOnceNothingIsInProgress(t *testing.T) {
	t.Parallel()
	slow := newSlowRoute()
	ta := startAgent(t, sessionagent.Config{IdleTimeout: longIdle, ReadHeaderTimeout: 5 * time.Second}, slow.add)
	// Accepted before everything below, and silent until the agent exits.
	waiting := ta.dialRaw()
	answers := ta.callSlow(slow)

	if a := ta.do("GET", wire.PathSessionInfo, hinted("true"), nil); a.rsp.StatusCode != 200 {
		t.Fatalf("hinted session-info: %d %s", a.rsp.StatusCode, a.body)
	}
	time.Sleep(300 * time.Millisecond)
	if !ta.running() || strings.Contains(ta.logs.String(), "exiting") {
		t.Fatal("the agent exits with a request in progress")
	}

	close(slow.release)
	if a := <-answers; a.err != nil || a.rsp.StatusCode != 200 || string(a.env.Result) != `"done"` {
		t.Fatalf("request in progress when the hinted one was answered: %v %s", a.err, a.body)
	}
	ta.wantServedOnceExiting(waiting)
	ta.waitExit(10 * time.Second)
	if want := `reason="idle after a request with Snap-Agent-Exit-When-Idle: true"`; !strings.Contains(ta.logs.String(), want) {
		t.Errorf("exit reason %s not logged:\n%s", want, ta.logs)
	}
	// No service work was in progress: an exit that says it waits for some misleads
	// whoever reads the journal, and every hinted call now ends in an exit.
	if strings.Contains(ta.logs.String(), "waiting for the service work") {
		t.Errorf("an exit without service work says it waits for some:\n%s", ta.logs)
	}
}

// Without the header, or with another value than "true", the agent lingers for its
// idle timeout.
func TestRequestsWithoutTheExitHintDoNotEndTheAgent(t *testing.T) {
	t.Parallel()
	ta := startAgent(t, sessionagent.Config{IdleTimeout: longIdle})
	for _, h := range []http.Header{nil, hinted("false"), hinted("1"), hinted("TRUE"), hinted("")} {
		if a := ta.do("GET", wire.PathSessionInfo, h, nil); a.rsp.StatusCode != 200 {
			t.Fatalf("session-info with %v: %d %s", h, a.rsp.StatusCode, a.body)
		}
	}
	time.Sleep(500 * time.Millisecond)
	if !ta.running() || strings.Contains(ta.logs.String(), "exiting") {
		t.Fatalf("the agent exited without a hint:\n%s", ta.logs)
	}
	ta.sessionInfo()
}
