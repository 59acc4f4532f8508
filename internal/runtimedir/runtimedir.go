// Package runtimedir says where a user's runtime directory is: the directory of the
// user's session sockets (the session agent's, the user manager's private one, the
// session bus). One rule for the whole project, so that the agent, `snap userd`, the
// session bus lookup and the CLI never disagree on it.
package runtimedir

import (
	"os"
	"path/filepath"
	"strconv"
)

// Base holds one runtime directory per uid (snapd's dirs.XdgRuntimeDirBase; logind
// makes /run/user/UID at a user's first login and removes it at the last logout).
const Base = "/run/user"

// Of is uid's runtime directory as root sees it: Base/UID, whatever the
// environment of this process says.
func Of(uid int) string {
	return filepath.Join(Base, strconv.Itoa(uid))
}

// Dir is this process's user's runtime directory: $XDG_RUNTIME_DIR, or, when it is
// unset, empty or relative (the XDG Base Directory specification: a relative path is
// invalid and ignored), snapd's /run/user/UID for this process's uid, which is where
// logind makes it. snapd itself always uses /run/user/UID.
func Dir() string {
	if dir := os.Getenv("XDG_RUNTIME_DIR"); filepath.IsAbs(dir) {
		return dir
	}
	return Of(os.Getuid())
}
