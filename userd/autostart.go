package userd

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/snapcore-ng/usersession-agent/desktop/desktopentry"
)

// AutostartError lists the autostart entries that could not be started, by path.
type AutostartError map[string]error

func (e AutostartError) Error() string {
	paths := make([]string, 0, len(e))
	for p := range e {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var b strings.Builder
	fmt.Fprintf(&b, "cannot autostart %d of the snaps' entries:", len(e))
	for _, p := range paths {
		fmt.Fprintf(&b, "\n- %s: %v", p, e[p])
	}
	return b.String()
}

// Autostart starts the autostart entries of snaps at the start of a graphical
// session (`snap userd --autostart`), as snapd does: the entries are the snaps' own
// files, SNAPDIR/SNAP/current/.config/autostart/*.desktop (SNAPDIR is ~/snap), and
// each runs only as an app of its snap that snapd installed a desktop file for in
// desktopDir: the entry's program (NAME or NAME.APP, alone or under /snap/bin) must
// be the program of one of SNAP_*.desktop there, and that file's path for it is what
// runs, with the entry's arguments (field codes dropped). Entries that are hidden,
// disabled or not for this desktop ($XDG_CURRENT_DESKTOP) are skipped. Each starts in
// a transient user unit under its own deadline; one that fails never stops the
// others; the failures come back as an AutostartError.
func Autostart(ctx context.Context, snapDir, desktopDir string) error {
	entries, err := filepath.Glob(filepath.Join(snapDir, "*", "current", ".config", "autostart", "*.desktop"))
	if err != nil {
		return fmt.Errorf("cannot list autostart entries: %w", err)
	}
	failed := make(AutostartError)
	for _, path := range entries {
		snap := strings.SplitN(strings.TrimPrefix(path, snapDir+"/"), "/", 2)[0]
		args, err := autostartCommand(snap, path, desktopDir)
		if err == nil && args != nil {
			err = launch(ctx, args)
		}
		if err != nil {
			failed[path] = err
		}
	}
	if len(failed) > 0 {
		return failed
	}
	return nil
}

// autostartCommand is the command of the autostart entry at path of snap, or nil
// when the entry is not to start here.
func autostartCommand(snap, path, desktopDir string) ([]string, error) {
	entry, err := readDesktopFile(path)
	if err != nil {
		return nil, err
	}
	if !shouldAutostart(entry, strings.Split(os.Getenv("XDG_CURRENT_DESKTOP"), ":")) {
		return nil, nil
	}
	args, err := desktopentry.ExecArgs(entry["Exec"])
	if err != nil {
		return nil, err
	}
	program, err := snapProgram(snap, args[0], desktopDir)
	if err != nil {
		return nil, err
	}
	return append([]string{program}, args[1:]...), nil
}

// shouldAutostart applies Hidden, X-GNOME-Autostart-enabled, OnlyShowIn and NotShowIn
// (Desktop Application Autostart Specification) for the desktops named current.
func shouldAutostart(entry map[string]string, current []string) bool {
	if entry["Hidden"] == "true" || entry["X-GNOME-Autostart-enabled"] == "false" {
		return false
	}
	inList := func(key string) bool {
		for _, d := range strings.Split(entry[key], ";") {
			if d != "" && slices.Contains(current, d) {
				return true
			}
		}
		return false
	}
	if entry["OnlyShowIn"] != "" && !inList("OnlyShowIn") {
		return false
	}
	return !inList("NotShowIn")
}

// snapProgram finds the program of snap's installed desktop files (SNAP_*.desktop in
// desktopDir) that program names: the same base name, which must be SNAP or
// SNAP.APP. It returns the installed path, not the one the entry gave.
func snapProgram(snap, program, desktopDir string) (string, error) {
	base := filepath.Base(program)
	if base != snap && !strings.HasPrefix(base, snap+".") {
		return "", fmt.Errorf("%q is not an app of snap %q", program, snap)
	}
	installed, err := filepath.Glob(filepath.Join(desktopDir, snap+"_*.desktop"))
	if err != nil {
		return "", err
	}
	for _, path := range installed {
		entry, err := readDesktopFile(path)
		if err != nil {
			continue
		}
		args, err := desktopentry.ExecArgs(entry["Exec"])
		if err != nil {
			continue
		}
		if p := programOf(args); filepath.Base(p) == base {
			return p, nil
		}
	}
	return "", fmt.Errorf("%q matches no desktop file snapd installed for snap %q", program, snap)
}

// programOf skips a leading "env" and its VAR=value arguments, as in the Exec lines
// snapd writes ("env BAMF_DESKTOP_FILE_HINT=... /snap/bin/foo %U").
func programOf(args []string) string {
	if args[0] != "env" {
		return args[0]
	}
	for _, a := range args[1:] {
		if !strings.Contains(a, "=") {
			return a
		}
	}
	return ""
}
