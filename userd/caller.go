package userd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/snapcore-ng/usersession-agent/internal/procfs"
	"github.com/snapcore-ng/usersession-agent/internal/snapname"
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
// bus after /proc was read (snapd's guard). Every method needs the snap: those only a
// snap may call, and the others for the bounds on what userd does per snap.
func identify(ctx context.Context, conn *dbus.Conn, sender dbus.Sender) (*Caller, error) {
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
	if label, ok := creds["LinuxSecurityLabel"].Value().([]byte); ok {
		c.Snap = snapFromLabel(string(label))
	}
	if c.Snap != "" {
		return c, nil
	}
	owner, err := procfs.Owner(int(pid))
	if err != nil {
		return nil, fmt.Errorf("cannot identify %s: %w", sender, err)
	}
	if owner != uid {
		return nil, errNotConnected
	}
	cgroups, err := procfs.SystemdCgroups(int(pid))
	if err != nil {
		return nil, fmt.Errorf("cannot identify %s: %w", sender, err)
	}
	snap := snapFromCgroups(cgroups)
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

// snapFromLabel is the snap of an AppArmor label "snap.NAME.APP (enforce)", or "".
func snapFromLabel(label string) string {
	tag, _ := snapname.TagOfLabel(label)
	return tag.Instance
}

// snapFromCgroups is the snap of the unit a process runs in, given its systemd
// cgroups (procfs.SystemdCgroups), or "" when it is in no snap's unit. Every
// component of a path counts, not only the last as in snapd: a process in a cgroup
// below its snap's unit (systemd's Delegate=) is still the snap's.
func snapFromCgroups(cgroups []string) string {
	for _, path := range cgroups {
		for _, part := range strings.Split(path, "/") {
			if tag, ok := snapname.TagOfUnit(part); ok {
				return tag.Instance
			}
		}
	}
	return ""
}
