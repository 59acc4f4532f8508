package client

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/snapcore-ng/usersession-agent/internal/peercred"
	"github.com/snapcore-ng/usersession-agent/internal/procfs"
)

// dialAgent returns a DialContext for an http.Transport that ignores the address it
// is given, connects to the session's socket within timeout, and returns the
// connection only if the process serving it runs as the session's uid.
//
// The connection carries deadline (the call's whole-call deadline) for every read and
// write: net/http stops watching the call's context on some paths (a 101 answer
// hands the raw connection to its caller), and an agent must not be able to make
// root wait past the deadline on any of them.
func dialAgent(s Session, timeout time.Duration, deadline time.Time) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, _, _ string) (net.Conn, error) {
		conn, err := connectOwned(ctx, s.Socket, s.UID, timeout)
		if err != nil {
			var ue *UnsafeSocketError
			var pe *fs.PathError
			switch {
			case errors.As(err, &ue):
				return nil, err
			case errors.As(err, &pe) && (errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR)):
				return nil, &UnsafeSocketError{Path: s.Socket, Reason: "a symlink since discovery"}
			case errors.As(err, &pe):
				// Gone: the agent exited since discovery.
				return nil, &TransportError{Op: "connect", Err: err}
			case ctx.Err() == nil && isTimeout(err):
				return nil, &TimeoutError{Phase: PhaseConnect, Limit: timeout}
			case ctx.Err() != nil:
				// The caller's or the call's deadline is classified by the
				// caller, which knows which one it was.
				return nil, ctx.Err()
			}
			return nil, &TransportError{Op: "connect", Err: err}
		}
		if err := checkPeer(conn, s.UID); err != nil {
			conn.Close()
			return nil, err
		}
		if err := conn.SetDeadline(deadline); err != nil {
			conn.Close()
			return nil, &TransportError{Op: "connect", Err: err}
		}
		return conn, nil
	}
}

// connectOwned connects, within timeout, to the unix socket at path, which must be
// uid's: it opens the socket file (O_PATH: a handle on the inode, not a connection)
// through its directory, following no symlink in either, checks the inodes opened
// (the directory and the socket belong to uid, and only uid can write the
// directory), and connects through the handle (/proc/self/fd/N), which reaches
// exactly the inode checked: a user who swaps the path for a symlink to another
// socket after it was checked cannot make root connect there. Agent sockets and
// users' manager sockets are both reached this way.
//
// A socket or directory that is not uid's is an *UnsafeSocketError; one that cannot
// be opened an *fs.PathError (ELOOP or ENOTDIR for a symlink); a failed connect
// the dialer's error, naming path.
func connectOwned(ctx context.Context, path string, uid int, timeout time.Duration) (net.Conn, error) {
	fd, err := openOwned(path, uid)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "unix", procfs.FDPath(fd))
	if err != nil {
		// Name the socket, not the descriptor it was reached through.
		if oe, ok := err.(*net.OpError); ok {
			oe.Addr = &net.UnixAddr{Name: path, Net: "unix"}
		}
		return nil, err
	}
	return conn, nil
}

// openOwned opens the socket file at path for connectOwned.
func openOwned(path string, uid int) (int, error) {
	dir, name := filepath.Split(path)
	unsafe := func(reason string, args ...any) error {
		return &UnsafeSocketError{Path: path, Reason: fmt.Sprintf(reason, args...)}
	}
	dfd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, &fs.PathError{Op: "open", Path: dir, Err: err}
	}
	defer unix.Close(dfd)
	var st unix.Stat_t
	if err := unix.Fstat(dfd, &st); err != nil {
		return -1, err
	}
	if int(st.Uid) != uid || st.Mode&0o022 != 0 {
		return -1, unsafe("directory %s is not the user's alone (owner uid %d, mode %04o)", dir, st.Uid, st.Mode&0o7777)
	}
	fd, err := unix.Openat(dfd, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFSOCK || int(st.Uid) != uid {
		unix.Close(fd)
		return -1, unsafe("it is not a socket of the user's (mode %07o, owner uid %d)", st.Mode, st.Uid)
	}
	return fd, nil
}

// checkPeer refuses a connection whose server process does not run as uid. Even root
// is refused: a root process serving a user's socket is not that user's agent, and
// whatever it answers would be attributed to the user.
func checkPeer(conn net.Conn, uid int) error {
	cred, err := peercred.Read(conn)
	if err != nil {
		return &TransportError{Op: "connect", Err: err}
	}
	if int(cred.UID) != uid {
		return &IdentityError{PeerUID: int(cred.UID), PeerPID: int(cred.PID)}
	}
	return nil
}

func isTimeout(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
