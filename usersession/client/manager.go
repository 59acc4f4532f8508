package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/coreos/go-systemd/v22/util"
	"golang.org/x/sys/unix"

	"github.com/snapcore-ng/usersession-agent/internal/peercred"
	"github.com/snapcore-ng/usersession-agent/systemd"
)

// managerBinaries are where distributions install systemd's manager binary.
var managerBinaries = []string{"/usr/lib/systemd/systemd", "/lib/systemd/systemd"}

// What root reads from a user's manager (whose socket the user can serve with a
// program of their own, and whose answers root trusts only so far) is bounded on
// every connection, by numbers measured on real repairs: a repair (the connection,
// the socket unit's state, two reset-faileds, the restart, the state again, and the
// signals the manager sends every connection meanwhile) read 17 to 23 KiB from a
// real user manager of systemd 252 (the agent socket unit stopped, or failed by its
// start limit), and its largest message was 1,208 bytes (a PropertiesChanged of a
// unit).
//
//   - managerReadBudget, the bytes of all the Manager's connections: about 45 times
//     a repair, for a busier session's signals (a daemon-reload of a small session
//     is about 80 of them). With the fan-out's 32 repairs at once, at most 32 MiB.
//   - managerMaxMessage, one message: about 50 times the largest seen. godbus's own
//     limit is 128 MiB.
const (
	managerReadBudget = 1 << 20
	managerMaxMessage = 64 << 10
)

// managerLimits are the systemd.Limits of root's connections to users' managers.
var managerLimits = systemd.Limits{ReadBudget: managerReadBudget, MaxMessageSize: managerMaxMessage}

// Seams of the tests: whether this host was booted with systemd (sd_booted(3):
// /run/systemd/system is a directory, in root's mount namespace), the connection to
// PID 1, and the check of a user's manager.
var (
	sdBooted      = util.IsRunningSystemd
	connectSystem = systemd.ConnectSystem
	verifyManager = (*managers).verify
)

// NoManagerError says the user has no running `systemd --user`, so no session: PID
// 1 says user@UID.service is not running, or (where PID 1 is not systemd) nothing
// serves the manager's private socket.
type NoManagerError struct {
	// Reason says how that is known.
	Reason string
	// Err is the connection's error, when the socket said so.
	Err error
}

func (e *NoManagerError) Error() string { return "no user manager (" + e.Reason + ")" }

func (e *NoManagerError) Unwrap() error { return e.Err }

// ManagerIdentityError says the process serving a user manager's private socket is
// not that user's `systemd --user`; root sent it nothing.
type ManagerIdentityError struct {
	Path   string
	PID    int
	Reason string
}

func (e *ManagerIdentityError) Error() string {
	return fmt.Sprintf("%s is not served by the user's systemd manager: pid %d %s", e.Path, e.PID, e.Reason)
}

// managerSocket is uid's user manager's private socket under the client's runtime
// directory.
func (c *Client) managerSocket(uid int) string {
	return systemd.UserPrivateSocket(filepath.Join(c.opts.RuntimeDir, strconv.Itoa(uid)))
}

// managers finds users' managers for one fan-out. On a host booted with systemd it
// asks PID 1 about each user's user@UID.service, over one connection that the whole
// fan-out shares and close ends.
type managers struct {
	c      *Client
	booted bool

	mu        sync.Mutex
	system    *systemd.Manager
	systemErr error
}

func (c *Client) newManagers() *managers {
	return &managers{c: c, booted: sdBooted()}
}

func (ms *managers) close() {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	if ms.system != nil {
		ms.system.Close()
	}
}

// systemManager returns the connection to PID 1, made on first use. A failure is
// kept for the fan-out: every session would wait for it again.
func (ms *managers) systemManager(ctx context.Context) (*systemd.Manager, error) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	if ms.system == nil && ms.systemErr == nil {
		ms.system, ms.systemErr = connectSystem(ctx)
	}
	return ms.system, ms.systemErr
}

// userService asks PID 1 for user@UID.service's state: its main process (the user's
// manager) when it runs, else a *NoManagerError.
func (ms *managers) userService(ctx context.Context, uid int) (uint32, error) {
	unit := fmt.Sprintf("user@%d.service", uid)
	sys, err := ms.systemManager(ctx)
	if err != nil {
		return 0, fmt.Errorf("cannot ask systemd (PID 1) whether %s runs: %w", unit, err)
	}
	props, err := sys.Properties(ctx, unit, systemd.UnitProp("ActiveState"), systemd.Prop{Iface: "Service", Name: "MainPID"})
	if err != nil {
		return 0, fmt.Errorf("cannot ask systemd (PID 1) whether %s runs: %w", unit, err)
	}
	state, _ := props["ActiveState"].(string)
	pid, _ := props["MainPID"].(uint32)
	if (state != "active" && state != "reloading") || pid == 0 {
		return 0, &NoManagerError{Reason: fmt.Sprintf("%s is %s, says systemd", unit, state)}
	}
	return pid, nil
}

// find returns a connection to uid's manager on which nothing has been sent, once
// the process serving it is checked to be the manager the system started for uid
// (see verify). On a host booted with systemd, PID 1 says first whether the user's
// manager runs: if not, it is a *NoManagerError and the user's socket is not
// touched. Elsewhere a socket that is missing, or on which nothing listens, is a
// *NoManagerError. A peer that fails the check is a *ManagerIdentityError, and the
// socket and its directory are checked as the agent's are (*UnsafeSocketError).
func (ms *managers) find(ctx context.Context, uid int) (net.Conn, error) {
	if ms.booted {
		if _, err := ms.userService(ctx, uid); err != nil {
			return nil, err
		}
	}
	path := ms.c.managerSocket(uid)
	conn, err := connectOwned(ctx, path, uid, ms.c.opts.ConnectTimeout)
	if err != nil {
		var ue *UnsafeSocketError
		gone := errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED)
		switch {
		case errors.As(err, &ue):
			ue.Manager = true
			return nil, ue
		case errors.Is(err, syscall.ELOOP) || errors.Is(err, syscall.ENOTDIR):
			return nil, &UnsafeSocketError{Path: path, Reason: "it or its directory is a symlink", Manager: true}
		case gone && !ms.booted:
			return nil, &NoManagerError{Reason: fmt.Sprintf("nothing serves %s", path), Err: err}
		case gone:
			// PID 1 says the manager runs: its socket is gone or dead, not the session.
			return nil, fmt.Errorf("user@%d.service runs but its socket cannot be reached: %w", uid, err)
		}
		return nil, fmt.Errorf("cannot connect to the user's systemd manager: %w", err)
	}
	if err := verifyManager(ms, ctx, conn, path, uid); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

// connect speaks D-Bus to uid's manager over conn, a connection find returned, within
// managerLimits. A connection lost later is found and checked again.
func (ms *managers) connect(ctx context.Context, uid int, conn net.Conn) (*systemd.Manager, error) {
	first := conn
	dial := func(ctx context.Context) (net.Conn, error) {
		if c := first; c != nil {
			first = nil
			return c, nil
		}
		return ms.find(ctx, uid)
	}
	return systemd.Connect(ctx, ms.c.managerSocket(uid), dial, managerLimits)
}

// verify accepts conn only if the process serving it is the `systemd --user` the
// system started for uid. Every check reads what that process is (held by a pidfd,
// SO_PEERPIDFD, checked to be alive at the end, so that a pid reused in between is
// not mistaken for it):
//
//   - it runs as uid (SO_PEERCRED and every one of its uids), is not traced
//     (TracerPid 0: a tracer controls what its tracee does and says), and runs
//     systemd's manager binary with --user;
//   - on a host booted with systemd, it is the main process of user@UID.service, as
//     PID 1 (root's, and the one who started it) says over its root-only socket.
//     Nothing else the user can touch counts there.
//   - where PID 1 is not systemd (this project's harness) nothing records which
//     process the system started, and the strongest fact is where the process came
//     from: it is in user@UID.service in the unified cgroup hierarchy, and its parent
//     runs as root outside that subtree. A process can only be moved into the
//     subtree by someone with write access at the common ancestor of its old and new
//     cgroups (cgroup v2's delegation rule), which the user has only inside
//     user@UID.service: what the user puts there descends from the manager. The
//     manager is a child subreaper, so every such process has the manager or another
//     process in the subtree as parent, even once its own parent is gone (a setuid
//     program the user runs there, su for one, is a root parent inside the subtree:
//     hence "outside"); only the manager has root's launcher (or PID 1) as parent.
//     Seen on the harness: its managers' parent is PID 1 (uid 0, cgroup /), and a
//     process double-forked from a unit of the manager gets the manager as parent.
//     That holds while the real manager runs: a user who kills their own manager
//     leaves its orphans to PID 1, and one of those that runs the manager binary then
//     passes (root then talks to that user's program about that user's session
//     only, within managerLimits). The named v1 hierarchy (systemd's
//     "name=systemd") has no delegation rule (seen here: a process of the user's
//     outside the manager could move itself into user@UID.service/init.scope there,
//     not in the unified one), so a host without the unified hierarchy is refused.
//
// The parent's pid is read again after its owner and cgroup, so that a parent that
// exits in between (its children then get the subreaper as parent) and whose pid is
// reused is noticed.
func (ms *managers) verify(ctx context.Context, conn net.Conn, path string, uid int) error {
	cred, err := peercred.Read(conn)
	if err != nil {
		return err
	}
	pid := int(cred.PID)
	refuse := func(format string, args ...any) error {
		return &ManagerIdentityError{Path: path, PID: pid, Reason: fmt.Sprintf(format, args...)}
	}
	if int(cred.UID) != uid {
		return refuse("runs as uid %d", cred.UID)
	}
	pidfd, err := peerPidfd(conn, pid)
	if err != nil {
		return refuse("cannot be pinned: %v", err)
	}
	defer unix.Close(pidfd)

	if ms.booted {
		// Asked again now that the process is pinned: while the pidfd is alive its
		// pid is not anybody else's.
		main, err := ms.userService(ctx, uid)
		if err != nil {
			return err
		}
		if int(main) != pid {
			return refuse("is not the main process of user@%d.service (systemd says pid %d is)", uid, main)
		}
	}
	proc := "/proc/" + strconv.Itoa(pid)
	status, err := os.ReadFile(proc + "/status")
	if err != nil {
		return refuse("cannot be read: %v", err)
	}
	if uids := statusField(string(status), "Uid"); !allEqual(uids, strconv.Itoa(uid)) {
		return refuse("has uids %v, not %d", uids, uid)
	}
	if tracer := statusField(string(status), "TracerPid"); len(tracer) != 1 || tracer[0] != "0" {
		return refuse("is traced (by pid %v)", strings.Join(tracer, " "))
	}
	exe, err := os.Readlink(proc + "/exe")
	if err != nil {
		return refuse("cannot be read: %v", err)
	}
	// A manager that outlived an upgrade of its binary shows " (deleted)".
	if exe = strings.TrimSuffix(exe, " (deleted)"); !slices.Contains(managerBinaries, exe) {
		return refuse("runs %s, not systemd", exe)
	}
	cmdline, err := os.ReadFile(proc + "/cmdline")
	if err != nil {
		return refuse("cannot be read: %v", err)
	}
	if args := strings.Split(string(cmdline), "\x00"); !slices.Contains(args[1:], "--user") {
		return refuse("is not a user manager (no --user)")
	}
	if !ms.booted {
		if why := notStartedBySystem(pid, status, uid); why != "" {
			return refuse("%s", why)
		}
	}
	if err := unix.PidfdSendSignal(pidfd, 0, nil, 0); err != nil {
		return refuse("exited while it was checked")
	}
	return nil
}

// notStartedBySystem says why process pid (whose /proc status is status) is not
// the manager the system started for uid, where PID 1 is not systemd (see verify),
// or returns "".
func notStartedBySystem(pid int, status []byte, uid int) string {
	cgroups, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		return fmt.Sprintf("cannot be read: %v", err)
	}
	service := fmt.Sprintf("/user.slice/user-%d.slice/user@%d.service", uid, uid)
	cg, ok := unifiedCgroup(string(cgroups))
	switch {
	case !ok:
		return "cannot be told from the user's own processes: this host has no unified cgroup hierarchy"
	case cg != service && cg != service+"/init.scope":
		return fmt.Sprintf("is not in user@%d.service (its cgroup is %s)", uid, cg)
	}
	ppid := statusField(string(status), "PPid")
	if len(ppid) != 1 || ppid[0] == "0" {
		return "has no parent in this pid namespace"
	}
	pstatus, err := os.ReadFile("/proc/" + ppid[0] + "/status")
	if err != nil {
		return fmt.Sprintf("has a parent (pid %s) that cannot be read: %v", ppid[0], err)
	}
	if uids := statusField(string(pstatus), "Uid"); !allEqual(uids, "0") {
		return fmt.Sprintf("was not started by the system: its parent, pid %s, has uids %v", ppid[0], uids)
	}
	pcgroups, err := os.ReadFile("/proc/" + ppid[0] + "/cgroup")
	if err != nil {
		return fmt.Sprintf("has a parent (pid %s) that cannot be read: %v", ppid[0], err)
	}
	if pcg, _ := unifiedCgroup(string(pcgroups)); pcg == service || strings.HasPrefix(pcg, service+"/") {
		return fmt.Sprintf("was not started by the system: its parent, pid %s, is in user@%d.service", ppid[0], uid)
	}
	now, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil || !slices.Equal(statusField(string(now), "PPid"), ppid) {
		return "changed parent while it was checked"
	}
	return ""
}

// unifiedCgroup returns the unified (v2) hierarchy's path in a /proc/PID/cgroup, its
// "0::PATH" line.
func unifiedCgroup(cgroups string) (string, bool) {
	for _, line := range strings.Split(cgroups, "\n") {
		if path, ok := strings.CutPrefix(line, "0::"); ok {
			return path, true
		}
	}
	return "", false
}

// peerPidfd returns a pidfd of the process serving conn: SO_PEERPIDFD (Linux 6.5)
// names the very process that listened, else one is opened from the PID (a PID reused
// since the connection could then be taken for it; the checks still require it to be
// the user's manager).
func peerPidfd(conn net.Conn, pid int) (int, error) {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return -1, fmt.Errorf("%T is not a socket", conn)
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd, sockErr := -1, error(nil)
	if err := raw.Control(func(s uintptr) {
		fd, sockErr = unix.GetsockoptInt(int(s), unix.SOL_SOCKET, unix.SO_PEERPIDFD)
	}); err != nil {
		return -1, err
	}
	if sockErr == nil {
		return fd, nil
	}
	if !errors.Is(sockErr, unix.ENOPROTOOPT) {
		return -1, sockErr
	}
	return unix.PidfdOpen(pid, 0)
}

// statusField returns the whitespace-separated values of a /proc/PID/status line.
func statusField(status, name string) []string {
	for _, line := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			return strings.Fields(v)
		}
	}
	return nil
}

// allEqual reports whether the status line has four values (real, effective, saved,
// filesystem ids), all v.
func allEqual(ids []string, v string) bool {
	return len(ids) == 4 && !slices.ContainsFunc(ids, func(id string) bool { return id != v })
}
