package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/snapcore-ng/usersession-agent/usersession/client/clienttest"
)

// Fleets re-execute this test binary as agents of other uids.
func init() { clienttest.MaybeRunAgent() }

// sessionsFleet runs agents for the given uids and points `snap sessions` at them.
func sessionsFleet(t *testing.T, agents map[int]string) *clienttest.Fleet {
	t.Helper()
	clienttest.RequireRoot(t)
	f := clienttest.NewFleet(t)
	for uid, behaviour := range agents {
		f.Start(uid, behaviour)
	}
	t.Setenv(envRuntimeDir, f.Base)
	return f
}

func runSnap(t *testing.T, args ...string) (stdout, stderr string, status int) {
	t.Helper()
	var out, errOut bytes.Buffer
	status = run(args, &cmdEnv{stdout: &out, stderr: &errOut})
	return out.String(), errOut.String(), status
}

func TestSessionsListShowsEverySessionAndFailsIfOneDid(t *testing.T) {
	sessionsFleet(t, map[int]string{65534: clienttest.Real, 43001: clienttest.Snapd, 43002: clienttest.BadJSON})
	stdout, stderr, status := runSnap(t, "sessions", "list")
	want := `UID    User    Version   State
43001  -       2.63      ok
43002  -       -         error: invalid response
65534  nobody  fake-1.0  ok
`
	if stdout != want {
		t.Errorf("table:\n%s\nwant:\n%s", stdout, want)
	}
	if status != 1 {
		t.Errorf("exit status %d, want 1", status)
	}
	wantErr := "error: cannot get session info for uid 43002: invalid response (HTTP status 200): cannot decode answer: unexpected end of JSON input\n"
	if stderr != wantErr {
		t.Errorf("stderr %q, want %q", stderr, wantErr)
	}
}

func TestSessionsStopJSONHasOneStableObjectPerSession(t *testing.T) {
	sessionsFleet(t, map[int]string{65534: clienttest.Real, 43001: clienttest.Snapd})
	stdout, stderr, status := runSnap(t, "sessions", "stop", "--json", "--disable", "--users=nobody,43001", "--users", "43009", "a.service", "stubborn.service")
	if status != 1 {
		t.Errorf("exit status %d, want 1 (uid 43009 has no agent)", status)
	}
	if !strings.Contains(stderr, "error: cannot stop units for uid 43009: no session agent") {
		t.Errorf("stderr does not name the session without agent: %q", stderr)
	}
	var got []map[string]any
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("cannot decode %q: %v", stdout, err)
	}
	if len(got) != 3 {
		t.Fatalf("want 3 sessions, got %v", got)
	}
	for i, want := range []struct {
		uid  float64
		user string
		ok   bool
	}{{43001, "", true}, {43009, "", false}, {65534, "nobody", true}} {
		// A uid with no passwd entry has a null user, not its number again.
		var wantUser any = want.user
		if want.user == "" {
			wantUser = nil
		}
		if got[i]["uid"] != want.uid || got[i]["user"] != wantUser || got[i]["ok"] != want.ok {
			t.Errorf("entry %d = %v, want %+v", i, got[i], want)
		}
	}
	if e := got[1]["error"].(map[string]any); e["kind"] != "no-agent" || !strings.HasPrefix(e["message"].(string), "cannot stop units for uid 43009: ") {
		t.Errorf("error entry = %v", e)
	}
	if r := got[2]["result"].(map[string]any); r["killed"].([]any)[0] != "stubborn.service" {
		t.Errorf("nobody's result = %v", r)
	}
	if _, ok := got[0]["result"]; !ok {
		t.Errorf("snapd's null result is not reported as a result: %v", got[0])
	}
}

func TestSessionsStartNamesTheUserAndTheFailedUnits(t *testing.T) {
	sessionsFleet(t, map[int]string{65534: clienttest.Real})
	stdout, stderr, status := runSnap(t, "sessions", "start", "--enable", "--users=nobody", "ok.service", "fail.service")
	if status != 1 {
		t.Errorf("exit status %d, want 1", status)
	}
	if want := "UID    User    Unit  State\n65534  nobody  -     error: agent error\n"; stdout != want {
		t.Errorf("table %q, want %q", stdout, want)
	}
	want := "error: cannot start units for user nobody (uid 65534): some user services failed to start (fail.service: cannot start fail.service: fake failure)\n"
	if stderr != want {
		t.Errorf("stderr %q, want %q", stderr, want)
	}

	stdout, _, _ = runSnap(t, "sessions", "start", "--json", "--users=nobody", "fail.service")
	var got []struct {
		Error struct {
			AgentKind string `json:"agent-kind"`
			Failures  map[string]map[string]string
		}
	}
	json.Unmarshal([]byte(stdout), &got)
	if len(got) != 1 || got[0].Error.Failures["start-errors"]["fail.service"] == "" || got[0].Error.AgentKind != "service-control" {
		t.Errorf("JSON does not carry the per-unit failures: %s", stdout)
	}
}

func TestSessionsCommandsThatSucceedExitZero(t *testing.T) {
	sessionsFleet(t, map[int]string{65534: clienttest.Real, 43001: clienttest.Snapd})
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"restart", "--reload", "a.service"}, "" +
			"UID    User    Unit       State\n" +
			"43001  -       a.service  reloaded or restarted\n" +
			"65534  nobody  a.service  reloaded or restarted\n"},
		{[]string{"stop", "--disable", "--users=65534", "a.service", "missing.service"}, "" +
			"UID    User    Unit             State\n" +
			"65534  nobody  a.service        stopped, disabled\n" +
			"65534  nobody  missing.service  stopped, disabled (not loaded)\n"},
		{[]string{"daemon-reload", "--users=65534"}, "UID    User    State\n65534  nobody  reloaded\n"},
		{[]string{"status", "--users=nobody", "a.service", "b-inactive.service"}, "" +
			"UID    User    Service             Startup  Current  Notes\n" +
			"65534  nobody  a.service           enabled  active   -\n" +
			"65534  nobody  b-inactive.service  enabled  active   -\n"},
		{[]string{"kill", "--signal=SIGKILL", "--users=43001", "foo", "bar"}, "UID    User  State\n43001  -     ok (2 scopes signalled)\n"},
		{[]string{"exit"}, "UID    User    State\n43001  -       exiting\n65534  nobody  exiting\n"},
	} {
		stdout, stderr, status := runSnap(t, append([]string{"sessions"}, tc.args...)...)
		if status != 0 || stderr != "" || stdout != tc.want {
			t.Errorf("snap sessions %v: status %d, stderr %q, stdout:\n%s\nwant:\n%s", tc.args, status, stderr, stdout, tc.want)
		}
	}
}

func TestSessionsTimeoutBoundsAHangingAgent(t *testing.T) {
	sessionsFleet(t, map[int]string{65534: clienttest.Real, 43002: clienttest.Hang})
	start := time.Now()
	stdout, stderr, status := runSnap(t, "sessions", "stop", "--timeout=1s", "a.service")
	if elapsed := time.Since(start); elapsed > time.Second+time.Second {
		t.Errorf("took %v with --timeout=1s", elapsed)
	}
	if status != 1 || !strings.Contains(stdout, "65534  nobody  a.service  stopped") || !strings.Contains(stdout, "43002  -       -          error: timeout") {
		t.Errorf("status %d, stdout:\n%s", status, stdout)
	}
	if !strings.Contains(stderr, "cannot stop units for uid 43002: agent did not answer within 1s") {
		t.Errorf("stderr %q", stderr)
	}
}

func TestSessionsReportsUnsafeSocketsItSkipped(t *testing.T) {
	f := sessionsFleet(t, map[int]string{65534: clienttest.Real})
	// A socket in uid 43005's directory served (and owned) by nobody's agent.
	_, socket := f.UserDir(43005)
	f.StartAt(65534, filepath.Join(f.Base, "65534", "other.socket"), clienttest.Real)
	if err := os.Rename(filepath.Join(f.Base, "65534", "other.socket"), socket); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, status := runSnap(t, "sessions", "list")
	if want := "UID    User    Version   State\n43005  -       -         error: unsafe socket\n65534  nobody  fake-1.0  ok\n"; stdout != want {
		t.Errorf("table:\n%s\nwant:\n%s", stdout, want)
	}
	if status != 1 || !strings.Contains(stderr, "error: cannot get session info for uid 43005: unsafe agent socket "+socket+": it belongs to uid 65534, not 43005") {
		t.Errorf("status %d, stderr %q", status, stderr)
	}
	stdout, _, _ = runSnap(t, "sessions", "list", "--json")
	if !strings.Contains(stdout, `"kind": "unsafe-socket"`) || !strings.Contains(stdout, `"uid": 43005`) {
		t.Errorf("JSON does not report the skipped socket:\n%s", stdout)
	}
}

func TestSessionsLeaveOutDynamicUsersUnlessNamed(t *testing.T) {
	// 61184 and 65519 bound systemd's dynamic-user range; 65534 (nobody) is outside it.
	sessionsFleet(t, map[int]string{61184: clienttest.Real, 65519: clienttest.Hang, 65534: clienttest.Real})
	stdout, stderr, status := runSnap(t, "sessions", "list")
	want := "" +
		"UID    User    Version   State\n" +
		"61184  -       -         skipped: not a login session\n" +
		"65519  -       -         skipped: not a login session\n" +
		"65534  nobody  fake-1.0  ok\n"
	if status != 0 || stderr != "" || stdout != want {
		t.Errorf("status %d, stderr %q, stdout:\n%s\nwant:\n%s", status, stderr, stdout, want)
	}
	stdout, _, status = runSnap(t, "sessions", "exit", "--json")
	var got []map[string]any
	if err := json.Unmarshal([]byte(stdout), &got); err != nil || status != 0 || len(got) != 3 {
		t.Fatalf("status %d, JSON %s (%v)", status, stdout, err)
	}
	if got[0]["uid"] != 61184.0 || got[0]["user"] != nil || got[0]["skipped"] != "not a login session" || got[0]["ok"] != false || got[0]["error"] != nil {
		t.Errorf("left-out session = %v", got[0])
	}
	// Named explicitly, a dynamic uid is addressed like any other.
	stdout, _, status = runSnap(t, "sessions", "list", "--users=61184")
	if status != 0 || stdout != "UID    User  Version   State\n61184  -     fake-1.0  ok\n" {
		t.Errorf("--users=61184: status %d, stdout:\n%s", status, stdout)
	}
}

func TestSessionsRefusesUnknownUsersBeforeCallingAnyone(t *testing.T) {
	t.Setenv(envRuntimeDir, t.TempDir())
	_, stderr, status := runSnap(t, "sessions", "list", "--users=no-such-user-xyz")
	if status != 1 || !strings.Contains(stderr, `error: cannot find user "no-such-user-xyz"`) {
		t.Errorf("status %d, stderr %q", status, stderr)
	}
	_, stderr, status = runSnap(t, "sessions", "stop")
	if status != 1 || !strings.Contains(stderr, "<unit>") {
		t.Errorf("stop without units: status %d, stderr %q", status, stderr)
	}
}

func TestSessionsWithNoSessions(t *testing.T) {
	t.Setenv(envRuntimeDir, t.TempDir())
	stdout, stderr, status := runSnap(t, "sessions", "list", "--json")
	if status != 0 || strings.TrimSpace(stdout) != "[]" || stderr != "No user session agents found.\n" {
		t.Errorf("status %d, stdout %q, stderr %q", status, stdout, stderr)
	}
}

func TestProgressOnlyOnTerminalsAndForManySessions(t *testing.T) {
	var buf bytes.Buffer
	p := newProgress(&buf)
	p.update(1, 100)
	p.done()
	if buf.Len() != 0 {
		t.Errorf("progress written to a non-terminal: %q", buf.String())
	}
	p.enabled = true
	p.update(1, progressThreshold)
	if buf.Len() != 0 {
		t.Errorf("progress shown for few sessions: %q", buf.String())
	}
	p.update(41, 200)
	p.update(42, 200)
	p.done()
	if want := "\r41/200 sessions answered\r42/200 sessions answered\r\033[K"; buf.String() != want {
		t.Errorf("progress %q, want %q", buf.String(), want)
	}
}

// Every subcommand of snap sessions the parser knows takes the shared options and has
// what they need to run: a new subcommand cannot miss them.
func TestEverySessionsSubcommandHasTheSharedOptionsWired(t *testing.T) {
	t.Setenv(envRuntimeDir, t.TempDir())
	sessions := newParser(&cmdEnv{stdout: io.Discard, stderr: io.Discard}).Find("sessions")
	if sessions == nil || len(sessions.Commands()) == 0 {
		t.Fatal("the parser has no sessions subcommands")
	}
	for _, sub := range sessions.Commands() {
		args := []string{"sessions", sub.Name, "--json", "--timeout=5s", "--no-repair"}
		for _, a := range sub.Args() {
			for range max(a.Required, 1) {
				args = append(args, "x")
			}
		}
		func() {
			defer func() {
				if v := recover(); v != nil {
					t.Errorf("snap %s panicked: %v", strings.Join(args, " "), v)
				}
			}()
			stdout, stderr, status := runSnap(t, args...)
			if status != 0 || strings.TrimSpace(stdout) != "[]" || stderr != "No user session agents found.\n" {
				t.Errorf("snap %s: status %d, stdout %q, stderr %q", strings.Join(args, " "), status, stdout, stderr)
			}
		}()
	}
}
