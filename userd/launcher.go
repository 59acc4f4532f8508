package userd

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"
	"golang.org/x/sys/unix"

	"github.com/snapcore-ng/usersession-agent/internal/procfs"
)

// Launcher is the io.snapcraft.Launcher object: it opens URLs and files for snaps.
type Launcher struct{ s *Service }

// Interface is the D-Bus interface the object implements.
func (*Launcher) Interface() string { return "io.snapcraft.Launcher" }

// ObjectPath is where the object is exported.
func (*Launcher) ObjectPath() dbus.ObjectPath { return "/io/snapcraft/Launcher" }

func (l *Launcher) methods() map[string]any {
	return map[string]any{"OpenURL": l.OpenURL, "OpenFile": l.OpenFile}
}

// IntrospectionData describes the interface for org.freedesktop.DBus.Introspectable.
func (*Launcher) IntrospectionData() string {
	return `<interface name="io.snapcraft.Launcher">
	<method name="OpenURL">
		<arg type="s" name="url" direction="in"/>
	</method>
	<method name="OpenFile">
		<arg type="s" name="parent_window" direction="in"/>
		<arg type="h" name="fd" direction="in"/>
	</method>
</interface>`
}

// allowedSchemes are the URL schemes snapd lets snaps open whatever handler the host
// has for them (usersession/userd/launcher.go). None of them makes xdg-open open a
// local file.
var allowedSchemes = []string{
	"apt", "help", "http", "https", "mailto", "msteams", "slack", "snap",
	"zoommtg", "zoomphonecall", "zoomus",
}

// confirmTimeout is how long a question to the user stays open (snapd: 5 minutes).
const confirmTimeout = 5 * time.Minute

// maxSchemeLen bounds the URL schemes userd looks up and names in its answers: the
// schemes in use are a few letters, and a scheme is any run of letters, digits, "+",
// "-" and "." before a colon.
const maxSchemeLen = 64

// OpenURL implements io.snapcraft.Launcher.OpenURL: it runs `xdg-open URL` when the
// URL has a scheme that is on snapd's list, or for which the host has a handler that
// is not a snap's (`xdg-mime query default x-scheme-handler/SCHEME`). A URL that does
// not parse is org.freedesktop.DBus.Error.InvalidArgs (snapd's answer), a call past
// the bounds on the commands userd runs (maxCommandsPerSnap, maxCommands)
// org.freedesktop.DBus.Error.LimitsExceeded at once, other refusals
// org.freedesktop.DBus.Error.AccessDenied, failures org.freedesktop.DBus.Error.Failed. No answer and no log line repeats the URL, which
// may be of any length and hold control characters (snapd's answers do not either).
func (l *Launcher) OpenURL(addr string, sender dbus.Sender) *dbus.Error {
	return l.s.call(sender, func(ctx context.Context, c *Caller) error {
		return l.s.openURL(ctx, c, addr)
	})
}

func (s *Service) openURL(ctx context.Context, c *Caller, addr string) error {
	u, err := url.Parse(addr)
	if err != nil {
		// url.Error holds the whole URL, and its reasons parts of it.
		return invalid("cannot open URL: not a valid URL")
	}
	if u.Scheme == "" {
		return denied("cannot open URL without a scheme")
	}
	if len(u.Scheme) > maxSchemeLen {
		return denied("cannot open URL: its scheme is longer than %d bytes", maxSchemeLen)
	}
	scheme := strings.ToLower(u.Scheme)
	if !slices.Contains(allowedSchemes, scheme) {
		ok, err := s.hostHasHandler(ctx, c, scheme)
		if err != nil {
			return fmt.Errorf("cannot find a handler for URL scheme %q: %w", scheme, err)
		}
		if !ok {
			return denied("URL scheme %q is not allowed", scheme)
		}
	}
	if err := s.xdgOpen(ctx, c, addr); err != nil {
		return fmt.Errorf("cannot open URL: %w", err)
	}
	return nil
}

// validDesktopFileName is the Desktop Entry Specification's file name rule.
var validDesktopFileName = lazyRegexp(`^[A-Za-z_-][A-Za-z0-9_-]*(\.[A-Za-z_-][A-Za-z0-9_-]*)*\.desktop$`)

// hostHasHandler says whether xdg-mime names a desktop file handling scheme that is
// not one snapd installed for a snap: a snap handling a scheme snapd does not allow
// must not receive what other snaps send.
func (s *Service) hostHasHandler(ctx context.Context, c *Caller, scheme string) (bool, error) {
	out, err := s.runFor(ctx, c, toolTimeout, "xdg-mime", "query", "default", "x-scheme-handler/"+scheme)
	if err != nil {
		return false, err
	}
	if !validDesktopFileName().MatchString(out) {
		return false, nil
	}
	_, err = os.Lstat(filepath.Join(s.desktopDir, out))
	return os.IsNotExist(err), nil
}

// OpenFile implements io.snapcraft.Launcher.OpenFile: fd must be a descriptor of a
// regular file or a directory, not opened with O_PATH, still being the file its path
// names; the caller must be a snap; the user is asked (one question per snap at once,
// maxQuestions in all); the path must still name fd's file, reached without a
// symbolic link (stillNames); then `xdg-open PATH` runs.
func (l *Launcher) OpenFile(parentWindow string, fd dbus.UnixFD, sender dbus.Sender) *dbus.Error {
	// godbus hands the received descriptor over to the method.
	defer unix.Close(int(fd))
	return l.s.call(sender, func(ctx context.Context, c *Caller) error {
		return l.s.openFile(ctx, c, int(fd))
	})
}

func (s *Service) openFile(ctx context.Context, c *Caller, fd int) error {
	path, err := pathOfFD(fd)
	if err != nil {
		return denied("cannot open file: %v", err)
	}
	if c.Snap == "" {
		return denied("cannot open file: the caller is not a snap")
	}
	yes, err := s.askOpenFile(ctx, c.Snap, path)
	if err != nil {
		return fmt.Errorf("cannot open file: %w", err)
	}
	if !yes {
		return denied("cannot open file: the user declined")
	}
	// The question may have been open for minutes, in which the app could put
	// another file, or a symbolic link to one, where the path was.
	if err := stillNames(path, fd); err != nil {
		return denied("cannot open file %q: it changed since the user was asked: %v", path, err)
	}
	if err := s.xdgOpen(ctx, c, path); err != nil {
		return fmt.Errorf("cannot open file: %w", err)
	}
	return nil
}

// askOpenFile asks the user whether snap may open path, holding snap's question.
func (s *Service) askOpenFile(ctx context.Context, snap, path string) (bool, error) {
	end, err := s.questions.begin(snap)
	if err != nil {
		return false, err
	}
	defer end()
	return s.asker.YesNo(ctx, "Allow opening file?",
		fmt.Sprintf("Allow snap %q to open file %q?", snap, path), confirmTimeout)
}

// pathOfFD returns the path fd was opened with. O_PATH descriptors give no access to
// the file, so they prove nothing and are refused; the path is read from
// /proc/self/fd and must still name the same file (device and inode), which must be a
// regular file or a directory (snapd's rules).
func pathOfFD(fd int) (string, error) {
	flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil {
		return "", fmt.Errorf("cannot read descriptor flags: %w", err)
	}
	if flags&unix.O_PATH != 0 {
		return "", fmt.Errorf("descriptors opened with O_PATH are refused")
	}
	path, err := procfs.FDTarget(fd)
	if err != nil {
		return "", fmt.Errorf("cannot find the path of the descriptor: %w", err)
	}
	var byFD, byPath unix.Stat_t
	if err := unix.Fstat(fd, &byFD); err != nil {
		return "", fmt.Errorf("cannot stat the descriptor: %w", err)
	}
	// A file replaced since it was opened reads as "PATH (deleted)", which may not
	// exist or be another file.
	if err := unix.Stat(path, &byPath); err != nil || byFD.Dev != byPath.Dev || byFD.Ino != byPath.Ino {
		return "", fmt.Errorf("the descriptor's path %q no longer names its file", path)
	}
	if t := byFD.Mode & unix.S_IFMT; t != unix.S_IFREG && t != unix.S_IFDIR {
		return "", fmt.Errorf("only regular files and directories can be opened")
	}
	return path, nil
}

// xdgOpen runs `xdg-open TARGET` for c. A call made, directly or not, by an xdg-open
// this service is running is a loop (a handler that sends the URL back): it is
// refused, so the loop ends with an error instead of one more xdg-open per turn.
func (s *Service) xdgOpen(ctx context.Context, c *Caller, target string) error {
	if s.children.isAncestor(int(c.PID)) {
		return denied("the call comes from the xdg-open userd runs for an earlier call (loop)")
	}
	done, err := s.startCommand(c, "xdg-open")
	if err != nil {
		return err
	}
	defer done()
	ctx, cancel := context.WithTimeout(ctx, openTimeout)
	defer cancel()
	// Only the exit status is read: the handler xdg-open starts may live on, and
	// holding its output pipes would tie this call to it.
	cmd := exec.CommandContext(ctx, "xdg-open", target)
	cmd.WaitDelay = waitDelay
	if err := cmd.Start(); err != nil {
		return commandError(ctx, "xdg-open", err, "")
	}
	s.children.add(cmd.Process.Pid)
	err = cmd.Wait()
	s.children.remove(cmd.Process.Pid)
	if err != nil {
		return commandError(ctx, "xdg-open", err, "")
	}
	return nil
}
