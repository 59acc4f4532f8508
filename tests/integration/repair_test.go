package integration_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/snapcore-ng/usersession-agent/testkit/usersessiontest"
	"github.com/snapcore-ng/usersession-agent/usersession/client"
	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

const agentSocketUnit = "snapd.session-agent.socket"

// inManagerNS runs a shell script as root in the mount namespace of the session's
// manager. The harness gives each manager its own namespace on hosts whose PID 1 is
// not systemd; there the agent's unit files can be removed for that manager alone.
func inManagerNS(t *testing.T, s *usersessiontest.Session, script string) {
	t.Helper()
	pid := s.ManagerPID()
	own, err1 := os.Readlink("/proc/self/ns/mnt")
	its, err2 := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", pid))
	if err1 != nil || err2 != nil || own == its {
		t.Fatalf("the manager of %s does not run in a mount namespace of its own (%v, %v): its unit files cannot be removed for it alone", s.User, err1, err2)
	}
	mustRun(t, "", "nsenter", "-t", fmt.Sprint(pid), "-m", "--", "sh", "-euc", script)
}

// removeAgentUnits does what a package removal does to the agent's units, for this
// manager only: this build's units and the system's copies (Debian's snapd ships
// some in /usr/lib/systemd/user) are gone, then the manager is reloaded.
// putBackAgentUnits undoes it, and reloads again.
func removeAgentUnits(t *testing.T, s *usersessiontest.Session) {
	t.Helper()
	inManagerNS(t, s, `
		mkdir /run/systemd/hidden-agent-units /run/systemd/usr-user-units
		mv /run/systemd/user/snapd.session-agent.* /run/systemd/hidden-agent-units/
		cp -a /usr/lib/systemd/user/. /run/systemd/usr-user-units/
		rm -f /run/systemd/usr-user-units/snapd.session-agent.*
		mount --bind /run/systemd/usr-user-units /usr/lib/systemd/user`)
	mustSystemctl(t, s, "daemon-reload")
}

func putBackAgentUnits(t *testing.T, s *usersessiontest.Session) {
	t.Helper()
	inManagerNS(t, s, `
		umount /usr/lib/systemd/user
		mv /run/systemd/hidden-agent-units/* /run/systemd/user/`)
	mustSystemctl(t, s, "daemon-reload")
}

// wantRefused checks that the agent socket is there and refuses connections.
func wantRefused(t *testing.T, s *usersessiontest.Session) {
	t.Helper()
	conn, err := net.DialTimeout("unix", s.AgentSocket(), 5*time.Second)
	if err == nil {
		conn.Close()
		t.Fatalf("the agent socket of %s accepts connections", s.User)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("connecting to the agent socket of %s: %v, want connection refused", s.User, err)
	}
}

// TestRepairAfterAgentUnitsRemovedAndPutBack: after the agent's unit files are
// removed and the manager reloaded, the socket unit stays active with
// Loaded: not-found and refuses connections; putting the files back does not help.
// Root's commands then say the agent is broken (with --no-repair), and
// `snap sessions repair` brings it back and says so.
func TestRepairAfterAgentUnitsRemovedAndPutBack(t *testing.T) {
	t.Parallel()
	s := agentSession(t, 0)
	users := "--users=" + s.User
	// No agent runs yet: a running agent keeps serving the socket it was given
	// until it exits, and the socket is broken only from then on.
	removeAgentUnits(t, s)
	if got := unitProp(t, s, agentSocketUnit, "LoadState") + " " + unitState(t, s, agentSocketUnit); got != "not-found active" {
		t.Errorf("after the unit files were removed the socket unit is %q, want not-found active", got)
	}
	wantRefused(t, s)
	putBackAgentUnits(t, s)
	wantRefused(t, s)

	r := runSnap(t, "sessions", "list", users, "--no-repair", "--json")
	e := decodeSessionsJSON(t, r)[s.User]
	if r.code != 1 || e.OK || e.Error == nil || e.Error.Kind != string(client.KindBrokenAgent) {
		t.Fatalf("list --no-repair: exit %d, want 1 with kind %s:\n%s%s", r.code, client.KindBrokenAgent, r.stdout, r.stderr)
	}
	wantRefused(t, s)

	r = runSnap(t, "sessions", "repair", users)
	if r.code != 0 {
		t.Fatalf("repair: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// UID User Agent Socket-unit-before State
	if row := tableRow(t, r.stdout, s); !strings.HasSuffix(row, "  repaired") || !strings.Contains(row, "loaded, active (listening)") {
		t.Errorf("repair row of %s: %q", s.User, row)
	}
	if !strings.Contains(r.stderr, "repaired the session agent socket of user "+s.User) {
		t.Errorf("repair does not say what it repaired: %q", r.stderr)
	}
	if info := sessionInfo(t, s.AgentSocket()); info.UID == nil || *info.UID != s.UID {
		t.Errorf("after repair the agent of %s answers as %+v", s.User, info)
	}

	// A healthy agent is left alone.
	r = runSnap(t, "sessions", "repair", users)
	if f := strings.Fields(tableRow(t, r.stdout, s)); r.code != 0 || len(f) != 5 || f[3] != "-" || f[4] != "ok" {
		t.Errorf("repair of a healthy agent: exit %d, row %q", r.code, f)
	}
}

// TestAutomaticRepairAfterSocketStartLimit: a socket unit failed by its start limit
// (systemd removes its file) is repaired by any command addressing the user, which
// then gets its answer.
func TestAutomaticRepairAfterSocketStartLimit(t *testing.T) {
	t.Parallel()
	s := agentSession(t, 0)
	// A tight start limit on the socket, so that three restarts hit it whatever
	// limit the shipped unit has.
	s.WriteUserUnit(agentSocketUnit+".d/limit.conf", "[Unit]\nStartLimitIntervalSec=1h\nStartLimitBurst=2\n")
	mustSystemctl(t, s, "daemon-reload")
	for range 3 {
		_, _ = s.Systemctl("restart", agentSocketUnit)
	}
	if st, res := unitState(t, s, agentSocketUnit), unitProp(t, s, agentSocketUnit, "Result"); st != "failed" || res != "start-limit-hit" {
		t.Fatalf("the socket unit is %s (%s) after restarts over its limit, want failed (start-limit-hit)", st, res)
	}
	if _, err := os.Lstat(s.AgentSocket()); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the failed socket unit left its socket file (%v)", err)
	}

	r := runSnap(t, "sessions", "list", "--users="+s.User, "--json")
	if r.code != 0 {
		t.Fatalf("list: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	var list []struct {
		User     string
		OK       bool
		Result   wire.SessionInfo
		Repaired *client.RepairResult
	}
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil || len(list) != 1 {
		t.Fatalf("list --json: %v\n%s", err, r.stdout)
	}
	e := list[0]
	if !e.OK || e.Result.UID == nil || *e.Result.UID != s.UID || e.Repaired == nil ||
		e.Repaired.Before.ActiveState != "failed" || e.Repaired.Before.Result != "start-limit-hit" ||
		e.Repaired.After.ActiveState != "active" {
		t.Errorf("list --json after a start-limit failure: %s", r.stdout)
	}
	if st := unitState(t, s, agentSocketUnit); st != "active" {
		t.Errorf("the socket unit is %s after repair", st)
	}
}

// TestGoneSessionIsListedBrokenAgentIsRepaired: addressing all sessions, a socket
// left behind by a session that is gone (nothing listens, no user manager) is listed
// as "no session" and is no failure, while a live manager's broken agent is a
// failure with --no-repair and repaired without it.
func TestGoneSessionIsListedBrokenAgentIsRepaired(t *testing.T) {
	t.Parallel()
	live := agentSession(t, 0)
	removeAgentUnits(t, live)
	putBackAgentUnits(t, live)
	wantRefused(t, live)

	// A runtime directory of our own holds exactly these two sessions: the live
	// one, bind-mounted, and a gone one's leftover socket.
	base := t.TempDir()
	liveDir := filepath.Join(base, fmt.Sprint(live.UID))
	if err := os.Mkdir(liveDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount(live.RuntimeDir, liveDir, "", unix.MS_BIND, ""); err != nil {
		t.Fatalf("cannot bind-mount %s: %v", live.RuntimeDir, err)
	}
	t.Cleanup(func() { _ = unix.Unmount(liveDir, unix.MNT_DETACH) })
	const goneUID = 4000321
	leftoverSocket(t, filepath.Join(base, fmt.Sprint(goneUID)), goneUID)

	env := []string{"SNAP_SESSION_AGENT_RUNTIME_DIR=" + base}
	r := runSnapEnv(t, env, "sessions", "list", "--no-repair", "--json")
	got := decodeSessionsJSON(t, r)
	// The gone session's uid has no user: its user is null.
	gone, broken := got[""], got[live.User]
	if r.code != 1 || len(got) != 2 || gone.UID == nil || *gone.UID != goneUID || gone.OK || gone.Error == nil || gone.Error.Kind != string(client.KindNoSession) ||
		broken.Error == nil || broken.Error.Kind != string(client.KindBrokenAgent) {
		t.Errorf("list --no-repair: exit %d, want 1 (the broken agent) with the gone session listed:\n%s%s", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.stderr, fmt.Sprint(goneUID)) {
		t.Errorf("the gone session is reported as an error: %s", r.stderr)
	}

	r = runSnapEnv(t, env, "sessions", "list")
	if r.code != 0 {
		t.Fatalf("list: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if row := tableRow(t, r.stdout, live); !strings.HasSuffix(row, "  ok") {
		t.Errorf("row of the repaired session: %q", row)
	}
	var goneRow []string
	for _, line := range strings.Split(r.stdout, "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == fmt.Sprint(goneUID) {
			goneRow = f
		}
	}
	if n := len(goneRow); n < 2 || goneRow[n-2] != "no" || goneRow[n-1] != "session" {
		t.Errorf("the gone session is not listed as no session:\n%s", r.stdout)
	}
}

// leftoverSocket leaves at dir/snapd-session-agent.socket what a gone session
// leaves: a socket file of uid, in a directory of uid, on which nothing listens.
func leftoverSocket(t *testing.T, dir string, uid int) {
	t.Helper()
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, wire.SocketName)
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close()
	for _, p := range []string{dir, path} {
		if err := os.Chown(p, uid, uid); err != nil {
			t.Fatal(err)
		}
	}
}
