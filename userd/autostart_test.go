package userd_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/snapcore-ng/usersession-agent/userd"
)

// autostartWorld is stand-ins on PATH, a ~/snap and snapd's desktop directory; auto
// is the path of an autostart entry of snap.
func autostartWorld(t *testing.T) (e *env, snapDir, desktopDir string, auto func(snap, name string) string) {
	e = &env{t: t}
	e.setUpStandIns()
	snapDir, desktopDir = t.TempDir(), t.TempDir()
	auto = func(snap, name string) string {
		return filepath.Join(snapDir, snap, "current", ".config", "autostart", name)
	}
	return e, snapDir, desktopDir, auto
}

// installDesktopFile writes a desktop file of snapd's for program.
func installDesktopFile(t *testing.T, desktopDir, name, program string) {
	writeFile(t, filepath.Join(desktopDir, name), "[Desktop Entry]\nExec=env BAMF_DESKTOP_FILE_HINT=x "+program+" %U\n")
}

// autostartFailures runs Autostart, which must fail, and returns its failures.
func autostartFailures(t *testing.T, snapDir, desktopDir string) userd.AutostartError {
	t.Helper()
	err := userd.Autostart(context.Background(), snapDir, desktopDir)
	var failed userd.AutostartError
	if !errors.As(err, &failed) {
		t.Fatalf("Autostart = %v, want an AutostartError", err)
	}
	return failed
}

// One good entry starts with the installed program; a broken one and one naming
// another snap's app are reported, without stopping the good one; a hidden one is
// skipped.
func TestAutostart(t *testing.T) {
	e, snapDir, desktopDir, auto := autostartWorld(t)
	installDesktopFile(t, desktopDir, "chat_chat.desktop", "/snap/bin/chat.chat")
	writeFile(t, auto("chat", "chat.desktop"), "[Desktop Entry]\nExec=chat.chat --minimized %U\n")
	writeFile(t, auto("chat", "broken.desktop"), "[Desktop Entry]\nExec=\"chat.chat\n")
	writeFile(t, auto("chat", "other.desktop"), "[Desktop Entry]\nExec=/snap/bin/mail.mail\n")
	writeFile(t, auto("chat", "hidden.desktop"), "[Desktop Entry]\nExec=chat.chat\nHidden=true\n")

	failed := autostartFailures(t, snapDir, desktopDir)
	if len(failed) != 2 || failed[auto("chat", "broken.desktop")] == nil ||
		!strings.Contains(failed[auto("chat", "other.desktop")].Error(), "not an app of snap") {
		t.Errorf("failures = %v, want broken.desktop and other.desktop", failed)
	}
	want := [][]string{{"--user", "--collect", "--quiet", "--", "/snap/bin/chat.chat", "--minimized"}}
	if got := e.calls("systemd-run"); !reflect.DeepEqual(got, want) {
		t.Errorf("systemd-run ran with %q, want %q", got, want)
	}
}

// An instance's entries (~/snap/NAME_KEY/...) start as the instance's apps, whose
// desktop files snapd names NAME+KEY_APP.desktop, whether the entry names the app by
// the instance's command or, as the app inside the snap knows it, the snap's; another
// instance's app is refused, and a directory not named as a snap is reported.
func TestAutostartOfAnInstanceSnap(t *testing.T) {
	e, snapDir, desktopDir, auto := autostartWorld(t)
	installDesktopFile(t, desktopDir, "chat+work_chat.desktop", "/snap/bin/chat_work.chat")
	installDesktopFile(t, desktopDir, "chat+work_chat-work.desktop", "/snap/bin/chat_work")
	installDesktopFile(t, desktopDir, "chat_chat.desktop", "/snap/bin/chat.chat")
	writeFile(t, auto("chat_work", "by-instance.desktop"), "[Desktop Entry]\nExec=chat_work.chat --instance\n")
	writeFile(t, auto("chat_work", "by-snap.desktop"), "[Desktop Entry]\nExec=/snap/bin/chat.chat --snap\n")
	writeFile(t, auto("chat_work", "snap-app.desktop"), "[Desktop Entry]\nExec=chat_work --main\n")
	writeFile(t, auto("chat_work", "other-instance.desktop"), "[Desktop Entry]\nExec=chat_home.chat\n")
	writeFile(t, auto("Not A Snap", "x.desktop"), "[Desktop Entry]\nExec=chat.chat\n")

	failed := autostartFailures(t, snapDir, desktopDir)
	if len(failed) != 2 || !strings.Contains(fmt.Sprint(failed[auto("chat_work", "other-instance.desktop")]), `not an app of snap "chat_work"`) ||
		!strings.Contains(fmt.Sprint(failed[auto("Not A Snap", "x.desktop")]), "invalid snap name") {
		t.Errorf("failures = %v, want other-instance.desktop and the directory not named as a snap", failed)
	}
	var got []string
	for _, c := range e.calls("systemd-run") {
		got = append(got, strings.Join(c[4:], " "))
	}
	sort.Strings(got)
	want := []string{"/snap/bin/chat_work --main", "/snap/bin/chat_work.chat --instance", "/snap/bin/chat_work.chat --snap"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("systemd-run ran %q, want %q", got, want)
	}
}
