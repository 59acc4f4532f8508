package sessionbus

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/snapcore-ng/usersession-agent/internal/runtimedir"
)

// ErrNoBus says no session bus address could be found. The bus is never launched.
var ErrNoBus = errors.New("no session bus: DBUS_SESSION_BUS_ADDRESS is unset and the runtime directory has neither bus nor dbus-session")

// upstartFileMax bounds how much of the runtime directory's dbus-session is read: it
// holds one short line.
const upstartFileMax = 4 << 10

// Address returns the address of the session bus, found as snapd and godbus find it,
// but never autolaunching a bus. RUNDIR is the user's runtime directory
// (runtimedir.Dir: $XDG_RUNTIME_DIR, else /run/user/UID, where snapd looks):
//
//   - $DBUS_SESSION_BUS_ADDRESS when it is set (and not "autolaunch:");
//   - else unix:path=RUNDIR/bus when that is a socket (systemd's user bus,
//     dbus-user-session);
//   - else the address written in RUNDIR/dbus-session, the file Upstart's session job
//     writes on Ubuntu 16.04: one line "DBUS_SESSION_BUS_ADDRESS=ADDRESS". It is read
//     only when the variable is unset.
//
// It returns ErrNoBus (wrapped, with the reason for a bad dbus-session file) when none
// gives an address.
func Address() (string, error) {
	if addr := os.Getenv("DBUS_SESSION_BUS_ADDRESS"); addr != "" && addr != "autolaunch:" {
		return addr, nil
	}
	dir := runtimedir.Dir()
	path := filepath.Join(dir, "bus")
	if fi, err := os.Stat(path); err == nil && fi.Mode().Type() == fs.ModeSocket {
		return "unix:path=" + path, nil
	}
	if _, ok := os.LookupEnv("DBUS_SESSION_BUS_ADDRESS"); ok {
		return "", ErrNoBus
	}
	return upstartAddress(filepath.Join(dir, "dbus-session"))
}

// upstartAddress reads the address from Upstart's dbus-session file at path.
func upstartAddress(path string) (string, error) {
	// A regular file only: opening a FIFO planted there would block.
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", ErrNoBus
	case err != nil:
		return "", fmt.Errorf("%w: %v", ErrNoBus, err)
	case !fi.Mode().IsRegular():
		return "", fmt.Errorf("%w: %s is not a regular file", ErrNoBus, path)
	}
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrNoBus, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(io.LimitReader(f, upstartFileMax))
	for sc.Scan() {
		if addr, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "DBUS_SESSION_BUS_ADDRESS="); ok && addr != "" {
			return addr, nil
		}
	}
	return "", fmt.Errorf("%w: no DBUS_SESSION_BUS_ADDRESS= line in %s", ErrNoBus, path)
}
