package userd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/godbus/dbus/v5"
)

// busCallTimeout bounds each call userd makes to the bus daemon.
const busCallTimeout = 5 * time.Second

// Caller is the sender of a method call as the bus daemon vouches for it.
type Caller struct {
	Sender string
	UID    uint32
	PID    uint32
	// Snap is the snap (with its instance key, "name_key") the process belongs to,
	// or empty for a process outside any snap.
	Snap string
}

// errNotConnected is a caller that left the bus while it was being identified: its
// process ID may since name another process.
var errNotConnected = errors.New("caller is no longer connected to the bus")

// identify asks the bus daemon for the sender's credentials (GetConnectionCredentials:
// UnixUserID, ProcessID, LinuxSecurityLabel) and finds its snap: from the security
// label when the bus gives one naming a snap (AppArmor's "snap.NAME.APP (enforce)"),
// else from the systemd cgroup of the process (snap.NAME.APP-UUID.scope,
// snap.NAME.APP.service, snap.NAME.hook.HOOK-UUID.scope), as snapd does. Reading
// /proc by process ID races with the process exiting and the ID being reused, so the
// process's owner must match the credentials and the sender must still be on the
// bus after /proc was read (snapd's guard).
//
// Without withSnap, only the credentials are read: the methods any app of the user may
// call need no snap, and the cold call that starts the service is the faster for it.
func identify(ctx context.Context, conn *dbus.Conn, sender dbus.Sender, withSnap bool) (*Caller, error) {
	ctx, cancel := context.WithTimeout(ctx, busCallTimeout)
	defer cancel()
	var creds map[string]dbus.Variant
	if err := conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.GetConnectionCredentials", 0,
		string(sender)).Store(&creds); err != nil {
		return nil, fmt.Errorf("cannot get the credentials of %s: %w", sender, err)
	}
	c := &Caller{Sender: string(sender)}
	uid, okUID := creds["UnixUserID"].Value().(uint32)
	pid, okPID := creds["ProcessID"].Value().(uint32)
	if !okUID || !okPID {
		return nil, fmt.Errorf("cannot identify %s: the bus gave no user or process ID", sender)
	}
	c.UID, c.PID = uid, pid
	if !withSnap {
		return c, nil
	}
	if label, ok := creds["LinuxSecurityLabel"].Value().([]byte); ok {
		c.Snap = snapFromLabel(string(label))
	}
	if c.Snap != "" {
		return c, nil
	}
	var st syscall.Stat_t
	procDir := "/proc/" + strconv.FormatUint(uint64(pid), 10)
	if err := syscall.Stat(procDir, &st); err != nil {
		return nil, fmt.Errorf("cannot identify %s: %w", sender, err)
	}
	if st.Uid != uid {
		return nil, errNotConnected
	}
	snap, err := snapFromCgroupFile(procDir + "/cgroup")
	if err != nil {
		return nil, fmt.Errorf("cannot identify %s: %w", sender, err)
	}
	var connected bool
	if err := conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.NameHasOwner", 0,
		string(sender)).Store(&connected); err != nil {
		return nil, fmt.Errorf("cannot identify %s: %w", sender, err)
	}
	if !connected {
		return nil, errNotConnected
	}
	c.Snap = snap
	return c, nil
}

// snapName is a snap name with an optional instance key (snapd's ValidateInstanceName:
// lower-case letters, digits and dashes; the key up to 10 lower-case letters and digits).
const snapName = `[a-z0-9][a-z0-9-]*(?:_[a-z0-9]{1,10})?`

var (
	labelRe  = lazyRegexp(`^snap\.(` + snapName + `)\.[^ ]+`)
	cgroupRe = lazyRegexp(`^snap\.(` + snapName + `)\.[^/]+\.(?:scope|service)$`)
)

// snapFromLabel is the snap of an AppArmor label "snap.NAME.APP (enforce)", or "".
func snapFromLabel(label string) string {
	m := labelRe().FindStringSubmatch(strings.TrimRight(label, "\x00\n"))
	if m == nil {
		return ""
	}
	return m[1]
}

// snapFromCgroupFile reads a /proc/PID/cgroup file and returns the snap of the unit
// the process runs in, from the hierarchies systemd manages (cgroup v2's "0::" line and
// v1's "name=systemd"), or "" when it is in no snap's unit.
func snapFromCgroupFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.SplitN(sc.Text(), ":", 3)
		if len(fields) != 3 || !(fields[0] == "0" && fields[1] == "" || fields[1] == "name=systemd") {
			continue
		}
		for _, part := range strings.Split(fields[2], "/") {
			if m := cgroupRe().FindStringSubmatch(part); m != nil {
				return m[1], nil
			}
		}
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("cannot read %s: %w", path, err)
	}
	return "", nil
}
