package integration_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/snapcore-ng/usersession-agent/testkit/testenv"
	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

func TestFirstConnectSocketActivatesTheAgent(t *testing.T) {
	t.Parallel()
	s := agentSession(t, 0)
	if st := unitState(t, s, "snapd.session-agent.socket"); st != "active" {
		t.Fatalf("agent socket unit is %q, want active", st)
	}
	if pid := agentPID(t, s); pid != 0 {
		t.Fatalf("the agent runs (pid %d) before anyone connected", pid)
	}
	fi, err := os.Stat(s.AgentSocket())
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Fatalf("agent socket has mode %v, want a socket with 0600", fi.Mode())
	}

	info := sessionInfo(t, s.AgentSocket())

	pid := agentPID(t, s)
	if pid == 0 {
		t.Fatalf("the agent is not running after answering")
	}
	if info.PID != pid || info.UID == nil || *info.UID != s.UID || info.Version == "" {
		t.Fatalf("session info %+v, want pid %d and uid %d", info, pid, s.UID)
	}
	// The agent also owns its well-known name on the session's bus (off the path of
	// the first answer, so it may take a moment).
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := s.Run("dbus-send", "--session", "--print-reply", "--dest=org.freedesktop.DBus",
			"/org/freedesktop/DBus", "org.freedesktop.DBus.GetConnectionUnixProcessID", "string:io.snapcraft.SessionAgent")
		if err == nil && strings.Contains(out, fmt.Sprintf("uint32 %d", pid)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the agent (pid %d) does not own io.snapcraft.SessionAgent on the session bus: %v\n%s", pid, err, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, f := range []string{wire.PathSessionInfo, wire.PathAgentExit} {
		if !containsFeature(info.Features, f) {
			t.Errorf("features %v do not list %s", info.Features, f)
		}
	}
}

func containsFeature(features []string, path string) bool {
	name := path[strings.LastIndex(path, "/")+1:]
	for _, f := range features {
		if f == name || f == path {
			return true
		}
	}
	return false
}

func TestRootAndOwnerAreServedAThirdUserIsRefused(t *testing.T) {
	t.Parallel()
	s := agentSession(t, 0)
	sock := s.AgentSocket()

	// root
	sessionInfo(t, sock)

	// the owner, from inside its own session
	out, err := s.Run("curl", "-sS", "--unix-socket", sock, "http://localhost/v1/session-info")
	if err != nil || !strings.Contains(out, `"type":"sync"`) {
		t.Fatalf("the owner was not served: %v\n%s", err, out)
	}

	// A third uid can only reach the socket if the owner opens it up; the agent must
	// still refuse it.
	for _, p := range []struct {
		path string
		mode os.FileMode
	}{{s.RuntimeDir, 0o711}, {sock, 0o666}} {
		if err := os.Chmod(p.path, p.mode); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
		"curl", "-sS", "-w", "\n%{http_code}", "--unix-socket", sock, "http://localhost/v1/session-info")
	outb, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("nobody could not talk to the socket at all: %v\n%s", err, outb)
	}
	body, code, _ := strings.Cut(strings.TrimSpace(string(outb)), "\n")
	if code != "403" {
		t.Fatalf("nobody got HTTP %s, want 403: %s", code, body)
	}
	var env wire.Response
	var res wire.ErrorResult
	if err := json.Unmarshal([]byte(body), &env); err != nil || env.Type != wire.ResponseTypeError {
		t.Fatalf("403 without a JSON error envelope: %s", body)
	}
	if err := json.Unmarshal(env.Result, &res); err != nil || res.Kind != wire.ErrorKindForbidden || !strings.Contains(res.Message, "65534") {
		t.Fatalf("403 error does not name the refused uid: %s", body)
	}

	// and the owner's agent still serves root afterwards
	sessionInfo(t, sock)
}

func TestIdleExitThenReactivation(t *testing.T) {
	t.Parallel()
	s := agentSession(t, 700*time.Millisecond)
	first := sessionInfo(t, s.AgentSocket())
	waitAgentGone(t, s, 10*time.Second)
	if st := unitState(t, s, agentService); st == "failed" {
		t.Fatalf("the agent service failed on idle exit")
	}
	second := sessionInfo(t, s.AgentSocket())
	if second.PID == first.PID {
		t.Fatalf("the second request was answered by the same agent (pid %d)", first.PID)
	}
}

// Requests keep coming while agents exit on idle and on request: no request may be
// lost or fail. (Quick restarts that must not fail the units:
// TestOrdinaryRestartsNeverFailTheUnitsACrashLoopIsStopped.)
func TestRequestsAcrossIdleExitsAndExitRequests(t *testing.T) {
	t.Parallel()
	idle := 300 * time.Millisecond
	s := agentSession(t, idle)
	sock := s.AgentSocket()

	pids := map[int]bool{}
	idleExits, exitCalls := 0, 0
	// The agent that answered last, from its own answer: asking the manager after the
	// answer races with the 300 ms idle exit on a loaded machine.
	last := 0
	for i := 0; i < 300; i++ {
		switch {
		case i == 150:
			r := call(t, sock, "POST", wire.PathAgentExit, "application/json", []byte("{}"))
			if r.status != 200 {
				t.Fatalf("agent-exit: %d %s", r.status, r.raw)
			}
			exitCalls++
			continue
		case i%60 == 59:
			// Pause past the idle timeout so that the agent exits.
			time.Sleep(idle + 400*time.Millisecond)
			waitAgentGone(t, s, 5*time.Second)
			if last != 0 && testenv.ProcessGone(last) {
				idleExits++
			}
		}
		r, err := tryCall(sock, "GET", wire.PathSessionInfo, "", nil)
		if err != nil {
			t.Fatalf("request %d failed: %v", i, err)
		}
		if r.status != 200 {
			t.Fatalf("request %d: status %d %s", i, r.status, r.raw)
		}
		var info wire.SessionInfo
		if err := json.Unmarshal(r.env.Result, &info); err != nil {
			t.Fatal(err)
		}
		pids[info.PID] = true
		last = info.PID
	}
	if idleExits < 3 || exitCalls < 1 {
		t.Fatalf("only %d idle exits and %d exit calls happened", idleExits, exitCalls)
	}
	if len(pids) < idleExits+exitCalls+1 {
		t.Fatalf("%d agents answered, want at least %d", len(pids), idleExits+exitCalls+1)
	}

	t.Logf("%d requests answered by %d agents across %d idle exits and %d exit calls", 300-exitCalls, len(pids), idleExits, exitCalls)
}

// Stops, starts and restarts of the socket and of the service, quicker than systemd's
// default start limit (5 in 10 s) allows, leave neither unit failed; an agent that
// fails at every start is still stopped by the service's start limit, which fails the
// socket too (the repair path is root's business).
func TestOrdinaryRestartsNeverFailTheUnitsACrashLoopIsStopped(t *testing.T) {
	t.Parallel()
	s := agentSession(t, 0)
	sock := s.AgentSocket()
	const socket = "snapd.session-agent.socket"
	wantHealthy := func(what string) {
		t.Helper()
		for _, unit := range []string{socket, agentService} {
			if st := unitState(t, s, unit); st == "failed" {
				t.Fatalf("%s is failed after %s (result %s)", unit, what, unitProp(t, s, unit, "Result"))
			}
		}
		sessionInfo(t, sock)
	}

	// One shell runs the rounds, so that they fit in systemd's 10 s window even on a
	// loaded machine.
	script := fmt.Sprintf("for i in 1 2 3 4 5 6; do systemctl --user stop %[1]s && systemctl --user start %[1]s || exit 1; done", socket)
	if out, err := s.Run("sh", "-c", script); err != nil {
		t.Fatalf("six stop/start rounds of the socket: %v\n%s", err, out)
	}
	wantHealthy("six stop/start rounds of the socket")
	for range 6 {
		sessionInfo(t, sock)
		mustSystemctl(t, s, "restart", agentService)
	}
	wantHealthy("six restarts of the service")
	for range 6 {
		sessionInfo(t, sock)
		mustSystemctl(t, s, "stop", agentService)
	}
	wantHealthy("six stops of the service, each followed by an activation")
	for range 8 {
		if r := call(t, sock, "POST", wire.PathAgentExit, "application/json", nil); r.status != 200 {
			t.Fatalf("agent-exit: %d %s", r.status, r.raw)
		}
	}
	wantHealthy("eight exit requests, each followed by an activation")

	// An agent that fails at once, every time: each failure leaves the connection
	// waiting, so the socket starts it again and again until the limit ends it.
	s.WriteUserUnit(agentService+".d/crash.conf", "[Service]\nExecStart=\nExecStart=/bin/false\n")
	mustSystemctl(t, s, "daemon-reload")
	mustSystemctl(t, s, "stop", agentService)
	if _, err := tryCall(sock, "GET", wire.PathSessionInfo, "", nil); err == nil {
		t.Fatal("an agent that fails at start answered")
	}
	testenv.WaitFor(t, 20*time.Second, "the crash loop to be stopped", func() bool {
		return unitState(t, s, socket) == "failed" && unitState(t, s, agentService) == "failed"
	})
	if r := unitProp(t, s, socket, "Result"); r != "service-start-limit-hit" {
		t.Errorf("the socket's result is %s, want service-start-limit-hit", r)
	}
}

func TestThousandIdleConnections(t *testing.T) {
	t.Parallel()
	// Long enough an idle timeout for the threads to be counted before it ends, even
	// on a loaded machine.
	s := agentSession(t, 3*time.Second)
	sock := s.AgentSocket()
	pid := sessionInfo(t, sock).PID
	before := threads(t, pid)

	conns := make([]net.Conn, 0, 1000)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < 1000; i++ {
		c, err := net.Dial("unix", sock)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		conns = append(conns, c)
	}
	// Let the agent accept them all.
	time.Sleep(500 * time.Millisecond)
	during := threads(t, pid)
	info := sessionInfo(t, sock)
	if info.PID != pid {
		t.Fatalf("a new agent (pid %d) answered while %d was holding the connections", info.PID, pid)
	}
	t.Logf("agent threads: %d before, %d with 1000 idle connections", before, during)
	if during > 40 {
		t.Fatalf("the agent runs %d threads with 1000 idle connections", during)
	}
	// Silent connections must not keep the agent alive: it closes them after its
	// header timeout and then exits on idle, although the client never hangs up.
	waitAgentGone(t, s, 30*time.Second)
}

func TestBadRequestsGetClearErrorsAndChangeNothing(t *testing.T) {
	t.Parallel()
	s := agentSession(t, 0)
	sock := s.AgentSocket()
	pid := sessionInfo(t, sock).PID

	// Just past the agent's 256 KiB cap: the client gets to send it all and read the
	// answer (much larger bodies are cut off by the agent, and the client may see its
	// write fail before it reads the 413).
	big := bytes.Repeat([]byte(" "), 300<<10)
	big = append([]byte(`{"action":"stop","services":["snap.a.b"]`), big...)
	big = append(big, '}')
	cases := []struct {
		name, method, path, ctype string
		body                      []byte
		status                    int
		kind, inMessage           string
	}{
		{"unknown path", "GET", "/v1/nothing-here", "", nil, 404, wire.ErrorKindNotFound, "/v1/nothing-here"},
		{"wrong method", "DELETE", wire.PathSessionInfo, "", nil, 405, wire.ErrorKindMethodNotAllowed, "DELETE"},
		{"malformed JSON", "POST", wire.PathAgentExit, "application/json", []byte(`{"`), 400, wire.ErrorKindBadRequest, "cannot decode"},
		// (A field the agent does not know is ignored: package wire's rules on skew.)
		{"key given twice", "POST", wire.PathAgentExit, "application/json", []byte(`{"please":"exit","please":"stay"}`), 400, wire.ErrorKindBadRequest, "please"},
		{"trailing data", "POST", wire.PathAgentExit, "application/json", []byte(`{} {}`), 400, wire.ErrorKindBadRequest, ""},
		{"wrong content type", "POST", wire.PathAgentExit, "text/plain", []byte(`{}`), 0, "", "text/plain"},
		{"wrong charset", "POST", wire.PathAgentExit, "application/json; charset=latin1", []byte(`{}`), 0, "", "latin1"},
		{"oversized body", "POST", wire.PathAgentExit, "application/json", big, 413, wire.ErrorKindRequestTooLarge, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, sock, tc.method, tc.path, tc.ctype, tc.body)
			if r.status < 400 || r.status >= 500 || (tc.status != 0 && r.status != tc.status) {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.raw)
			}
			if r.env.Type != wire.ResponseTypeError || r.errRes.Message == "" {
				t.Fatalf("no JSON error: %s", r.raw)
			}
			if tc.kind != "" && r.errRes.Kind != tc.kind {
				t.Errorf("kind %q, want %q: %s", r.errRes.Kind, tc.kind, r.raw)
			}
			if !strings.Contains(r.errRes.Message, tc.inMessage) {
				t.Errorf("message %q does not say %q", r.errRes.Message, tc.inMessage)
			}
			// The agent neither exited nor stopped serving.
			if got := sessionInfo(t, sock).PID; got != pid {
				t.Fatalf("agent %d was replaced by %d after a bad request", pid, got)
			}
		})
	}
}
