package integration_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/snapcore-ng/usersession-agent/testkit/usersessiontest"
	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

// snapRun is one run of the built snap binary.
type snapRun struct {
	stdout, stderr string
	code           int
}

// runSnap runs this build's snap binary as root, bounded, with the environment it
// would have on a real machine (no test-only overrides).
func runSnap(t *testing.T, args ...string) snapRun {
	t.Helper()
	return runSnapEnv(t, nil, args...)
}

// runSnapEnv is runSnap with extra environment (test-only overrides included).
func runSnapEnv(t *testing.T, extra []string, args ...string) snapRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, usersessiontest.SnapBinary(t), args...)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SNAP_SESSION_AGENT_RUNTIME_DIR=") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, extra...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := snapRun{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ctx.Err() == nil:
		r.code = ee.ExitCode()
	default:
		t.Fatalf("snap %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, r.stdout, r.stderr)
	}
	return r
}

// sessionsJSON is one element of `snap sessions ... --json`.
type sessionsJSON struct {
	UID    *int            `json:"uid"`
	User   string          `json:"user"`
	OK     bool            `json:"ok"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Kind      string                       `json:"kind"`
		Message   string                       `json:"message"`
		AgentKind string                       `json:"agent-kind"`
		Failures  map[string]map[string]string `json:"failures"`
	} `json:"error"`
}

func decodeSessionsJSON(t *testing.T, r snapRun) map[string]sessionsJSON {
	t.Helper()
	var list []sessionsJSON
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
		t.Fatalf("cannot decode --json output %q: %v", r.stdout, err)
	}
	byUser := map[string]sessionsJSON{}
	for _, e := range list {
		if _, dup := byUser[e.User]; dup {
			t.Fatalf("user %s listed twice: %s", e.User, r.stdout)
		}
		byUser[e.User] = e
	}
	return byUser
}

// tableRow returns the row of the table output that starts with uid and user.
func tableRow(t *testing.T, out string, s *usersessiontest.Session) string {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == fmt.Sprint(s.UID) && f[1] == s.User {
			return line
		}
	}
	t.Fatalf("no row for %s (uid %d) in:\n%s", s.User, s.UID, out)
	return ""
}

func TestCLISessionsEndToEnd(t *testing.T) {
	t.Parallel()
	const unit = "snap.cli.svc.service"
	good := servicesSession(t, map[string]string{unit: markedUnit("good", false)})
	bad := servicesSession(t, map[string]string{unit: failingUnit})
	users := "--users=" + good.User + "," + bad.User

	// list, JSON, one user
	r := runSnap(t, "sessions", "list", "--users="+good.User, "--json")
	if r.code != 0 {
		t.Fatalf("list: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	list := decodeSessionsJSON(t, r)
	e, ok := list[good.User]
	if len(list) != 1 || !ok || !e.OK || e.UID == nil || *e.UID != good.UID {
		t.Fatalf("list --json for %s: %s", good.User, r.stdout)
	}
	// The agent may be gone already (list tells it to exit when idle): the manager
	// still knows the main PID of the service's last run.
	var info wire.SessionInfo
	lastPID := unitProp(t, good, agentService, "ExecMainPID")
	if err := json.Unmarshal(e.Result, &info); err != nil || info.Version == "" || fmt.Sprint(info.PID) != lastPID {
		t.Errorf("list --json result %s (agent pid %s): %v", e.Result, lastPID, err)
	}

	// list, table, both users (one by name, one by uid)
	r = runSnap(t, "sessions", "list", "--users="+good.User, fmt.Sprintf("--users=%d", bad.UID))
	if r.code != 0 {
		t.Fatalf("list: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, s := range []*usersessiontest.Session{good, bad} {
		if row := tableRow(t, r.stdout, s); !strings.Contains(row, "ok") {
			t.Errorf("list row of %s: %q", s.User, row)
		}
	}

	// start, where it fails for one user only: the other user's unit runs, the exit
	// status is non-zero, and stderr names the failing user and only that one.
	r = runSnap(t, "sessions", "start", users, "--timeout=30s", unit)
	if r.code == 0 {
		t.Fatalf("start exited 0 although it failed for %s\n%s%s", bad.User, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, bad.User) || !strings.Contains(r.stderr, unit) || strings.Contains(r.stderr, good.User) {
		t.Errorf("stderr does not name %s and %s alone:\n%s", bad.User, unit, r.stderr)
	}
	if f := strings.Fields(tableRow(t, r.stdout, good)); len(f) != 4 || f[2] != unit || f[3] != "started" {
		t.Errorf("start row of %s: %q, want %s started", good.User, f, unit)
	}
	if row := tableRow(t, r.stdout, bad); !strings.Contains(row, "error") {
		t.Errorf("start row of %s: %q", bad.User, row)
	}
	if st := unitState(t, good, unit); st != "active" {
		t.Errorf("%s of %s is %q after start", unit, good.User, st)
	}
	if st := unitState(t, bad, unit); st != "failed" {
		t.Errorf("%s of %s is %q after its failed start", unit, bad.User, st)
	}

	// the same, as JSON
	r = runSnap(t, "sessions", "start", users, "--json", unit)
	res := decodeSessionsJSON(t, r)
	if r.code == 0 || len(res) != 2 || !res[good.User].OK || res[bad.User].OK || res[bad.User].Error == nil ||
		res[bad.User].Error.AgentKind != wire.ErrorKindServiceControl || res[bad.User].Error.Failures[wire.StartErrorsKey][unit] == "" {
		t.Errorf("start --json: exit %d\n%s", r.code, r.stdout)
	}

	// status of both, JSON
	r = runSnap(t, "sessions", "status", users, "--json", unit)
	if r.code != 0 {
		t.Fatalf("status: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, tc := range []struct {
		s           *usersessiontest.Session
		active      bool
		activeState string
	}{{good, true, "active"}, {bad, false, "failed"}} {
		var sts []wire.ServiceUnitStatus
		e := decodeSessionsJSON(t, r)[tc.s.User]
		if err := json.Unmarshal(e.Result, &sts); err != nil || len(sts) != 1 ||
			sts[0].Active != tc.active || sts[0].ActiveState != tc.activeState || !sts[0].Installed {
			t.Errorf("status of %s for %s: %s (%v)", unit, tc.s.User, e.Result, err)
		}
	}
	// and as a table
	r = runSnap(t, "sessions", "status", users, unit)
	// UID User Service Startup Current Notes
	for _, tc := range []struct {
		s       *usersessiontest.Session
		current string
	}{{good, "active"}, {bad, "failed"}} {
		if f := strings.Fields(tableRow(t, r.stdout, tc.s)); r.code != 0 || len(f) != 6 || f[2] != unit || f[4] != tc.current {
			t.Errorf("status table (exit %d), row of %s: %q, want %s %s", r.code, tc.s.User, f, unit, tc.current)
		}
	}

	// stop works for both
	r = runSnap(t, "sessions", "stop", users, unit)
	if r.code != 0 {
		t.Fatalf("stop: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, s := range []*usersessiontest.Session{good, bad} {
		if f := strings.Fields(tableRow(t, r.stdout, s)); len(f) != 4 || f[2] != unit || f[3] != "stopped" {
			t.Errorf("stop row of %s: %q, want %s stopped", s.User, f, unit)
		}
	}
	if st := unitState(t, good, unit); st != "inactive" {
		t.Errorf("%s of %s is %q after stop", unit, good.User, st)
	}

	// a uid without a session is reported, and fails the command
	r = runSnap(t, "sessions", "list", "--users="+good.User+",4000000")
	if r.code == 0 || !strings.Contains(r.stderr, "uid 4000000") || strings.Contains(r.stderr, good.User) || tableRow(t, r.stdout, good) == "" {
		t.Errorf("list with a user without a session: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// exit: both agents go, and come back from their sockets when next needed
	pids := map[string]int{good.User: agentPID(t, good), bad.User: agentPID(t, bad)}
	r = runSnap(t, "sessions", "exit", users)
	if r.code != 0 {
		t.Fatalf("exit: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, s := range []*usersessiontest.Session{good, bad} {
		if row := tableRow(t, r.stdout, s); !strings.Contains(row, "exiting") {
			t.Errorf("exit row of %s: %q", s.User, row)
		}
		waitAgentGone(t, s, 10*time.Second)
		if pid := sessionInfo(t, s.AgentSocket()).PID; pid == pids[s.User] {
			t.Errorf("the agent of %s (pid %d) did not exit", s.User, pid)
		}
	}
}

// getent reads "01028" as uid 1028; a user called 01028 is still addressed by that
// name, not shadowed by the uid it reads as.
func TestCLIAddressesAUserNamedWithDigitsByName(t *testing.T) {
	t.Parallel()
	s := usersessiontest.Start(t, usersessiontest.Options{Agent: true, ExtraUser: true})
	const name = "01028"
	if s.UID == 1028 {
		t.Fatalf("%s has uid 1028: the test would prove nothing", s.User)
	}
	s.AddExtraName(name)

	r := runSnap(t, "sessions", "list", "--users="+name)
	row := fmt.Sprintf("%d  %s  ", s.UID, name)
	if r.code != 0 || !strings.Contains(r.stdout, row) {
		t.Errorf("--users=%s: exit %d, want a row starting %q; stdout:\n%s\nstderr:\n%s", name, r.code, row, r.stdout, r.stderr)
	}
	// Not a canonical uid, and no user has that name.
	r = runSnap(t, "sessions", "list", fmt.Sprintf("--users=+%d", s.UID))
	if want := fmt.Sprintf("error: cannot find user \"+%d\"\n", s.UID); r.code != 1 || r.stderr != want {
		t.Errorf("--users=+%d: exit %d, stderr %q, want %q", s.UID, r.code, r.stderr, want)
	}
}

func TestCLINamesAUserOnlyExtraUsersKnows(t *testing.T) {
	// Other tests' users are in /etc/passwd, which comes first in nsswitch.conf.
	t.Parallel()
	s := usersessiontest.Start(t, usersessiontest.Options{Agent: true, ExtraUser: true})
	etc, err := os.ReadFile("/etc/passwd")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(etc), "\n"+s.User+":") {
		t.Fatalf("%s is in /etc/passwd: the test would prove nothing", s.User)
	}

	r := runSnap(t, "sessions", "list", "--users="+s.User)
	row := fmt.Sprintf("%d  %s  ", s.UID, s.User)
	if r.code != 0 || !strings.Contains(r.stdout, row) {
		t.Errorf("--users=%s: exit %d, stdout:\n%s\nstderr:\n%s", s.User, r.code, r.stdout, r.stderr)
	}
	r = runSnap(t, "sessions", "list", "--json", fmt.Sprintf("--users=%d", s.UID))
	got := decodeSessionsJSON(t, r)
	if e, ok := got[s.User]; r.code != 0 || !ok || !e.OK || e.UID == nil || *e.UID != s.UID {
		t.Errorf("--users=%d --json: exit %d, %s", s.UID, r.code, r.stdout)
	}
}
