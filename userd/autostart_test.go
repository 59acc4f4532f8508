package userd_test

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
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
