package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/snapcore-ng/usersession-agent/internal/peercred"
	"github.com/snapcore-ng/usersession-agent/internal/procfs"
)

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

// Kind is KindRefused: root would not talk to what serves the manager's socket.
func (*ManagerIdentityError) Kind() Kind { return KindRefused }

// managerBinaries are where distributions install systemd's manager binary.
var managerBinaries = []string{"/usr/lib/systemd/systemd", "/lib/systemd/systemd"}

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
	status, err := procfs.ReadStatus(pid)
	if err != nil {
		return refuse("cannot be read: %v", err)
	}
	if uids, _ := status.Values("Uid"); !allEqual(uids, strconv.Itoa(uid)) {
		return refuse("has uids %v, not %d", uids, uid)
	}
	if tracer, _ := status.Values("TracerPid"); len(tracer) != 1 || tracer[0] != "0" {
		return refuse("is traced (by pid %v)", strings.Join(tracer, " "))
	}
	exe, err := procfs.Exe(pid)
	if err != nil {
		return refuse("cannot be read: %v", err)
	}
	// A manager that outlived an upgrade of its binary shows " (deleted)".
	if exe = strings.TrimSuffix(exe, " (deleted)"); !slices.Contains(managerBinaries, exe) {
		return refuse("runs %s, not systemd", exe)
	}
	args, err := procfs.Cmdline(pid)
	if err != nil {
		return refuse("cannot be read: %v", err)
	}
	if len(args) == 0 || !slices.Contains(args[1:], "--user") {
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

// notStartedBySystem says why process pid (whose status was read as status) is not
// the manager the system started for uid, where PID 1 is not systemd (see verify),
// or returns "".
func notStartedBySystem(pid int, status procfs.Status, uid int) string {
	service := fmt.Sprintf("/user.slice/user-%d.slice/user@%d.service", uid, uid)
	cg, ok, err := procfs.UnifiedCgroup(pid)
	switch {
	case err != nil:
		return fmt.Sprintf("cannot be read: %v", err)
	case !ok:
		return "cannot be told from the user's own processes: this host has no unified cgroup hierarchy"
	case cg != service && cg != service+"/init.scope":
		return fmt.Sprintf("is not in user@%d.service (its cgroup is %s)", uid, cg)
	}
	ppids, _ := status.Values("PPid")
	ppid, err := strconv.Atoi(strings.Join(ppids, " "))
	if err != nil || ppid <= 0 {
		return "has no parent in this pid namespace"
	}
	pstatus, err := procfs.ReadStatus(ppid)
	if err != nil {
		return fmt.Sprintf("has a parent (pid %d) that cannot be read: %v", ppid, err)
	}
	if uids, _ := pstatus.Values("Uid"); !allEqual(uids, "0") {
		return fmt.Sprintf("was not started by the system: its parent, pid %d, has uids %v", ppid, uids)
	}
	pcg, _, err := procfs.UnifiedCgroup(ppid)
	if err != nil {
		return fmt.Sprintf("has a parent (pid %d) that cannot be read: %v", ppid, err)
	}
	if pcg == service || strings.HasPrefix(pcg, service+"/") {
		return fmt.Sprintf("was not started by the system: its parent, pid %d, is in user@%d.service", ppid, uid)
	}
	if now, err := procfs.StatusValues(pid, "PPid"); err != nil || !slices.Equal(now, ppids) {
		return "changed parent while it was checked"
	}
	return ""
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

// allEqual reports whether the status line has four values (real, effective, saved,
// filesystem ids), all v.
func allEqual(ids []string, v string) bool {
	return len(ids) == 4 && !slices.ContainsFunc(ids, func(id string) bool { return id != v })
}
