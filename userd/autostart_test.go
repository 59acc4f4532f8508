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

// One good entry starts with the installed program; a broken one and one naming
// another snap's app are reported, without stopping the good one; a hidden one is
// skipped.
func TestAutostart(t *testing.T) {
	e := &env{t: t}
	e.setUpStandIns()
	snapDir, desktopDir := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(desktopDir, "chat_chat.desktop"),
		"[Desktop Entry]\nExec=env BAMF_DESKTOP_FILE_HINT=x /snap/bin/chat.chat %U\n")
	auto := func(snap, name string) string {
		return filepath.Join(snapDir, snap, "current", ".config", "autostart", name)
	}
	writeFile(t, auto("chat", "chat.desktop"), "[Desktop Entry]\nExec=chat.chat --minimized %U\n")
	writeFile(t, auto("chat", "broken.desktop"), "[Desktop Entry]\nExec=\"chat.chat\n")
	writeFile(t, auto("chat", "other.desktop"), "[Desktop Entry]\nExec=/snap/bin/mail.mail\n")
	writeFile(t, auto("chat", "hidden.desktop"), "[Desktop Entry]\nExec=chat.chat\nHidden=true\n")

	err := userd.Autostart(context.Background(), snapDir, desktopDir)
	var failed userd.AutostartError
	if !errors.As(err, &failed) {
		t.Fatalf("Autostart = %v, want an AutostartError", err)
	}
	if len(failed) != 2 || failed[auto("chat", "broken.desktop")] == nil ||
		!strings.Contains(failed[auto("chat", "other.desktop")].Error(), "not an app of snap") {
		t.Errorf("failures = %v, want broken.desktop and other.desktop", err)
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
	e := &env{t: t}
	e.setUpStandIns()
	snapDir, desktopDir := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(desktopDir, "chat+work_chat.desktop"),
		"[Desktop Entry]\nExec=env BAMF_DESKTOP_FILE_HINT=x /snap/bin/chat_work.chat %U\n")
	writeFile(t, filepath.Join(desktopDir, "chat+work_chat-work.desktop"),
		"[Desktop Entry]\nExec=env BAMF_DESKTOP_FILE_HINT=x /snap/bin/chat_work %U\n")
	writeFile(t, filepath.Join(desktopDir, "chat_chat.desktop"),
		"[Desktop Entry]\nExec=env BAMF_DESKTOP_FILE_HINT=x /snap/bin/chat.chat %U\n")
	auto := func(snap, name string) string {
		return filepath.Join(snapDir, snap, "current", ".config", "autostart", name)
	}
	writeFile(t, auto("chat_work", "by-instance.desktop"), "[Desktop Entry]\nExec=chat_work.chat --instance\n")
	writeFile(t, auto("chat_work", "by-snap.desktop"), "[Desktop Entry]\nExec=/snap/bin/chat.chat --snap\n")
	writeFile(t, auto("chat_work", "snap-app.desktop"), "[Desktop Entry]\nExec=chat_work --main\n")
	writeFile(t, auto("chat_work", "other-instance.desktop"), "[Desktop Entry]\nExec=chat_home.chat\n")
	writeFile(t, auto("Not A Snap", "x.desktop"), "[Desktop Entry]\nExec=chat.chat\n")

	err := userd.Autostart(context.Background(), snapDir, desktopDir)
	var failed userd.AutostartError
	if !errors.As(err, &failed) {
		t.Fatalf("Autostart = %v, want an AutostartError", err)
	}
	if len(failed) != 2 || !strings.Contains(fmt.Sprint(failed[auto("chat_work", "other-instance.desktop")]), `not an app of snap "chat_work"`) ||
		!strings.Contains(fmt.Sprint(failed[auto("Not A Snap", "x.desktop")]), "invalid snap name") {
		t.Errorf("failures = %v, want other-instance.desktop and the directory not named as a snap", err)
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
