package integration_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/snapcore-ng/usersession-agent/testkit/usersessiontest"
	"github.com/snapcore-ng/usersession-agent/usersession/client"
)

// impostorBinary builds tests/lib/impostor into a directory every user may read.
func impostorBinary(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "impostor-bin-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "impostor")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/snapcore-ng/usersession-agent/tests/lib/impostor")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cannot build the impostor: %v\n%s", err, out)
	}
	return bin
}

// impostorEvent is one line of the impostor's log.
type impostorEvent struct {
	Ready    bool   `json:"ready"`
	PID      int    `json:"pid"`
	Listener int    `json:"listener"`
	Conn     int    `json:"conn"`
	Accepted bool   `json:"accepted"`
	Closed   bool   `json:"closed"`
	Bytes    int    `json:"bytes"`
	Auth     string `json:"auth"`
	Message  string `json:"message"`
	Body     string `json:"body"`
}

func readImpostorLog(t *testing.T, path string) []impostorEvent {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		t.Fatal(err)
	}
	defer f.Close()
	var events []impostorEvent
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e impostorEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("impostor log line %q: %v", sc.Text(), err)
		}
		events = append(events, e)
	}
	return events
}

// startImpostor runs the impostor as the user, from a unit of the user's own
// manager, and waits until it serves the manager's private socket. It returns its
// log and a function that stops it (and waits until the manager's socket is back),
// which also runs when the test ends.
func startImpostor(t *testing.T, s *usersessiontest.Session) (logPath string, stop func()) {
	t.Helper()
	bin := impostorBinary(t)
	logPath = filepath.Join(s.Home, "impostor.log")
	os.Remove(logPath)
	if out, err := s.Run("systemd-run", "--user", "--quiet", "--collect", "--unit=impostor", "--", bin, logPath); err != nil {
		t.Fatalf("cannot start the impostor as %s: %v\n%s", s.User, err, out)
	}
	var ready impostorEvent
	for deadline := time.Now().Add(20 * time.Second); ready.PID == 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			out, _ := s.Systemctl("status", "impostor.service")
			t.Fatalf("the impostor of %s did not come up:\n%s", s.User, out)
		}
		for _, e := range readImpostorLog(t, logPath) {
			if e.Ready {
				ready = e
			}
		}
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			real := s.PrivateSocket() + ".real"
			if _, err := os.Lstat(real); errors.Is(err, os.ErrNotExist) {
				return // gone already
			}
			// systemctl --user would talk to the impostor: it is stopped by its pid.
			_ = syscall.Kill(ready.PID, syscall.SIGTERM)
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
				if _, err := os.Lstat(real); errors.Is(err, os.ErrNotExist) {
					return
				}
			}
			t.Errorf("the impostor of %s did not put the manager's socket back", s.User)
		})
	}
	t.Cleanup(stop)
	return logPath, stop
}

// deadSocket replaces path with a socket of uid's on which nothing listens, as a user
// who wants root to go through the repair path leaves it.
func deadSocket(t *testing.T, path string, uid int) {
	t.Helper()
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close()
	if err := os.Chown(path, uid, uid); err != nil {
		t.Fatal(err)
	}
}

// TestImpostorManagerIsNeverTalkedTo: the user serves their manager's private socket
// with a program of their own whose listening process is a real systemd --user
// binary, stopped at its exec, in user@UID.service/init.scope (issue 19), and leaves
// an agent socket that refuses connections. On this machine (PID 1 is not systemd:
// the harness's managers) root refuses the impostor without sending it a byte,
// whether repairing or not, and says so naming the user; once the impostor is gone,
// the real manager repairs the agent socket.
func TestImpostorManagerIsNeverTalkedTo(t *testing.T) {
	t.Parallel()
	s := agentSession(t, 0)
	users := "--users=" + s.User
	logPath, stopImpostor := startImpostor(t, s)
	deadSocket(t, s.AgentSocket(), s.UID)

	for _, args := range [][]string{
		{"sessions", "list", users, "--no-repair", "--json"},
		{"sessions", "list", users, "--json"},
		{"sessions", "repair", users, "--json"},
	} {
		r := runSnap(t, args...)
		e := decodeSessionsJSON(t, r)[s.User]
		if r.code != 1 || e.OK || e.Error == nil || e.Error.Kind != string(client.KindRefused) ||
			!strings.Contains(e.Error.Message, "is not served by the user's systemd manager") ||
			!strings.Contains(e.Error.Message, "user "+s.User) || strings.Contains(r.stdout, `"repaired"`) {
			t.Errorf("%s: exit %d, want 1 with the user's manager refused (kind %s):\n%s%s", strings.Join(args, " "), r.code, client.KindRefused, r.stdout, r.stderr)
		}
	}
	r := runSnap(t, "sessions", "repair", users)
	if row := tableRow(t, r.stdout, s); r.code != 1 || !strings.HasSuffix(row, "error: refused") ||
		!strings.Contains(r.stderr, fmt.Sprintf("user %s (uid %d)", s.User, s.UID)) || strings.Contains(r.stderr, "repaired") {
		t.Errorf("repair: exit %d, row %q, want 1 and the user's manager refused:\n%s", r.code, row, r.stderr)
	}
	t.Logf("root says: %s", strings.TrimSpace(r.stderr))

	accepted := 0
	for _, e := range readImpostorLog(t, logPath) {
		switch {
		case e.Accepted:
			accepted++
		case e.Message != "" || e.Auth == "ok" || e.Bytes != 0:
			t.Errorf("root sent the impostor something: %+v", e)
		}
	}
	if accepted == 0 {
		t.Errorf("root never connected to the impostor: the test proves nothing")
	}

	stopImpostor()
	r = runSnap(t, "sessions", "repair", users)
	if row := tableRow(t, r.stdout, s); r.code != 0 || !strings.HasSuffix(row, "  repaired") {
		t.Errorf("repair through the real manager: exit %d, row %q\n%s", r.code, row, r.stderr)
	}
	if info := sessionInfo(t, s.AgentSocket()); info.UID == nil || *info.UID != s.UID {
		t.Errorf("after repair the agent of %s answers as %+v", s.User, info)
	}
}
