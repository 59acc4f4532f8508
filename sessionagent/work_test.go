package sessionagent_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/snapcore-ng/usersession-agent/sessionagent"
	"github.com/snapcore-ng/usersession-agent/testkit/testenv"
	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

// blockingServices is fakeServices whose Control blocks until released: service work
// in progress.
type blockingServices struct {
	fakeServices
	started chan struct{}
	release chan struct{}
}

func newBlockingServices() *blockingServices {
	return &blockingServices{started: make(chan struct{}, 10), release: make(chan struct{})}
}

func (b *blockingServices) Control(ctx context.Context, inst wire.ServiceInstruction) (*wire.ServiceControlResult, error) {
	b.started <- struct{}{}
	<-b.release
	return b.fakeServices.Control(ctx, inst)
}

// doAsync sends one request in the background; the answer (or the error) arrives on
// the channel.
func (ta *testAgent) doAsync(method, path, body string) <-chan *answer {
	answers := make(chan *answer, 1)
	go func() {
		req, _ := http.NewRequest(method, "http://agent"+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rsp, err := ta.client().Do(req)
		if err != nil {
			answers <- &answer{err: err}
			return
		}
		defer rsp.Body.Close()
		a := &answer{rsp: rsp}
		a.body, a.err = io.ReadAll(rsp.Body)
		json.Unmarshal(a.body, &a.env)
		answers <- a
	}()
	return answers
}

// startWork starts a service-control request that blocks in the backend until
// b.release is closed.
func (ta *testAgent) startWork(b *blockingServices) <-chan *answer {
	ta.t.Helper()
	work := ta.doAsync("POST", wire.PathServiceControl, `{"action":"start","services":["snap.a.one","snap.a.two"]}`)
	select {
	case <-b.started:
	case <-time.After(5 * time.Second):
		ta.t.Fatal("service work did not start")
	}
	return work
}

func wantWorkAnswered(t *testing.T, work <-chan *answer) {
	t.Helper()
	a := <-work
	if a.err != nil || a.rsp.StatusCode != 200 || string(a.env.Result) != `{"killed":["snap.a.b.service"]}` {
		t.Fatalf("service work in progress at the exit: %v %s", a.err, a.body)
	}
}

// An exit request during service work waits for the work to be done and answered,
// and no new work starts meanwhile; other calls are still answered at once.
func TestExitRequestWaitsForServiceWorkInProgress(t *testing.T) {
	t.Parallel()
	b := newBlockingServices()
	ta := startAgent(t, sessionagent.Config{Services: b})
	work := ta.startWork(b)
	exit := ta.doAsync("POST", wire.PathAgentExit, "")

	// New service work is refused as soon as the exit has started.
	testenv.WaitFor(t, 5*time.Second, "new service work to be refused", func() bool {
		a := ta.do("POST", wire.PathAppControl, jsonHeader(), strings.NewReader(`{"action":"kill","snaps":["foo"]}`))
		return a.rsp.StatusCode == 503 && a.errorResult(t).Kind == wire.ErrorKindAgentExiting
	})
	// A call during the exit is answered, not queued.
	start := time.Now()
	ta.sessionInfo()
	t.Logf("a session-info call during the exit's wait took %v", time.Since(start))
	select {
	case a := <-exit:
		t.Fatalf("the exit was answered with service work in progress: %v %s", a.err, a.body)
	default:
	}
	if !ta.running() {
		t.Fatal("the agent exited with service work in progress")
	}

	close(b.release)
	wantWorkAnswered(t, work)
	if a := <-exit; a.err != nil || a.rsp.StatusCode != 200 {
		t.Fatalf("exit: %v %s", a.err, a.body)
	}
	ta.waitExit(5 * time.Second)
}

// SIGTERM during service work: the agent waits for the work (within the work's own
// deadline, whatever ShutdownTimeout says) and answers it, and meanwhile answers the
// calls that come instead of leaving them in the socket's queue.
func TestSignalWaitsForServiceWorkAndAnswersOtherCalls(t *testing.T) {
	t.Parallel()
	b := newBlockingServices()
	const shutdown = 100 * time.Millisecond
	ta := startAgent(t, sessionagent.Config{Services: b, ShutdownTimeout: shutdown})
	work := ta.startWork(b)
	ta.cancel()
	testenv.WaitFor(t, 5*time.Second, "the exit to wait for the work", func() bool {
		return strings.Contains(ta.logs.String(), "waiting for the service work in progress")
	})
	// Longer than the shutdown timeout: the work is not cut short.
	time.Sleep(3 * shutdown)
	start := time.Now()
	ta.sessionInfo()
	t.Logf("a session-info call during the exit took %v", time.Since(start))
	if !ta.running() {
		t.Fatal("the agent exited with service work in progress")
	}
	close(b.release)
	wantWorkAnswered(t, work)
	ta.waitExit(5 * time.Second)
}
