package integration_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/snapcore-ng/usersession-agent/testkit/testenv"
	"github.com/snapcore-ng/usersession-agent/testkit/usersessiontest"
	"github.com/snapcore-ng/usersession-agent/usersession/client"
	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

// desktopSession is a session with this build's agent, an X display (Xvfb, a
// transient user unit) and dunst, D-Bus-activated through its own user unit as on a
// desktop. dunst's context menu, through which a user picks one of several actions,
// runs a stand-in for dmenu that picks the label written to choice.
type desktopSession struct {
	*usersessiontest.Session
	choice string
}

// startDesktopSession starts it; a non-zero idle is the agent's idle timeout.
func startDesktopSession(t *testing.T, idle time.Duration) *desktopSession {
	t.Helper()
	for _, bin := range []string{"dunst", "dunstctl", "Xvfb"} {
		if _, err := exec.LookPath(bin); err != nil {
			testenv.SkipOrFail(t, bin+" is not installed (packages dunst, xvfb)")
		}
	}
	s := agentSession(t, idle)
	d := &desktopSession{Session: s, choice: filepath.Join(s.Home, "dmenu-choice")}
	dmenu := filepath.Join(s.Home, "dmenu")
	writeOwned(t, s, dmenu, fmt.Sprintf("#!/bin/sh\ngrep -m1 -F -- \"#$(cat %s) (\"\n", d.choice), 0o755)
	dunstrc := filepath.Join(t.TempDir(), "dunstrc")
	if err := os.WriteFile(dunstrc, []byte("[global]\ndmenu = "+dmenu+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s.Desktop(dunstrc)
	return d
}

func writeOwned(t *testing.T, s *usersessiontest.Session, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(path, s.UID, s.GID); err != nil {
		t.Fatal(err)
	}
}

func runAs(t *testing.T, s *usersessiontest.Session, args ...string) string {
	t.Helper()
	out, err := s.Run(args...)
	if err != nil {
		t.Fatalf("%s as %s: %v\n%s", strings.Join(args, " "), s.User, err, out)
	}
	return strings.TrimSpace(out)
}

// displayed is how many notifications dunst shows.
func (d *desktopSession) displayed(t *testing.T) int {
	t.Helper()
	out, err := d.Run("dunstctl", "count", "displayed")
	if err != nil {
		return -1
	}
	n, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil {
		return -1
	}
	return n
}

// asyncSnap starts this build's snap as root and returns a function that waits for
// it.
func asyncSnap(t *testing.T, args ...string) func() snapRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	cmd := exec.CommandContext(ctx, usersessiontest.SnapBinary(t), args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(cancel)
	return func() snapRun {
		t.Helper()
		err := cmd.Wait()
		cancel()
		r := snapRun{stdout: stdout.String(), stderr: stderr.String()}
		if ee, ok := err.(*exec.ExitError); ok {
			r.code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("snap %s: %v", strings.Join(args, " "), err)
		}
		return r
	}
}

// The user's answer reaches root: an action picked in dunst's menu, a dismissal, and
// no answer at all, each printed by `snap sessions notify --wait`.
func TestNotifyReportsEachUsersAnswerToRoot(t *testing.T) {
	t.Parallel()
	d := startDesktopSession(t, 0)
	users := "--users=" + d.User

	// An action picked by the user.
	writeOwned(t, d.Session, d.choice, "Not now", 0o644)
	wait := asyncSnap(t, "sessions", "notify", users, "--wait=60s", "--urgency=critical",
		"--action=close:Close it", "--action=later:Not now", "Firefox must close", "An update is waiting.")
	testenv.WaitFor(t, 30*time.Second, "dunst to show the question", func() bool { return d.displayed(t) == 1 })
	runAs(t, d.Session, "dunstctl", "action", "0")
	r := wait()
	if r.code != 0 || !strings.Contains(tableRow(t, r.stdout, d.Session), "action: later") {
		t.Fatalf("notify after the user chose 'Not now': exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// A dismissal, in JSON. dunst may keep the answered question on screen.
	runAs(t, d.Session, "dunstctl", "close-all")
	testenv.WaitFor(t, 30*time.Second, "dunst to clear the screen", func() bool { return d.displayed(t) == 0 })
	wait = asyncSnap(t, "sessions", "notify", users, "--json", "--wait", "--action=ok:OK", "Dismiss me")
	testenv.WaitFor(t, 30*time.Second, "dunst to show the second question", func() bool { return d.displayed(t) == 1 })
	runAs(t, d.Session, "dunstctl", "close")
	r = wait()
	var st wire.NotificationStatus
	e := decodeSessionsJSON(t, r)[d.User]
	if err := json.Unmarshal(e.Result, &st); err != nil || r.code != 0 || st.State != wire.NotificationStateDismissed ||
		st.Server != "freedesktop" || !strings.HasPrefix(st.ServerName, "dunst ") {
		t.Fatalf("notify --json after dunstctl close: exit %d, %+v\n%s%s", r.code, st, r.stdout, r.stderr)
	}

	// No answer within the wait; then root takes the question down.
	r = runSnap(t, "sessions", "notify", users, "--wait=1s", "--action=ok:OK", "Nobody answers")
	if r.code != 0 || !strings.Contains(tableRow(t, r.stdout, d.Session), "no answer") {
		t.Fatalf("notify without an answer: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	id := strings.Fields(tableRow(t, r.stdout, d.Session))[2]
	closed, err := client.New(client.Options{}).CloseNotification(t.Context(), client.UIDs(d.UID), id)
	if err != nil || len(closed.Outcomes) != 1 || !closed.Outcomes[0].OK() || closed.Outcomes[0].Result.State != wire.NotificationStateClosed {
		t.Fatalf("close %s: %+v, %v", id, closed, err)
	}
	testenv.WaitFor(t, 30*time.Second, "dunst to take the question down", func() bool { return d.displayed(t) == 0 })
	if out := runAs(t, d.Session, "dunstctl", "history"); !strings.Contains(out, "Dismiss me") {
		t.Errorf("dunst's history lacks the dismissed notification:\n%s", out)
	}
}

// snapd's refresh notifications: the finish replaces the pending one.
func TestPendingThenFinishRefreshLeavesOneNotification(t *testing.T) {
	t.Parallel()
	d := startDesktopSession(t, 0)
	users := "--users=" + d.User
	r := runSnap(t, "sessions", "pending-refresh", users, "--time-remaining=2h", "--busy-app=firefox", "firefox")
	if r.code != 0 || !strings.Contains(tableRow(t, r.stdout, d.Session), "refresh:firefox") {
		t.Fatalf("pending-refresh: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	testenv.WaitFor(t, 30*time.Second, "dunst to show the pending refresh", func() bool { return d.displayed(t) == 1 })
	for range 2 {
		if r := runSnap(t, "sessions", "finish-refresh", users, "firefox"); r.code != 0 {
			t.Fatalf("finish-refresh: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
	}
	if n := d.displayed(t); n != 1 {
		t.Fatalf("dunst shows %d notifications after pending and two finishes, want 1", n)
	}
	runAs(t, d.Session, "dunstctl", "close")
	if out := runAs(t, d.Session, "dunstctl", "history"); !strings.Contains(out, "firefox was updated") || strings.Contains(out, "Update available") {
		t.Errorf("dunst's history is not the finish notification alone:\n%s", out)
	}
}

// dunst installed but no display: its D-Bus activation starts a unit that dies, and
// dbus-daemon would hold the call for its 120 s activation timeout. Root gets a clear
// error within the agent's deadline, and the other endpoints still answer.
func TestBrokenActivatableServerFailsWithinTheDeadline(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("dunst"); err != nil {
		testenv.SkipOrFail(t, "dunst is not installed")
	}
	s := agentSession(t, 0)
	start := time.Now()
	r := runSnap(t, "sessions", "pending-refresh", "--json", "--users="+s.User, "firefox")
	took := time.Since(start)
	e := decodeSessionsJSON(t, r)[s.User]
	t.Logf("pending-refresh with a broken activatable server answered after %v: %s", took, r.stdout)
	if r.code != 1 || e.OK || e.Error == nil ||
		(e.Error.AgentKind != wire.ErrorKindNotificationTimeout && e.Error.AgentKind != wire.ErrorKindNoNotificationServer) {
		t.Fatalf("want a notification-server error for %s, got exit %d\n%s%s", s.User, r.code, r.stdout, r.stderr)
	}
	if r := runSnap(t, "sessions", "list", "--users="+s.User); r.code != 0 {
		t.Fatalf("list after the failed notification: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
