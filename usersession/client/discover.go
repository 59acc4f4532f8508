package client

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/snapcore-ng/usersession-agent/internal/userdb"
)

// Session is one session a call addresses, as discovery found it: a user's agent
// socket, and whether and why it is not called as it is.
type Session struct {
	// UID is the uid the runtime directory names, or -1 when its name is not a uid.
	UID int
	// Socket is the agent socket's path, <RuntimeDir>/<name>/SocketName, whether or
	// not anything is there.
	Socket string
	// Cause is nil for a socket that passed discovery's checks: its agent is called.
	// Otherwise it says why not: a *NoAgentError (a uid asked for has no socket), an
	// *UnsafeSocketError (someone other than the user could have placed the socket
	// or its directory), ErrNotLoginSession (left out unchecked), or, for a user the
	// repair scan found (see Client.Repair), a *RepairError or *NoAgentError.
	Cause error
	// Optional says the session was found, not asked for (every session was
	// targeted), so that its being gone is no failure.
	Optional bool
}

// ErrNotLoginSession is the Cause of a session of a uid in systemd's dynamic-user
// range found while targeting every session: it belongs to a service, not to a login
// session, and is left out unchecked and uncalled. A uid given explicitly is
// addressed whatever its range.
var ErrNotLoginSession = errors.New("not a login session")

// Systemd's dynamic-user range (DynamicUser= services, systemd's UIDS-GIDS.md): a
// runtime directory of one of these uids belongs to a service, not to a login session.
const (
	DynamicUIDMin = 61184
	DynamicUIDMax = 65519
)

// Discover finds the sessions t targets: every <RuntimeDir>/<uid>/SocketName there is,
// or the listed uids' (each once, a uid without a socket with a *NoAgentError). They
// come sorted by uid, a socket in a directory that names no uid last.
//
// A socket is used only if the directory's name is a uid in canonical form, the
// directory (not a symlink) belongs to that uid and is not writable by group or
// others, and the path (not a symlink) is a socket that belongs to that uid. With
// these checks only the user (or root) can have put the socket there or can swap it
// between this check and the connection; the identity check after connecting then
// makes sure the user's own process serves it.
//
// Discover returns an error only when t is not valid or the runtime directory cannot
// be read.
func (c *Client) Discover(t Targets) ([]Session, error) {
	if err := t.validate(); err != nil {
		return nil, err
	}
	var found []Session
	if t.all {
		// This is the glob <RuntimeDir>/*/SocketName, without glob's reading of
		// metacharacters in RuntimeDir.
		entries, err := os.ReadDir(c.opts.RuntimeDir)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("cannot list session runtime directories: %w", err)
		}
		for _, e := range entries {
			if s, ok := c.discoverOne(e.Name(), false); ok {
				found = append(found, s)
			}
		}
	} else {
		seen := map[int]bool{}
		for _, uid := range t.uids {
			if !seen[uid] {
				seen[uid] = true
				s, _ := c.discoverOne(strconv.Itoa(uid), true)
				found = append(found, s)
			}
		}
	}
	sortSessions(found)
	return found, nil
}

// sortSessions sorts by uid, -1 last, then by socket path.
func sortSessions(sessions []Session) {
	slices.SortFunc(sessions, func(a, b Session) int {
		return cmp.Or(cmp.Compare(uint32(a.UID), uint32(b.UID)), strings.Compare(a.Socket, b.Socket))
	})
}

// discoverOne checks <RuntimeDir>/name/SocketName. requested says the caller asked for
// this uid, so that a missing socket is a session with a *NoAgentError rather than an
// ordinary user without an agent (ok false).
func (c *Client) discoverOne(name string, requested bool) (s Session, ok bool) {
	dir := filepath.Join(c.opts.RuntimeDir, name)
	s = Session{UID: -1, Socket: filepath.Join(dir, SocketName), Optional: !requested}
	if uid, isUID := userdb.ParseUID(name); isUID {
		s.UID = uid
	}
	sockInfo, err := os.Lstat(s.Socket)
	if err != nil {
		switch {
		case !requested:
			// Most users have no agent, or the entry is not a directory at all.
			return s, false
		case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR):
			s.Cause = &NoAgentError{Path: s.Socket}
		default:
			s.Cause = &UnsafeSocketError{Path: s.Socket, Reason: err.Error()}
		}
		return s, true
	}
	if s.UID < 0 {
		s.Cause = unsafeSocket(s.Socket, "directory name %q is not a uid", name)
		return s, true
	}
	if !requested && s.UID >= DynamicUIDMin && s.UID <= DynamicUIDMax {
		s.Cause = ErrNotLoginSession
		return s, true
	}
	s.Cause = checkOwned(dir, sockInfo, s.UID)
	return s, true
}

// checkOwned says why the socket sock, in dir, is not uid's alone, or returns nil.
func checkOwned(dir string, sock fs.FileInfo, uid int) error {
	path := filepath.Join(dir, SocketName)
	dirInfo, err := os.Lstat(dir)
	switch {
	case err != nil:
		return unsafeSocket(path, "%v", err)
	case dirInfo.Mode()&fs.ModeSymlink != 0:
		return unsafeSocket(path, "directory %s is a symlink", dir)
	case !dirInfo.IsDir():
		return unsafeSocket(path, "%s is not a directory", dir)
	case ownerOf(dirInfo) != uid:
		return unsafeSocket(path, "directory %s belongs to uid %d, not %d", dir, ownerOf(dirInfo), uid)
	case dirInfo.Mode().Perm()&0o022 != 0:
		return unsafeSocket(path, "directory %s is writable by group or others (mode %04o)", dir, dirInfo.Mode().Perm())
	case sock.Mode()&fs.ModeSymlink != 0:
		return unsafeSocket(path, "it is a symlink")
	case sock.Mode()&fs.ModeSocket == 0:
		return unsafeSocket(path, "it is not a socket (mode %v)", sock.Mode())
	case ownerOf(sock) != uid:
		return unsafeSocket(path, "it belongs to uid %d, not %d", ownerOf(sock), uid)
	}
	return nil
}

func unsafeSocket(path, format string, args ...any) *UnsafeSocketError {
	return &UnsafeSocketError{Path: path, Reason: fmt.Sprintf(format, args...)}
}

func ownerOf(fi fs.FileInfo) int {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid)
	}
	return -1
}
