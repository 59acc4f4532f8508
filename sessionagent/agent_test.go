package sessionagent_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/snapcore-ng/usersession-agent/sessionagent"
	"github.com/snapcore-ng/usersession-agent/testkit/testenv"
	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

// Endpoints the tests add to their agents through the exported API.
const (
	pathInstruction = "/test/instruction"
	pathSlow        = "/test/slow"
)

// withInstructionRoute adds POST /test/instruction, which decodes a service instruction
// as the service endpoints will and answers it back.
func withInstructionRoute(a *sessionagent.Agent) {
	a.Handle(&sessionagent.Command{Path: pathInstruction, POST: func(a *sessionagent.Agent, r *http.Request) sessionagent.Response {
		var inst wire.ServiceInstruction
		if _, err := sessionagent.DecodeJSONBody(r, sessionagent.DefaultMaxRequestBody, &inst); err != nil {
			return sessionagent.ResponseForError(err)
		}
		return sessionagent.SyncResponse(&inst)
	}})
}

// slowRoute is GET /test/slow: it tells started when it runs and answers when release
// is closed (or its context ends).
type slowRoute struct {
	started chan struct{}
	release chan struct{}
}

func newSlowRoute() *slowRoute {
	return &slowRoute{started: make(chan struct{}, 10), release: make(chan struct{})}
}

func (s *slowRoute) add(a *sessionagent.Agent) {
	a.Handle(&sessionagent.Command{Path: pathSlow, GET: func(a *sessionagent.Agent, r *http.Request) sessionagent.Response {
		s.started <- struct{}{}
		select {
		case <-s.release:
			return sessionagent.SyncResponse("done")
		case <-r.Context().Done():
			return sessionagent.InternalError("cancelled: %v", r.Context().Err())
		}
	}})
}

// callSlow sends GET /test/slow in the background; the answer (or the error) arrives on
// the channel.
func (ta *testAgent) callSlow(s *slowRoute) <-chan *answer {
	answers := make(chan *answer, 1)
	go func() {
		rsp, err := ta.client().Get("http://agent" + pathSlow)
		if err != nil {
			answers <- &answer{err: err}
			return
		}
		defer rsp.Body.Close()
		a := &answer{rsp: rsp}
		a.body, _ = io.ReadAll(rsp.Body)
		json.Unmarshal(a.body, &a.env)
		answers <- a
	}()
	select {
	case <-s.started:
	case <-time.After(5 * time.Second):
		ta.t.Fatal("slow request did not start")
	}
	return answers
}

func TestSessionInfoSaysWhoAnswers(t *testing.T) {
	t.Parallel()
	ta := startAgent(t, sessionagent.Config{})
	a := ta.do("GET", wire.PathSessionInfo, nil, nil)
	if a.rsp.StatusCode != 200 {
		t.Fatalf("status %d: %s", a.rsp.StatusCode, a.body)
	}
	var info wire.SessionInfo
	if err := json.Unmarshal(a.env.Result, &info); err != nil {
		t.Fatal(err)
	}
	// The service endpoints add their own features; these two are always there.
	for _, f := range []string{"agent-exit", "session-info"} {
		if !slices.Contains(info.Features, f) {
			t.Errorf("features %q lack %q", info.Features, f)
		}
	}
	features, _ := json.Marshal(info.Features)
	want := fmt.Sprintf(`{"type":"sync","status-code":200,"status":"OK","result":{"version":%q,"uid":%d,"pid":%d,"features":%s}}`,
		testVersion, os.Getuid(), os.Getpid(), features)
	if string(a.body) != want {
		t.Errorf("answer\n%s\nwant\n%s", a.body, want)
	}
	if got := a.rsp.Header.Get("Content-Length"); got != fmt.Sprint(len(want)) {
		t.Errorf("Content-Length %q, want %d", got, len(want))
	}
}

func TestClientErrorsAreAnsweredAndTheNextRequestServed(t *testing.T) {
	t.Parallel()
	ta := startAgent(t, sessionagent.Config{MaxRequestBody: 1024}, withInstructionRoute)
	const valid = `{"action":"start","services":["snap.foo.svc"]}`
	for _, tc := range []struct {
		name, method, path, contentType, body string
		chunked                               bool

		status  int
		kind    string
		message string
		allow   string
	}{{
		name: "valid", method: "POST", path: pathInstruction, contentType: "application/json", body: valid,
		status: 200,
	}, {
		name: "charset UTF-8 in any case", method: "POST", path: pathInstruction, contentType: "Application/JSON; Charset=UTF-8", body: valid,
		status: 200,
	}, {
		name: "chunked", method: "POST", path: pathInstruction, contentType: "application/json", body: valid, chunked: true,
		status: 200,
	}, {
		name: "unknown path", method: "GET", path: "/v1/nope",
		status: 404, kind: wire.ErrorKindNotFound, message: `cannot find "/v1/nope"`,
	}, {
		name: "trailing slash", method: "GET", path: wire.PathSessionInfo + "/",
		status: 404, kind: wire.ErrorKindNotFound,
	}, {
		name: "GET on a POST endpoint", method: "GET", path: wire.PathAgentExit,
		status: 405, kind: wire.ErrorKindMethodNotAllowed, allow: "POST",
	}, {
		name: "POST on a GET endpoint", method: "POST", path: wire.PathSessionInfo, contentType: "application/json", body: "{}",
		status: 405, kind: wire.ErrorKindMethodNotAllowed, allow: "GET",
	}, {
		name: "DELETE", method: "DELETE", path: wire.PathSessionInfo,
		status: 405, kind: wire.ErrorKindMethodNotAllowed, allow: "GET",
	}, {
		name: "no content type", method: "POST", path: pathInstruction, body: valid,
		status: 415, kind: wire.ErrorKindUnsupportedMedia, message: "no content type",
	}, {
		name: "wrong content type", method: "POST", path: pathInstruction, contentType: "text/plain", body: valid,
		status: 415, kind: wire.ErrorKindUnsupportedMedia, message: `content type "text/plain" is not application/json`,
	}, {
		name: "latin1", method: "POST", path: pathInstruction, contentType: "application/json; charset=latin1", body: valid,
		status: 415, kind: wire.ErrorKindUnsupportedMedia, message: `charset "latin1" is not UTF-8`,
	}, {
		name: "malformed content type", method: "POST", path: pathInstruction, contentType: "application/json; charset", body: valid,
		status: 415, kind: wire.ErrorKindUnsupportedMedia, message: "invalid content type",
	}, {
		name: "malformed JSON", method: "POST", path: pathInstruction, contentType: "application/json", body: `{"action":`,
		status: 400, kind: wire.ErrorKindBadRequest, message: "cannot decode request body: unexpected EOF",
	}, {
		name: "empty body", method: "POST", path: pathInstruction, contentType: "application/json",
		status: 400, kind: wire.ErrorKindBadRequest, message: "cannot decode request body: empty body",
	}, {
		name: "trailing data", method: "POST", path: pathInstruction, contentType: "application/json", body: valid + " x",
		status: 400, kind: wire.ErrorKindBadRequest, message: "unexpected data after the JSON value at offset 47",
	}, {
		name: "two JSON values", method: "POST", path: pathInstruction, contentType: "application/json", body: valid + valid,
		status: 400, kind: wire.ErrorKindBadRequest, message: "unexpected data after the JSON value",
	}, {
		name: "unknown field ignored", method: "POST", path: pathInstruction, contentType: "application/json", body: `{"action":"start","foo":1}`,
		status: 200,
	}, {
		name: "key given twice", method: "POST", path: pathInstruction, contentType: "application/json", body: `{"action":"start","action":"stop"}`,
		status: 400, kind: wire.ErrorKindBadRequest, message: `cannot decode request body: key "action" given twice`,
	}, {
		name: "wrong type", method: "POST", path: pathInstruction, contentType: "application/json", body: `{"services":"snap.foo.svc"}`,
		status: 400, kind: wire.ErrorKindBadRequest, message: "cannot decode request body: cannot unmarshal string",
	}, {
		name: "invalid UTF-8", method: "POST", path: pathInstruction, contentType: "application/json", body: "{\"action\":\"\xff\"}",
		status: 400, kind: wire.ErrorKindBadRequest, message: "not valid UTF-8",
	}, {
		name: "oversized body", method: "POST", path: pathInstruction, contentType: "application/json", body: strings.Repeat(" ", 2048) + "{}",
		status: 413, kind: wire.ErrorKindRequestTooLarge, message: "larger than 1024 bytes",
	}, {
		name: "oversized chunked body", method: "POST", path: pathInstruction, contentType: "application/json", body: strings.Repeat(" ", 2048) + "{}", chunked: true,
		status: 413, kind: wire.ErrorKindRequestTooLarge, message: "larger than 1024 bytes",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
				if tc.chunked {
					// A reader of unknown length makes the client send chunks.
					body = io.MultiReader(body)
				}
			}
			header := http.Header{}
			if tc.contentType != "" {
				header.Set("Content-Type", tc.contentType)
			}
			a := ta.do(tc.method, tc.path, header, body)
			if a.rsp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", a.rsp.StatusCode, tc.status, a.body)
			}
			if tc.status == 200 {
				var inst wire.ServiceInstruction
				if err := json.Unmarshal(a.env.Result, &inst); err != nil || inst.Action != "start" {
					t.Errorf("result %s (%v), want the instruction back", a.env.Result, err)
				}
			} else {
				res := a.errorResult(t)
				if res.Kind != tc.kind || !strings.Contains(res.Message, tc.message) {
					t.Errorf("error kind %q message %q, want kind %q message containing %q", res.Kind, res.Message, tc.kind, tc.message)
				}
			}
			if got := a.rsp.Header.Get("Allow"); got != tc.allow {
				t.Errorf("Allow %q, want %q", got, tc.allow)
			}
			ta.sessionInfo()
		})
	}
}

func TestDebugLogSaysWhatEachRequestAsks(t *testing.T) {
	t.Parallel()
	ta := startAgent(t, sessionagent.Config{}, withInstructionRoute)
	json := http.Header{"Content-Type": {"application/json"}}
	a := ta.do("POST", pathInstruction, json, strings.NewReader(`{"action":"stop","services":["snap.a.b.service"]}`))
	if a.rsp.StatusCode != 200 || !strings.Contains(string(a.body), `"services":["snap.a.b.service"]`) {
		t.Fatalf("the handler did not get the whole body once it was logged: %d %s", a.rsp.StatusCode, a.body)
	}
	ta.do("GET", wire.PathServiceStatus+"?services=snap.a.b.service", nil, nil)
	long := `{"action":"start","services":["` + strings.Repeat("x", 1000) + `"]}`
	ta.do("POST", pathInstruction, json, strings.NewReader(long))
	logs := ta.logs.String()
	for _, want := range []string{
		`level=DEBUG msg=request method=POST path=/test/instruction query="" body="{\"action\":\"stop\",\"services\":[\"snap.a.b.service\"]}"`,
		`level=DEBUG msg=request method=GET path=/v1/service-status query="services=snap.a.b.service" body=""`,
		`body="{\"action\":\"start\",\"services\":[\"` + strings.Repeat("x", 512-len(`{"action":"start","services":["`)) + `..."`,
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log has no line with\n%s\nin:\n%s", want, logs)
		}
	}
}

func TestOversizedHeadersAreRefused(t *testing.T) {
	t.Parallel()
	ta := startAgent(t, sessionagent.Config{MaxHeaderBytes: 1024})
	conn := ta.dialRaw()
	// Go's server allows 4 KiB on top of MaxHeaderBytes.
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: agent\r\nX-Big: %s\r\n\r\n", wire.PathSessionInfo, strings.Repeat("x", 8<<10))
	rsp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	rsp.Body.Close()
	// Go's server answers this one itself, in plain text, before any handler runs.
	if rsp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("status %d, want 431", rsp.StatusCode)
	}
	ta.sessionInfo()
}

func TestHandlerPanicIsAnInternalError(t *testing.T) {
	t.Parallel()
	ta := startAgent(t, sessionagent.Config{}, func(a *sessionagent.Agent) {
		a.Handle(&sessionagent.Command{Path: "/test/panic", GET: func(*sessionagent.Agent, *http.Request) sessionagent.Response {
			panic("boom")
		}})
	})
	a := ta.do("GET", "/test/panic", nil, nil)
	if a.rsp.StatusCode != 500 || a.errorResult(t).Kind != wire.ErrorKindInternal {
		t.Fatalf("answer %d %s, want 500 internal-error", a.rsp.StatusCode, a.body)
	}
	if !strings.Contains(ta.logs.String(), "boom") {
		t.Errorf("panic not logged:\n%s", ta.logs)
	}
	ta.sessionInfo()
}

func TestHandleRefusesDuplicatesAndBadCommands(t *testing.T) {
	t.Parallel()
	agent := sessionagent.New(sessionagent.Config{})
	get := func(*sessionagent.Agent, *http.Request) sessionagent.Response { return sessionagent.SyncResponse(nil) }
	for _, tc := range []struct {
		name string
		cmd  *sessionagent.Command
	}{
		{"duplicate of a package endpoint", &sessionagent.Command{Path: wire.PathSessionInfo, GET: get}},
		{"relative path", &sessionagent.Command{Path: "v1/x", GET: get}},
		{"no handler", &sessionagent.Command{Path: "/v1/x"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("Handle did not panic")
				}
			}()
			agent.Handle(tc.cmd)
		})
	}
}

func TestIdleAgentExits(t *testing.T) {
	t.Parallel()
	ta := startAgent(t, sessionagent.Config{IdleTimeout: 200 * time.Millisecond})
	took := ta.waitExit(5 * time.Second)
	t.Logf("exited %v after the test started waiting", took)
	if !strings.Contains(ta.logs.String(), "idle for 200ms") {
		t.Errorf("exit reason not logged:\n%s", ta.logs)
	}
}

func TestRequestInProgressKeepsAgentAlive(t *testing.T) {
	t.Parallel()
	slow := newSlowRoute()
	ta := startAgent(t, sessionagent.Config{IdleTimeout: 200 * time.Millisecond}, slow.add)
	answers := ta.callSlow(slow)
	time.Sleep(700 * time.Millisecond)
	if !ta.running() {
		t.Fatal("agent exited with a request in progress")
	}
	close(slow.release)
	if a := <-answers; a.err != nil || a.rsp.StatusCode != 200 {
		t.Fatalf("slow request: %v %s", a.err, a.body)
	}
	// Idle again from the end of the request.
	took := ta.waitExit(5 * time.Second)
	if took < 100*time.Millisecond {
		t.Errorf("exited %v after the request ended, want about the idle timeout", took)
	}
}

func TestSilentConnectionDoesNotKeepAgentAlive(t *testing.T) {
	t.Parallel()
	ta := startAgent(t, sessionagent.Config{
		IdleTimeout:       200 * time.Millisecond,
		ReadHeaderTimeout: 500 * time.Millisecond,
	})
	conn := ta.dialRaw()
	// The exit drain waits for every accepted connection to be answered; for one
	// that sends nothing, the header timeout ends that wait.
	took := ta.waitExit(3 * time.Second)
	t.Logf("exited %v after a silent connection was opened", took)
	conn.SetReadDeadline(time.Now().Add(time.Second))
	if n, err := conn.Read(make([]byte, 1)); err == nil {
		t.Errorf("silent connection read %d bytes, want it closed", n)
	}
}

func TestConnectionAcceptedBeforeIdleExitIsServed(t *testing.T) {
	t.Parallel()
	ta := startAgent(t, sessionagent.Config{
		IdleTimeout:       200 * time.Millisecond,
		ReadHeaderTimeout: 3 * time.Second,
	})
	conn := ta.dialRaw()
	// The agent decides to exit while this connection has not sent its request yet.
	ta.wantServedOnceExiting(conn)
	ta.waitExit(3 * time.Second)
}

func TestAgentExitAnswersThenExits(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, contentType, body string
	}{
		{"empty body", "", ""},
		{"empty object", "application/json", "{}"},
		// A newer client's field: ignored, and said so at debug level.
		{"unknown field", "application/json", `{"later":true}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ta := startAgent(t, sessionagent.Config{})
			header := http.Header{}
			if tc.contentType != "" {
				header.Set("Content-Type", tc.contentType)
			}
			a := ta.do("POST", wire.PathAgentExit, header, strings.NewReader(tc.body))
			if want := `{"type":"sync","status-code":200,"status":"OK","result":null}`; a.rsp.StatusCode != 200 || string(a.body) != want {
				t.Fatalf("answer %d %s, want 200 %s", a.rsp.StatusCode, a.body, want)
			}
			ta.waitExit(5 * time.Second)
			if !strings.Contains(ta.logs.String(), fmt.Sprintf("exit requested by uid %d pid %d", os.Getuid(), os.Getpid())) {
				t.Errorf("exit reason not logged:\n%s", ta.logs)
			}
			ignored := strings.Contains(ta.logs.String(), `level=DEBUG msg="ignoring unknown request fields" path=/v1/agent-exit fields=[later]`)
			if ignored != (tc.name == "unknown field") {
				t.Errorf("ignored fields logged: %v:\n%s", ignored, ta.logs)
			}
		})
	}
}

func TestAgentExitWithBadBodyDoesNotExit(t *testing.T) {
	t.Parallel()
	ta := startAgent(t, sessionagent.Config{})
	a := ta.do("POST", wire.PathAgentExit, jsonHeader(), strings.NewReader(`{"now":true,"now":false}`))
	if a.rsp.StatusCode != 400 || !strings.Contains(a.errorResult(t).Message, `key "now" given twice`) {
		t.Fatalf("answer %d %s, want 400 key given twice", a.rsp.StatusCode, a.body)
	}
	time.Sleep(100 * time.Millisecond)
	ta.sessionInfo()
}

func TestCancelDrainsRequestsInProgress(t *testing.T) {
	t.Parallel()
	slow := newSlowRoute()
	ta := startAgent(t, sessionagent.Config{}, slow.add)
	answers := ta.callSlow(slow)
	ta.cancel()
	testenv.WaitFor(t, 3*time.Second, "the exit to start", func() bool { return strings.Contains(ta.logs.String(), "exiting") })
	time.Sleep(100 * time.Millisecond)
	if !ta.running() {
		t.Fatal("agent exited with a request in progress")
	}
	close(slow.release)
	a := <-answers
	if a.err != nil || a.rsp.StatusCode != 200 || string(a.env.Result) != `"done"` {
		t.Fatalf("request in progress at the signal: %v %s", a.err, a.body)
	}
	ta.waitExit(5 * time.Second)
}

func TestShutdownTimeoutCancelsStuckRequests(t *testing.T) {
	t.Parallel()
	slow := newSlowRoute()
	ta := startAgent(t, sessionagent.Config{ShutdownTimeout: 300 * time.Millisecond}, slow.add)
	answers := ta.callSlow(slow)
	ta.cancel()
	took := ta.waitExit(5 * time.Second)
	t.Logf("exited %v after the signal with a stuck request", took)
	// The request was cancelled and its connection closed: the client gets an error,
	// or the handler's answer to the cancellation if it was quick enough.
	if a := <-answers; a.err == nil && a.rsp.StatusCode == 200 {
		t.Errorf("stuck request answered 200 %s, want it cancelled", a.body)
	}
	if !strings.Contains(ta.logs.String(), "requests still in progress at the shutdown timeout") {
		t.Errorf("forced close not logged:\n%s", ta.logs)
	}
}

func TestTooManyConnectionsAreRefused(t *testing.T) {
	t.Parallel()
	ta := startAgent(t, sessionagent.Config{MaxConns: 2})
	first, _ := ta.dialRaw(), ta.dialRaw()
	a := ta.do("GET", wire.PathSessionInfo, nil, nil)
	if a.rsp.StatusCode != 503 || a.errorResult(t).Kind != wire.ErrorKindTooManyConnections {
		t.Fatalf("answer %d %s, want 503 too-many-connections", a.rsp.StatusCode, a.body)
	}
	first.Close()
	testenv.WaitFor(t, 3*time.Second, "a free connection slot", func() bool {
		rsp, err := ta.client().Get("http://agent" + wire.PathSessionInfo)
		if err != nil {
			return false
		}
		rsp.Body.Close()
		return rsp.StatusCode == 200
	})
}

func TestHandlersSeeThePeerCredentials(t *testing.T) {
	t.Parallel()
	var got []sessionagent.PeerCred
	ta := startAgent(t, sessionagent.Config{}, func(a *sessionagent.Agent) {
		a.Handle(&sessionagent.Command{Path: "/test/whoami", GET: func(_ *sessionagent.Agent, r *http.Request) sessionagent.Response {
			cred, ok := sessionagent.PeerCredFromContext(r.Context())
			if !ok {
				return sessionagent.InternalError("no peer credentials")
			}
			got = append(got, cred)
			return sessionagent.SyncResponse(cred)
		}})
	})
	if a := ta.do("GET", "/test/whoami", nil, nil); a.rsp.StatusCode != 200 {
		t.Fatalf("%d %s", a.rsp.StatusCode, a.body)
	}
	want := sessionagent.PeerCred{UID: uint32(os.Getuid()), GID: uint32(os.Getgid()), PID: int32(os.Getpid())}
	if len(got) != 1 || got[0] != want {
		t.Errorf("peer %+v, want %+v", got, want)
	}
}
