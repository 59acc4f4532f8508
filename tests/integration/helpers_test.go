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

	"github.com/snapcore-ng/usersession-agent/internal/usersessiontest"
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
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		t.Fatalf("cannot read the status of %d: %v", pid, err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "Threads:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				t.Fatalf("cannot parse %q", line)
			}
			return n
		}
	}
	t.Fatalf("no thread count for %d", pid)
	return 0
}
