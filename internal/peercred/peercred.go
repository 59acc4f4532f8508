// Package peercred reads the kernel's credentials (SO_PEERCRED) of the process at
// the other end of a unix socket connection. Both sides use it: the agent to know who
// sent a request, the client to know who serves a session's socket.
package peercred

import (
	"fmt"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// Cred identifies the process at the other end of a connection, as the kernel saw it
// when the connection was made (connect for the client side, listen for the server
// side).
type Cred struct {
	UID uint32
	GID uint32
	PID int32
}

// Read returns SO_PEERCRED of c, or of the connection c wraps: wrappers that expose
// a NetConn() method (such as *tls.Conn or a byte-counting conn) are unwrapped.
//
// It goes through SyscallConn().Control rather than (*net.UnixConn).File(): File
// duplicates the descriptor and switches the socket to blocking mode, which costs an
// OS thread per connection.
func Read(c net.Conn) (Cred, error) {
	for {
		wrapper, ok := c.(interface{ NetConn() net.Conn })
		if !ok {
			break
		}
		inner := wrapper.NetConn()
		if inner == nil {
			break
		}
		c = inner
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return Cred{}, fmt.Errorf("cannot read peer credentials: %T is not a socket", c)
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return Cred{}, fmt.Errorf("cannot read peer credentials: %w", err)
	}
	var ucred *unix.Ucred
	var sockErr error
	if err := raw.Control(func(fd uintptr) {
		ucred, sockErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return Cred{}, fmt.Errorf("cannot read peer credentials: %w", err)
	}
	if sockErr != nil {
		return Cred{}, fmt.Errorf("cannot read peer credentials: %w", sockErr)
	}
	return Cred{UID: ucred.Uid, GID: ucred.Gid, PID: ucred.Pid}, nil
}
