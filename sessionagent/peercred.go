package sessionagent

import (
	"context"
	"net"
	"net/http"

	"github.com/snapcore-ng/usersession-agent/internal/apierror"
	"github.com/snapcore-ng/usersession-agent/internal/peercred"
	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

// PeerCred identifies the process at the other end of a connection, as the kernel saw
// it when the process connected.
type PeerCred = peercred.Cred

// peerInfo is what the connection context holds: the credentials, or why they could not
// be read.
type peerInfo struct {
	cred PeerCred
	err  error
}

type peerKey struct{}

// withPeerCred is the server's ConnContext: it reads the peer's credentials once per
// connection, so that every request on it is checked without a system call.
func withPeerCred(ctx context.Context, c net.Conn) context.Context {
	cred, err := peercred.Read(c)
	return context.WithValue(ctx, peerKey{}, peerInfo{cred, err})
}

// PeerCredFromContext returns the credentials of the client that sent a request, from
// its context.
func PeerCredFromContext(ctx context.Context) (PeerCred, bool) {
	p, ok := ctx.Value(peerKey{}).(peerInfo)
	return p.cred, ok && p.err == nil
}

// peerAllowed says whether a peer may use the agent of user ownUID: root, which acts
// for snapd, and the user themself.
func peerAllowed(cred PeerCred, ownUID uint32) bool {
	return cred.UID == 0 || cred.UID == ownUID
}

// checkPeer is the guard in front of routing: it returns nil for an allowed peer, and
// for any other logs one line and returns the 403 to answer. The connection is closed
// after it, so a refused client cannot hold it open.
func (a *Agent) checkPeer(r *http.Request) Response {
	p, ok := r.Context().Value(peerKey{}).(peerInfo)
	switch {
	case !ok || p.err != nil:
		a.log.Warn("refused request: cannot read peer credentials", "err", p.err)
		return withHeader(errorResponse(apierror.Errorf(wire.ErrorKindForbidden,
			"cannot check the credentials of the connection")), "Connection", "close")
	case !peerAllowed(p.cred, a.uid):
		a.log.Warn("refused request from another user", "uid", p.cred.UID, "pid", p.cred.PID,
			"method", r.Method, "path", r.URL.Path)
		return withHeader(errorResponse(apierror.Errorf(wire.ErrorKindForbidden,
			"uid %d is not allowed to use the session agent of uid %d", p.cred.UID, a.uid)),
			"Connection", "close")
	}
	return nil
}
