package sessionagent

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/activation"
)

// liveAgentDialTimeout bounds the check for an agent already answering on the path.
const liveAgentDialTimeout = time.Second

// listen returns the listener to serve: Config.Listener, else the socket passed by
// systemd, else a socket bound at Config.SocketPath. activated says which.
func (a *Agent) listen() (l net.Listener, activated bool, err error) {
	if a.cfg.Listener != nil {
		return a.cfg.Listener, false, nil
	}
	l, err = activatedListener()
	if err != nil || l != nil {
		return l, l != nil, err
	}
	l, err = listenPath(a.cfg.SocketPath)
	return l, false, err
}

// activatedListener returns the one unix stream socket systemd passed, nil when it
// passed none, and an error when it passed anything else: a unit file mistake that
// should fail loudly rather than leave a socket nobody serves.
func activatedListener() (net.Listener, error) {
	listeners, err := activation.Listeners()
	if err != nil {
		return nil, fmt.Errorf("cannot use the sockets passed by systemd: %w", err)
	}
	if len(listeners) == 0 {
		return nil, nil
	}
	closeAll := func() {
		for _, l := range listeners {
			if l != nil {
				l.Close()
			}
		}
	}
	if len(listeners) != 1 {
		closeAll()
		return nil, fmt.Errorf("cannot use the sockets passed by systemd: got %d, want one", len(listeners))
	}
	l := listeners[0]
	// Listeners gives nil for a descriptor that is not a listening socket, and
	// "unixpacket" for a SOCK_SEQPACKET one.
	if _, ok := l.(*net.UnixListener); !ok || l.Addr().Network() != "unix" {
		closeAll()
		return nil, errors.New("cannot use the socket passed by systemd: not a listening unix stream socket")
	}
	return l, nil
}

// listenPath binds a unix socket at path, mode 0600. A socket file left by an agent
// that died is replaced; a live agent, or a file that is not a socket, is an error.
func listenPath(path string) (net.Listener, error) {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("cannot listen on %q: %w", path, err)
	case fi.Mode().Type() != fs.ModeSocket:
		return nil, fmt.Errorf("cannot listen on %q: file exists and is not a socket", path)
	default:
		conn, err := net.DialTimeout("unix", path, liveAgentDialTimeout)
		if err == nil {
			conn.Close()
			return nil, fmt.Errorf("cannot listen on %q: another agent is running", path)
		}
		if !errors.Is(err, syscall.ECONNREFUSED) {
			return nil, fmt.Errorf("cannot listen on %q: cannot check for a running agent: %w", path, err)
		}
		// Nobody listens: a stale socket from an agent that did not clean up.
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("cannot remove stale socket: %w", err)
		}
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("cannot listen on %q: %w", path, err)
	}
	// Chmod rather than umask: umask is process-wide and would race with other
	// goroutines creating files. A client connecting before the chmod is still
	// subject to the peer check.
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, fmt.Errorf("cannot listen on %q: %w", path, err)
	}
	return l, nil
}
