package sessionagent_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/snapcore-ng/usersession-agent/internal/logger"
	"github.com/snapcore-ng/usersession-agent/sessionagent"
	"github.com/snapcore-ng/usersession-agent/testkit/testenv"
	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

const testVersion = "1.2.3-test"

// testAgent is an agent running in the test process on a socket in a temporary
// directory.
type testAgent struct {
	t       testing.TB
	path    string
	cancel  context.CancelFunc
	stopped chan struct{}
	err     error
	logs    *syncBuffer
}

// startAgent runs an agent with cfg (Version, Listener and Logger filled in) after
// setup, and stops it at the end of the test.
func startAgent(t testing.TB, cfg sessionagent.Config, setup ...func(*sessionagent.Agent)) *testAgent {
	t.Helper()
	path := filepath.Join(t.TempDir(), "agent.socket")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listener = l
	return runAgent(t, path, cfg, setup...)
}

// runAgent runs an agent with cfg, which says where it listens (path).
func runAgent(t testing.TB, path string, cfg sessionagent.Config, setup ...func(*sessionagent.Agent)) *testAgent {
	t.Helper()
	if cfg.Version == "" {
		cfg.Version = testVersion
	}
	logs := &syncBuffer{}
	cfg.Logger = logger.New(logs, true)
	agent := sessionagent.New(cfg)
	for _, f := range setup {
		f(agent)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ta := &testAgent{t: t, path: path, cancel: cancel, stopped: make(chan struct{}), logs: logs}
	go func() {
		defer close(ta.stopped)
		ta.err = agent.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-ta.stopped:
		case <-time.After(20 * time.Second):
			t.Error("agent did not stop")
		}
		if t.Failed() {
			t.Logf("agent log:\n%s", logs)
		}
	})
	return ta
}

// waitExit waits up to timeout for Run to return, and returns how long it took.
func (ta *testAgent) waitExit(timeout time.Duration) time.Duration {
	ta.t.Helper()
	start := time.Now()
	select {
	case <-ta.stopped:
		if ta.err != nil {
			ta.t.Fatalf("Run returned %v", ta.err)
		}
		return time.Since(start)
	case <-time.After(timeout):
		ta.t.Fatalf("agent still running after %v", timeout)
		return 0
	}
}

// running says whether Run has not returned yet.
func (ta *testAgent) running() bool {
	select {
	case <-ta.stopped:
		return false
	default:
		return true
	}
}

// client returns an HTTP client that opens a new connection per request.
func (ta *testAgent) client() *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "unix", ta.path)
			},
			DisableKeepAlives: true,
		},
		Timeout: 10 * time.Second,
	}
}

// answer is an agent's answer: the HTTP response, its raw body and its envelope.
type answer struct {
	err  error
	rsp  *http.Response
	body []byte
	env  wire.Response
}

// errorResult decodes the result of an error answer.
func (a *answer) errorResult(t testing.TB) wire.ErrorResult {
	t.Helper()
	if a.env.Type != wire.ResponseTypeError {
		t.Fatalf("answer type %q, want error: %s", a.env.Type, a.body)
	}
	var res wire.ErrorResult
	if err := json.Unmarshal(a.env.Result, &res); err != nil {
		t.Fatalf("cannot decode error result %s: %v", a.env.Result, err)
	}
	return res
}

// do sends one request on a new connection and checks that the answer is a well-formed
// envelope repeating the HTTP status.
func (ta *testAgent) do(method, path string, header http.Header, body io.Reader) *answer {
	ta.t.Helper()
	req, err := http.NewRequest(method, "http://agent"+path, body)
	if err != nil {
		ta.t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	rsp, err := ta.client().Do(req)
	if err != nil {
		ta.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer rsp.Body.Close()
	a := &answer{rsp: rsp}
	if a.body, err = io.ReadAll(rsp.Body); err != nil {
		ta.t.Fatalf("%s %s: cannot read answer: %v", method, path, err)
	}
	if ct := rsp.Header.Get("Content-Type"); ct != "application/json" {
		ta.t.Fatalf("%s %s: content type %q, want application/json", method, path, ct)
	}
	if err := json.Unmarshal(a.body, &a.env); err != nil {
		ta.t.Fatalf("%s %s: cannot decode answer %q: %v", method, path, a.body, err)
	}
	if a.env.StatusCode != rsp.StatusCode || a.env.Status != http.StatusText(rsp.StatusCode) {
		ta.t.Fatalf("%s %s: envelope status %d %q, HTTP status %d", method, path, a.env.StatusCode, a.env.Status, rsp.StatusCode)
	}
	return a
}

// sessionInfo asks for session-info and checks the answer is 200.
func (ta *testAgent) sessionInfo() wire.SessionInfo {
	ta.t.Helper()
	a := ta.do("GET", wire.PathSessionInfo, nil, nil)
	if a.rsp.StatusCode != 200 {
		ta.t.Fatalf("session-info: %d %s", a.rsp.StatusCode, a.body)
	}
	var info wire.SessionInfo
	if err := json.Unmarshal(a.env.Result, &info); err != nil {
		ta.t.Fatal(err)
	}
	return info
}

// dialRaw opens a connection to the agent and closes it at the end of the test.
func (ta *testAgent) dialRaw() net.Conn {
	ta.t.Helper()
	conn, err := net.Dial("unix", ta.path)
	if err != nil {
		ta.t.Fatal(err)
	}
	ta.t.Cleanup(func() { conn.Close() })
	return conn
}

// wantServedOnceExiting waits for the agent to decide to exit, then sends a request on
// conn, a connection it accepted before, and checks that it is answered.
func (ta *testAgent) wantServedOnceExiting(conn net.Conn) {
	ta.t.Helper()
	testenv.WaitFor(ta.t, 10*time.Second, "the exit to start", func() bool { return strings.Contains(ta.logs.String(), "exiting") })
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: agent\r\n\r\n", wire.PathSessionInfo)
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	rsp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		ta.t.Fatalf("request on a connection accepted before the exit: %v", err)
	}
	rsp.Body.Close()
	if rsp.StatusCode != 200 {
		ta.t.Fatalf("request on a connection accepted before the exit: status %d", rsp.StatusCode)
	}
}

func jsonHeader() http.Header {
	return http.Header{"Content-Type": {"application/json"}}
}

func newReader(r io.Reader) *bufio.Reader { return bufio.NewReader(r) }

// syncBuffer collects the agent's log from its goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
