package userd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/godbus/dbus/v5"
	"golang.org/x/sys/unix"

	"github.com/snapcore-ng/usersession-agent/desktop/desktopentry"
)

// PrivilegedDesktopLauncher is the io.snapcraft.PrivilegedDesktopLauncher object: it
// launches the desktop entries snapd installed for snaps. Who may call it is the bus
// policy's business (snapd's desktop-launch interface), as in snapd.
type PrivilegedDesktopLauncher struct{ s *Service }

// Interface is the D-Bus interface the object implements.
func (*PrivilegedDesktopLauncher) Interface() string {
	return "io.snapcraft.PrivilegedDesktopLauncher"
}

// ObjectPath is where the object is exported.
func (*PrivilegedDesktopLauncher) ObjectPath() dbus.ObjectPath {
	return "/io/snapcraft/PrivilegedDesktopLauncher"
}

func (l *PrivilegedDesktopLauncher) methods() map[string]any {
	return map[string]any{"OpenDesktopEntry": l.OpenDesktopEntry}
}

// IntrospectionData describes the interface for org.freedesktop.DBus.Introspectable.
func (*PrivilegedDesktopLauncher) IntrospectionData() string {
	return `<interface name="io.snapcraft.PrivilegedDesktopLauncher">
	<method name="OpenDesktopEntry">
		<arg type="s" name="desktop_file_id" direction="in"/>
	</method>
</interface>`
}

// OpenDesktopEntry implements io.snapcraft.PrivilegedDesktopLauncher.OpenDesktopEntry:
// desktopFileID is resolved in snapd's desktop files directory only, by the
// specification's desktop-file-id rules ("foo-bar.desktop" is foo-bar.desktop or
// foo/bar.desktop), no symbolic link on the way; the file must have one [Desktop
// Entry] group, whose Exec= (the last, if repeated) must be snapd's launcher of a snap
// app (snapdLauncher); that command (field codes dropped) runs under
// `systemd-run --user --collect`, so it lives in a unit of its own and not in userd's.
func (l *PrivilegedDesktopLauncher) OpenDesktopEntry(desktopFileID string, sender dbus.Sender) *dbus.Error {
	return l.s.call(sender, func(ctx context.Context, c *Caller) error {
		return l.s.openDesktopEntry(ctx, c, desktopFileID)
	})
}

func (s *Service) openDesktopEntry(ctx context.Context, c *Caller, id string) error {
	path, err := findDesktopFile(s.desktopDir, id)
	if err != nil {
		return denied("cannot launch %q: %v", id, err)
	}
	// What the file says is the snap's doing (snapd writes it from the snap's own
	// file): a file that cannot be read as an entry is refused, as a bad launcher is.
	entry, err := readDesktopFile(path)
	if err != nil {
		return denied("cannot launch %q: %v", id, err)
	}
	args, err := desktopentry.ExecArgs(entry["Exec"])
	if err != nil {
		return denied("cannot launch %q: %s: %v", id, path, err)
	}
	if err := snapdLauncher(path, args); err != nil {
		return denied("cannot launch %q: %v", id, err)
	}
	done, err := s.startCommand(c, "systemd-run")
	if err != nil {
		return fmt.Errorf("cannot launch %q: %w", id, err)
	}
	defer done()
	if err := launch(ctx, args); err != nil {
		return fmt.Errorf("cannot launch %q: %w", id, err)
	}
	return nil
}

// snapBinDir is where snapd puts the commands of snap apps.
const snapBinDir = "/snap/bin"

// snapdLauncher checks that args, the Exec= of the desktop file at path, are the
// command line snapd writes there for a snap's app: `env BAMF_DESKTOP_FILE_HINT=PATH
// /snap/bin/COMMAND ARGS...`, the hint naming that very file and COMMAND one clean
// name. snapd checks the same prefix before it launches an entry (2.57's
// privileged_desktop_launcher.go): its desktop directory holds what snapd wrote from
// the snaps' own files, and only its launcher line is known to be snapd's.
func snapdLauncher(path string, args []string) error {
	if len(args) >= 3 && args[0] == "env" && args[1] == "BAMF_DESKTOP_FILE_HINT="+path &&
		filepath.Dir(args[2]) == snapBinDir && filepath.Clean(args[2]) == args[2] {
		return nil
	}
	return fmt.Errorf("its Exec= is not snapd's launcher of a snap app (env BAMF_DESKTOP_FILE_HINT=%s %s/...)", path, snapBinDir)
}

// launch starts args in a transient user unit; it returns once systemd has started
// it. The unit is collected even when it fails (--collect, systemd >= 236).
func launch(ctx context.Context, args []string) error {
	_, err := runOutput(ctx, openTimeout, "systemd-run",
		append([]string{"--user", "--collect", "--quiet", "--"}, args...)...)
	return err
}

// validDesktopFileID is the specification's file name rule, except that components
// may start with a digit (snapd's own desktop files may).
var validDesktopFileID = lazyRegexp(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.desktop$`)

// errNoDesktopFile is a desktop file id that names no file in the directory.
var errNoDesktopFile = errors.New("no such desktop file in snapd's desktop files directory")

// findDesktopFile resolves id under dir: each "-" of the id may stand for a
// directory separator (specification, "Desktop File ID"); the first existing regular
// file, trying the fewest subdirectories first, wins. No component may be a
// symbolic link.
func findDesktopFile(dir, id string) (string, error) {
	if !validDesktopFileID().MatchString(id) {
		return "", fmt.Errorf("invalid desktop file id")
	}
	if path, ok := findSplit(dir, strings.Split(id, "-")); ok {
		return path, nil
	}
	return "", errNoDesktopFile
}

func findSplit(dir string, parts []string) (string, bool) {
	path := filepath.Join(dir, strings.Join(parts, "-"))
	if fi, err := os.Lstat(path); err == nil && fi.Mode().IsRegular() {
		return path, true
	}
	for i := 1; i < len(parts); i++ {
		sub := strings.Join(parts[:i], "-")
		if sub == "" || sub == "." {
			continue
		}
		subdir := filepath.Join(dir, sub)
		if fi, err := os.Lstat(subdir); err != nil || !fi.IsDir() {
			continue
		}
		if path, ok := findSplit(subdir, parts[i:]); ok {
			return path, true
		}
	}
	return "", false
}

// readDesktopFile reads the keys of the desktop file at path, refusing to follow a
// symbolic link that replaced it since it was found.
func readDesktopFile(path string) (map[string]string, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("cannot open %s: %w", path, err)
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	entry, err := desktopentry.Keys(f)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", path, err)
	}
	return entry, nil
}
