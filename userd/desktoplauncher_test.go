package userd_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestOpenDesktopEntry(t *testing.T) {
	e := newEnv(t)
	foo := filepath.Join(e.desktopDir, "foo_app.desktop")
	writeFile(t, foo, "[Desktop Entry]\nName=Foo\nExec=env BAMF_DESKTOP_FILE_HINT="+foo+" /snap/bin/foo.app --new %U\n")
	elsewhere := filepath.Join(t.TempDir(), "applications")
	writeFile(t, filepath.Join(elsewhere, "host.desktop"), "[Desktop Entry]\nExec=/usr/bin/host-app\n")
	t.Setenv("XDG_DATA_DIRS", filepath.Dir(elsewhere))
	if err := os.Symlink(filepath.Join(elsewhere, "host.desktop"), filepath.Join(e.desktopDir, "bar_app.desktop")); err != nil {
		t.Fatal(err)
	}

	if out := e.call("launcher", "io.snapcraft.PrivilegedDesktopLauncher.OpenDesktopEntry", "foo_app.desktop"); out != "OK" {
		t.Fatalf("OpenDesktopEntry: %s", out)
	}
	want := [][]string{{"--user", "--collect", "--quiet", "--", "env", "BAMF_DESKTOP_FILE_HINT=" + foo, "/snap/bin/foo.app", "--new"}}
	if got := e.calls("systemd-run"); !reflect.DeepEqual(got, want) {
		t.Errorf("systemd-run ran with %q, want %q", got, want)
	}

	for _, id := range []string{"host.desktop", "bar_app.desktop", "../foo_app.desktop"} {
		out := e.call("launcher", "io.snapcraft.PrivilegedDesktopLauncher.OpenDesktopEntry", id)
		if !strings.HasPrefix(out, accessDenied) {
			t.Errorf("OpenDesktopEntry(%q) = %s, want access denied", id, out)
		}
	}
	if n := len(e.calls("systemd-run")); n != 1 {
		t.Errorf("systemd-run ran %d times, want 1", n)
	}
}
