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
	"github.com/snapcore-ng/usersession-agent/internal/snapname"
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
// files, SNAPDIR/INSTANCE/current/.config/autostart/*.desktop (SNAPDIR is ~/snap,
// INSTANCE a snap's instance name, NAME or NAME_KEY), and each runs only as an app of
// its instance that snapd installed a desktop file for in desktopDir (snapProgram),
// with the entry's arguments (field codes dropped). Entries that are hidden,
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
		if err := snapname.ValidateInstance(snap); err != nil {
			failed[path] = fmt.Errorf("not a snap's directory: %w", err)
			continue
		}
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

// snapProgram finds the program of one of snap's installed desktop files
// (desktopPrefix(snap)*.desktop in desktopDir) that program names, and returns the
// installed path, not the one the entry gave. The entry names a command of the
// instance (INSTANCE or INSTANCE.APP), or, as an app inside the snap may know
// itself, the same command by the snap's name (NAME, NAME.APP), alone or under
// /snap/bin; the installed program must have that command's name. snapd finds the app
// by the entry's file name in snap.yaml (an app's autostart: key) instead, which this
// process does not read.
func snapProgram(snap, program, desktopDir string) (string, error) {
	command, ok := instanceCommand(snap, filepath.Base(program))
	if !ok {
		return "", fmt.Errorf("%q is not an app of snap %q", program, snap)
	}
	installed, err := filepath.Glob(filepath.Join(desktopDir, desktopPrefix(snap)+"*.desktop"))
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
		if p := programOf(args); filepath.Base(p) == command {
			return p, nil
		}
	}
	return "", fmt.Errorf("%q matches no desktop file snapd installed for snap %q", program, snap)
}

// instanceCommand is the command of instance that command names: itself when it is
// INSTANCE or INSTANCE.APP, INSTANCE[.APP] for NAME[.APP] of an instance with a key.
func instanceCommand(instance, command string) (string, bool) {
	if command == instance || strings.HasPrefix(command, instance+".") {
		return command, true
	}
	name, key := snapname.Split(instance)
	if rest, ok := strings.CutPrefix(command, name); key != "" && ok && (rest == "" || rest[0] == '.') {
		return instance + rest, true
	}
	return "", false
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
