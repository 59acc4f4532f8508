package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"

	"github.com/coreos/go-systemd/v22/util"

	"github.com/snapcore-ng/usersession-agent/systemd"
)

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

// Kind is KindNoSession: without a manager the user has no session.
func (*NoManagerError) Kind() Kind { return KindNoSession }

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
