package client

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/snapcore-ng/usersession-agent/internal/peercred"
	"github.com/snapcore-ng/usersession-agent/systemd"
)

// managerBinaries are where distributions install systemd's manager binary.
var managerBinaries = []string{"/usr/lib/systemd/systemd", "/lib/systemd/systemd"}

// NoManagerError says nothing serves the user manager's private socket: the user has
// no running `systemd --user`, so no session.
type NoManagerError struct {
	Path string
	Err  error
}

func (e *NoManagerError) Error() string {
	return fmt.Sprintf("no user manager (nothing serves %s: %v)", e.Path, e.Err)
}

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

// connectManager connects root to uid's user manager over its private D-Bus socket,
// which systemd lets root use (its check is on the peer's uid). The socket lies in the
// user's directory, so whoever serves it is checked first (see verifyManager); no
// D-Bus message is sent to a process that fails the check. A socket that is missing,
// or on which nothing listens, gives a *NoManagerError.
func (c *Client) connectManager(ctx context.Context, uid int) (*systemd.Manager, error) {
	path := c.managerSocket(uid)
	if err := checkOwned(path, uid, fs.ModeSocket); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &NoManagerError{Path: path, Err: err}
		}
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.ConnectTimeout)
	defer cancel()
	m, err := systemd.ConnectPrivateVerified(ctx, path, func(conn net.Conn) error { return verifyManager(conn, path, uid) })
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOENT) {
			return nil, &NoManagerError{Path: path, Err: err}
		}
		return nil, err
	}
	return m, nil
}

// checkOwned refuses path unless it and its parent directory are not symlinks and
// belong to uid, and path has the type mode says.
func checkOwned(path string, uid int, mode fs.FileMode) error {
	for _, p := range []string{filepath.Dir(path), path} {
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		want := fs.ModeDir
		if p == path {
			want = mode
		}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			return &UnsafeSocketError{Path: path, Reason: p + " is a symlink"}
		case fi.Mode().Type() != want:
			return &UnsafeSocketError{Path: path, Reason: fmt.Sprintf("%s has the wrong type (mode %v)", p, fi.Mode())}
		case ownerOf(fi) != uid:
			return &UnsafeSocketError{Path: path, Reason: fmt.Sprintf("%s belongs to uid %d, not %d", p, ownerOf(fi), uid)}
		}
	}
	return nil
}

// verifyManager accepts conn only if the process serving it is uid's user manager:
// it runs as uid (SO_PEERCRED, every one of its uids), its executable is systemd's
// manager binary run with --user, and it lives in uid's user@UID.service cgroup, where
// systemd (logind's user@.service, or our harness) puts the session's manager. The
// process is held by a pidfd (SO_PEERPIDFD) while /proc is read and checked to be
// alive afterwards, so a PID reused in between is not mistaken for it.
func verifyManager(conn net.Conn, path string, uid int) error {
	cred, err := peercred.Read(conn)
	if err != nil {
		return err
	}
	refuse := func(format string, args ...any) error {
		return &ManagerIdentityError{Path: path, PID: int(cred.PID), Reason: fmt.Sprintf(format, args...)}
	}
	if int(cred.UID) != uid {
		return refuse("runs as uid %d", cred.UID)
	}
	pidfd, err := peerPidfd(conn, int(cred.PID))
	if err != nil {
		return refuse("cannot be pinned: %v", err)
	}
	defer unix.Close(pidfd)

	proc := "/proc/" + strconv.Itoa(int(cred.PID))
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
	status, err := os.ReadFile(proc + "/status")
	if err != nil {
		return refuse("cannot be read: %v", err)
	}
	if uids := statusField(string(status), "Uid"); len(uids) != 4 || slices.ContainsFunc(uids, func(u string) bool { return u != strconv.Itoa(uid) }) {
		return refuse("has uids %v, not %d", uids, uid)
	}
	cgroups, err := os.ReadFile(proc + "/cgroup")
	if err != nil {
		return refuse("cannot be read: %v", err)
	}
	if !inUserService(string(cgroups), uid) {
		return refuse("is not in user@%d.service", uid)
	}
	if err := unix.PidfdSendSignal(pidfd, 0, nil, 0); err != nil {
		return refuse("exited while it was checked")
	}
	return nil
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

// inUserService reports whether a /proc/PID/cgroup says the process is in uid's
// user@UID.service (itself or its init.scope), in the unified hierarchy or systemd's
// named v1 one.
func inUserService(cgroups string, uid int) bool {
	service := fmt.Sprintf("/user.slice/user-%d.slice/user@%d.service", uid, uid)
	for _, line := range strings.Split(cgroups, "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 || (parts[1] != "" && parts[1] != "name=systemd") {
			continue
		}
		if parts[2] == service || parts[2] == service+"/init.scope" {
			return true
		}
	}
	return false
}
