package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// dialAgent returns a DialContext for an http.Transport that ignores the address it
// is given, connects to the session's socket within timeout, and returns the
// connection only if the process serving it runs as the session's uid.
func dialAgent(s Session, timeout time.Duration) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, _, _ string) (net.Conn, error) {
		d := net.Dialer{Timeout: timeout}
		conn, err := d.DialContext(ctx, "unix", s.Socket)
		if err != nil {
			if ctx.Err() == nil && isTimeout(err) {
				return nil, &TimeoutError{Phase: PhaseConnect, Limit: timeout}
			}
			// The caller's or the call's deadline is classified by the caller,
			// which knows which one it was.
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, &TransportError{Op: "connect", Err: err}
		}
		if err := checkPeer(conn.(*net.UnixConn), s.UID); err != nil {
			conn.Close()
			return nil, err
		}
		return conn, nil
	}
}

// checkPeer refuses a connection whose server process does not run as uid. Even root
// is refused: a root process serving a user's socket is not that user's agent, and
// whatever it answers would be attributed to the user.
//
// The credentials are read through SyscallConn().Control, which keeps the socket in
// the runtime's poller; (*net.UnixConn).File() would switch it to blocking mode and
// cost a thread per call.
func checkPeer(conn *net.UnixConn, uid int) error {
	raw, err := conn.SyscallConn()
	if err != nil {
		return &TransportError{Op: "connect", Err: fmt.Errorf("cannot get raw connection: %w", err)}
	}
	var cred *unix.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		credErr = err
	}
	if credErr != nil {
		return &TransportError{Op: "connect", Err: fmt.Errorf("cannot read peer credentials: %w", credErr)}
	}
	if int(cred.Uid) != uid {
		return &IdentityError{PeerUID: int(cred.Uid), PeerPID: int(cred.Pid)}
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
