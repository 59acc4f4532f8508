// Package integration_test runs the agent in real user sessions: a real
// `systemd --user` with its session bus per throwaway user, this build's units, and the
// agent started by socket activation exactly as on a user's machine.
package integration_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/snapcore-ng/usersession-agent/internal/procfs"
	"github.com/snapcore-ng/usersession-agent/testkit/usersessiontest"
	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

const agentService = "snapd.session-agent.service"

// agentSession starts a session with this build's agent. A non-zero idle timeout is
// set through a drop-in, as an administrator would.
func agentSession(t *testing.T, idle time.Duration) *usersessiontest.Session {
	t.Helper()
	s := usersessiontest.Start(t, usersessiontest.Options{Agent: true})
	if idle != 0 {
		bin := usersessiontest.SnapBinary(t)
		s.WriteUserUnit(agentService+".d/idle.conf", fmt.Sprintf(
			"[Service]\nExecStart=\nExecStart=%s userd --agent --idle-timeout=%s\n", bin, idle))
		if out, err := s.Systemctl("daemon-reload"); err != nil {
			t.Fatalf("cannot reload the manager of %s: %v\n%s", s.User, err, out)
		}
	}
	return s
}

// reply is a decoded agent answer.
type reply struct {
	status int
	env    wire.Response
	errRes wire.ErrorResult
	raw    []byte
}

// call sends one request as root on a new connection, as snapd's client does.
func call(t *testing.T, sock, method, path, contentType string, body []byte) reply {
	t.Helper()
	r, err := tryCall(sock, method, path, contentType, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return r
}

func tryCall(sock, method, path, contentType string, body []byte) (reply, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	client := &http.Client{Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
	}}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://localhost"+path, rd)
	if err != nil {
		return reply{}, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := client.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, fmt.Errorf("cannot read the answer: %w", err)
	}
	r := reply{status: resp.StatusCode, raw: raw}
	if err := json.Unmarshal(raw, &r.env); err != nil {
		return r, fmt.Errorf("cannot decode %q: %w", raw, err)
	}
	if r.env.Type == wire.ResponseTypeError {
		if err := json.Unmarshal(r.env.Result, &r.errRes); err != nil {
			return r, fmt.Errorf("cannot decode error result %q: %w", r.env.Result, err)
		}
	}
	return r, nil
}

func sessionInfo(t *testing.T, sock string) wire.SessionInfo {
	t.Helper()
	r := call(t, sock, "GET", wire.PathSessionInfo, "", nil)
	if r.status != 200 || r.env.Type != wire.ResponseTypeSync {
		t.Fatalf("session-info: status %d, %s", r.status, r.raw)
	}
	var info wire.SessionInfo
	if err := json.Unmarshal(r.env.Result, &info); err != nil {
		t.Fatalf("cannot decode session info %s: %v", r.env.Result, err)
	}
	return info
}

// agentPID is the agent's PID as its manager sees it, 0 when it is not running.
func agentPID(t *testing.T, s *usersessiontest.Session) int {
	t.Helper()
	out, err := s.Systemctl("show", "-p", "MainPID", "--value", agentService)
	if err != nil {
		t.Fatalf("cannot ask the manager of %s for the agent's PID: %v\n%s", s.User, err, out)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil {
		t.Fatalf("cannot parse the agent's PID %q", out)
	}
	return pid
}

func unitState(t *testing.T, s *usersessiontest.Session, unit string) string {
	t.Helper()
	out, _ := s.Systemctl("show", "-p", "ActiveState", "--value", unit)
	return strings.TrimSpace(out)
}

// waitAgentGone waits until the manager says the agent is no longer running.
func waitAgentGone(t *testing.T, s *usersessiontest.Session, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for agentPID(t, s) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the agent of %s is still running after %s (state %s)", s.User, within, unitState(t, s, agentService))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// threads reads the number of threads of a process.
func threads(t *testing.T, pid int) int {
	t.Helper()
	n, err := procfs.StatusField(pid, "Threads")
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// servicesSession starts a session with this build's agent and the given user units
// (name -> unit file), loaded by the manager.
func servicesSession(t *testing.T, units map[string]string) *usersessiontest.Session {
	t.Helper()
	s := agentSession(t, 0)
	for name, content := range units {
		s.WriteUserUnit(name, content)
	}
	mustSystemctl(t, s, "daemon-reload")
	return s
}

// mustSystemctl runs `systemctl --user ARGS` as the session's user and fails the test
// if it fails.
func mustSystemctl(t *testing.T, s *usersessiontest.Session, args ...string) string {
	t.Helper()
	out, err := s.Systemctl(args...)
	if err != nil {
		t.Fatalf("systemctl --user %s as %s: %v\n%s", strings.Join(args, " "), s.User, err, out)
	}
	return strings.TrimSpace(out)
}

// unitProp reads one property of a unit from the session's manager, as systemctl
// shows it.
func unitProp(t *testing.T, s *usersessiontest.Session, unit, prop string) string {
	t.Helper()
	return mustSystemctl(t, s, "show", "-p", prop, "--value", unit)
}

// mainPID is a unit's main PID as its manager sees it, 0 when it has none.
func mainPID(t *testing.T, s *usersessiontest.Session, unit string) int {
	t.Helper()
	v := unitProp(t, s, unit, "MainPID")
	pid, err := strconv.Atoi(v)
	if err != nil {
		t.Fatalf("cannot parse the MainPID %q of %s", v, unit)
	}
	return pid
}

// isEnabled is what `systemctl --user is-enabled` says about a unit ("enabled",
// "disabled", ...); it exits non-zero for anything but enabled, which is not an error
// here.
func isEnabled(s *usersessiontest.Session, unit string) string {
	out, _ := s.Systemctl("is-enabled", unit)
	return strings.TrimSpace(out)
}

// control posts a service instruction to the agent.
func control(t *testing.T, sock string, inst wire.ServiceInstruction) reply {
	t.Helper()
	return postJSON(t, sock, wire.PathServiceControl, inst)
}

func postJSON(t *testing.T, sock, path string, v any) reply {
	t.Helper()
	body, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return call(t, sock, "POST", path, "application/json", body)
}

// wantSync fails the test unless the agent answered 200 with a sync result, which it
// decodes into result (if not nil).
func wantSync(t *testing.T, what string, r reply, result any) {
	t.Helper()
	if r.status != http.StatusOK || r.env.Type != wire.ResponseTypeSync {
		t.Fatalf("%s: status %d, want 200 sync: %s", what, r.status, r.raw)
	}
	if result != nil {
		if err := json.Unmarshal(r.env.Result, result); err != nil {
			t.Fatalf("%s: cannot decode result %s: %v", what, r.env.Result, err)
		}
	}
}

// wantError fails the test unless the agent answered with an error of this status
// and kind.
func wantError(t *testing.T, what string, r reply, status int, kind string) {
	t.Helper()
	if r.status != status || r.env.Type != wire.ResponseTypeError || r.errRes.Kind != kind || r.errRes.Message == "" {
		t.Fatalf("%s: got status %d, want %d error of kind %q: %s", what, r.status, status, kind, r.raw)
	}
}

// unitErrors decodes the per-unit maps of an error's value: key ("start-errors", ...)
// -> entry -> reason.
func unitErrors(t *testing.T, r reply) map[string]map[string]string {
	t.Helper()
	var v struct {
		Result struct {
			Value map[string]json.RawMessage `json:"value"`
		} `json:"result"`
	}
	if err := json.Unmarshal(r.raw, &v); err != nil {
		t.Fatalf("cannot decode error value of %s: %v", r.raw, err)
	}
	out := map[string]map[string]string{}
	for k, raw := range v.Result.Value {
		if !strings.HasSuffix(k, "-errors") {
			continue
		}
		m := map[string]string{}
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("%s of %s is not a map of strings: %v", k, r.raw, err)
		}
		out[k] = m
	}
	return out
}

// cgroupProcs lists the processes in a unit's cgroup, looked up in every cgroup
// hierarchy the sessions use (the host may run a legacy, hybrid or unified layout).
func cgroupProcs(t *testing.T, s *usersessiontest.Session, unit string) []int {
	t.Helper()
	return procsIn(unitProp(t, s, unit, "ControlGroup"))
}

// procsIn lists the processes in cgroup cg (a path as systemd's ControlGroup property
// gives it), none if the cgroup is gone.
func procsIn(cg string) []int {
	if cg == "" {
		return nil
	}
	seen := map[int]bool{}
	var pids []int
	for _, root := range []string{"/sys/fs/cgroup/unified", "/sys/fs/cgroup/systemd", "/sys/fs/cgroup"} {
		data, err := os.ReadFile(filepath.Join(root, cg, "cgroup.procs"))
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(data)) {
			pid, err := strconv.Atoi(f)
			if err == nil && !seen[pid] {
				seen[pid] = true
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

// uidOf is the real uid a process runs as.
func uidOf(t *testing.T, pid int) int {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		t.Fatalf("cannot read the status of %d: %v", pid, err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "Uid:"); ok {
			f := strings.Fields(v)
			if len(f) > 0 {
				uid, err := strconv.Atoi(f[0])
				if err == nil {
					return uid
				}
			}
		}
	}
	t.Fatalf("no uid for %d", pid)
	return -1
}

// readRuntimeFile reads a file the session's units wrote into the user's runtime
// directory, "" if there is none.
func readRuntimeFile(t *testing.T, s *usersessiontest.Session, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(s.RuntimeDir, name))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(data)
}
