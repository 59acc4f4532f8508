package client

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// Session is an agent socket that passed discovery's checks.
type Session struct {
	UID    int
	Socket string
}

// Skipped is an agent socket that discovery found and would not use.
type Skipped struct {
	// UID is the uid the directory names, or -1 when its name is not a uid.
	UID  int
	Path string
	// Err says why (an *UnsafeSocketError).
	Err error
}

// Systemd's dynamic-user range (DynamicUser= services, systemd's UIDS-GIDS.md): a
// runtime directory of one of these uids belongs to a service, not to a login session.
const (
	DynamicUIDMin = 61184
	DynamicUIDMax = 65519
)

// Discovery is what Discover found.
type Discovery struct {
	// Sessions are usable agent sockets, sorted by uid.
	Sessions []Session
	// NotLoginSessions are agent sockets of uids in the dynamic-user range found
	// while targeting all sessions, sorted by uid: left out unchecked, and not
	// failures. A uid given explicitly is addressed whatever its range.
	NotLoginSessions []Session
	// Skipped are sockets found but refused, sorted by path; for targeted uids they
	// are also reported in Failed.
	Skipped []Skipped
	// Failed maps a targeted uid with no usable socket to why (*NoAgentError or
	// *UnsafeSocketError). Empty when targeting all sessions.
	Failed map[int]error
}

// Discover finds the agent sockets of t's sessions: <RuntimeDir>/<uid>/SocketName.
//
// A socket is used only if the directory's name is a uid in canonical form, the
// directory (not a symlink) belongs to that uid and is not writable by group or
// others, and the path (not a symlink) is a socket that belongs to that uid. With
// these checks only the user (or root) can have put the socket there or can swap it
// between this check and the connection; the identity check after connecting then
// makes sure the user's own process serves it.
//
// Discover returns an error only when the runtime directory cannot be read.
func (c *Client) Discover(t Targets) (*Discovery, error) {
	if err := t.validate(); err != nil {
		return nil, err
	}
	d := &Discovery{Failed: map[int]error{}}
	if t.all {
		// This is the glob <RuntimeDir>/*/SocketName, without glob's reading of
		// metacharacters in RuntimeDir.
		entries, err := os.ReadDir(c.opts.RuntimeDir)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("cannot list session runtime directories: %w", err)
		}
		for _, e := range entries {
			c.discoverOne(d, e.Name(), false)
		}
	} else {
		seen := map[int]bool{}
		for _, uid := range t.uids {
			if !seen[uid] {
				seen[uid] = true
				c.discoverOne(d, strconv.Itoa(uid), true)
			}
		}
	}
	slices.SortFunc(d.Sessions, func(a, b Session) int { return a.UID - b.UID })
	slices.SortFunc(d.NotLoginSessions, func(a, b Session) int { return a.UID - b.UID })
	slices.SortFunc(d.Skipped, func(a, b Skipped) int { return strings.Compare(a.Path, b.Path) })
	return d, nil
}

// discoverOne checks <RuntimeDir>/name/SocketName. requested says the caller asked for
// this uid, so a missing socket is a failure rather than an ordinary user without an
// agent.
func (c *Client) discoverOne(d *Discovery, name string, requested bool) {
	dir := filepath.Join(c.opts.RuntimeDir, name)
	path := filepath.Join(dir, SocketName)
	uid := parseUID(name)

	sockInfo, err := os.Lstat(path)
	if err != nil {
		if !requested {
			// Most users have no agent, or the entry is not a directory at all.
			return
		}
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			d.Failed[uid] = &NoAgentError{Path: path}
		} else {
			d.Failed[uid] = &UnsafeSocketError{Path: path, Reason: err.Error()}
		}
		return
	}
	reject := func(format string, args ...any) {
		e := &UnsafeSocketError{Path: path, Reason: fmt.Sprintf(format, args...)}
		d.Skipped = append(d.Skipped, Skipped{UID: uid, Path: path, Err: e})
		if requested {
			d.Failed[uid] = e
		}
	}
	if uid < 0 {
		reject("directory name %q is not a uid", name)
		return
	}
	if !requested && uid >= DynamicUIDMin && uid <= DynamicUIDMax {
		d.NotLoginSessions = append(d.NotLoginSessions, Session{UID: uid, Socket: path})
		return
	}
	dirInfo, err := os.Lstat(dir)
	if err != nil {
		reject("%v", err)
		return
	}
	switch {
	case dirInfo.Mode()&fs.ModeSymlink != 0:
		reject("directory %s is a symlink", dir)
		return
	case !dirInfo.IsDir():
		reject("%s is not a directory", dir)
		return
	case ownerOf(dirInfo) != uid:
		reject("directory %s belongs to uid %d, not %d", dir, ownerOf(dirInfo), uid)
		return
	case dirInfo.Mode().Perm()&0o022 != 0:
		reject("directory %s is writable by group or others (mode %04o)", dir, dirInfo.Mode().Perm())
		return
	}
	switch {
	case sockInfo.Mode()&fs.ModeSymlink != 0:
		reject("it is a symlink")
		return
	case sockInfo.Mode()&fs.ModeSocket == 0:
		reject("it is not a socket (mode %v)", sockInfo.Mode())
		return
	case ownerOf(sockInfo) != uid:
		reject("it belongs to uid %d, not %d", ownerOf(sockInfo), uid)
		return
	}
	d.Sessions = append(d.Sessions, Session{UID: uid, Socket: path})
}

// parseUID returns the uid a runtime directory's name stands for, or -1. Only the
// canonical decimal form counts, so "0100" or "+100" cannot pose as uid 100.
func parseUID(name string) int {
	n, err := strconv.ParseUint(name, 10, 32)
	if err != nil || n == 1<<32-1 || strconv.FormatUint(n, 10) != name {
		return -1
	}
	return int(n)
}

func ownerOf(fi fs.FileInfo) int {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid)
	}
	return -1
}
