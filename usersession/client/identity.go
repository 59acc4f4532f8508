package client

import (
	"context"
	"errors"
	"net"
	"os"
	"time"

	"github.com/snapcore-ng/usersession-agent/internal/peercred"
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
