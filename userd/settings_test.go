package userd_test

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// xdgSettings answers "get" with current, "check" with "no" and records "set".
func xdgSettings(current string) string {
	return `case "$1" in get) echo ` + current + `;; check) echo no;; esac`
}

func TestSettingsGet(t *testing.T) {
	e := newEnv(t)
	e.standIn("xdg-settings", xdgSettings("browser_web.desktop"))
	if out := e.call("browser", "io.snapcraft.Settings.Get", "default-web-browser"); out != "OK web.desktop" {
		t.Errorf("Get by the owning snap = %s", out)
	}
	if out := e.call("other", "io.snapcraft.Settings.Get", "default-web-browser"); out != "OK NOT-THIS-SNAP.desktop" {
		t.Errorf("Get by another snap = %s", out)
	}
	if out := e.call("browser", "io.snapcraft.Settings.Get", "default-calendar"); !strings.HasPrefix(out, accessDenied) {
		t.Errorf("Get of an unknown setting = %s", out)
	}
}

func TestSettingsSet(t *testing.T) {
	e := newEnv(t)
	e.standIn("xdg-settings", xdgSettings("firefox.desktop"))
	writeFile(t, filepath.Join(e.desktopDir, "browser_web.desktop"), "[Desktop Entry]\nExec=/snap/bin/browser\n")

	t.Run("the user says yes", func(t *testing.T) {
		if out := e.call("browser", "io.snapcraft.Settings.SetSub", "default-url-scheme-handler", "irc", "web.desktop"); out != "OK" {
			t.Fatalf("SetSub: %s", out)
		}
		want := []string{"set", "default-url-scheme-handler", "irc", "browser_web.desktop"}
		if got := e.calls("xdg-settings"); len(got) != 2 || !reflect.DeepEqual(got[1], want) {
			t.Errorf("xdg-settings ran with %q, want a check then %q", got, want)
		}
	})
	t.Run("the user says no", func(t *testing.T) {
		e.standIn("zenity", "exit 1")
		out := e.call("browser", "io.snapcraft.Settings.Set", "default-web-browser", "web.desktop")
		if !strings.HasPrefix(out, accessDenied) || !strings.Contains(out, "declined") {
			t.Errorf("Set declined = %s", out)
		}
	})
	t.Run("another snap's desktop file", func(t *testing.T) {
		for _, value := range []string{"other_web.desktop", "../browser_web.desktop", "web"} {
			out := e.call("browser", "io.snapcraft.Settings.Set", "default-web-browser", value)
			if !strings.HasPrefix(out, accessDenied) || !strings.Contains(out, "invalid value") {
				t.Errorf("Set to %q = %s", value, out)
			}
		}
	})
	t.Run("a desktop file the snap does not have", func(t *testing.T) {
		out := e.call("browser", "io.snapcraft.Settings.Set", "default-web-browser", "missing.desktop")
		if !strings.HasPrefix(out, accessDenied) {
			t.Errorf("Set to a missing desktop file = %s", out)
		}
	})
	t.Run("not a snap", func(t *testing.T) {
		out := e.call("", "io.snapcraft.Settings.Set", "default-web-browser", "web.desktop")
		if !strings.HasPrefix(out, accessDenied) || !strings.Contains(out, "not a snap") {
			t.Errorf("Set from outside a snap = %s", out)
		}
	})
	sets := 0
	for _, c := range e.calls("xdg-settings") {
		if c[0] == "set" {
			sets++
		}
	}
	if sets != 1 {
		t.Errorf("xdg-settings set ran %d times, want 1", sets)
	}
}

// Settings answers never repeat a setting, subproperty or value of any length: past a
// few dozen bytes they are refused by their length, or cut short in the answer, as
// OpenURL's are.
func TestSettingsErrorsDoNotEchoLongArguments(t *testing.T) {
	e := newEnv(t)
	e.standIn("xdg-settings", xdgSettings("firefox.desktop"))
	long := strings.Repeat("x", 60000)
	for _, call := range [][]string{
		{"io.snapcraft.Settings.Get", long},
		{"io.snapcraft.Settings.Check", long + "\x01", "web.desktop"},
		{"io.snapcraft.Settings.GetSub", "default-url-scheme-handler", long},
		{"io.snapcraft.Settings.CheckSub", "default-url-scheme-handler", long + "!", "web.desktop"},
		{"io.snapcraft.Settings.Check", "default-web-browser", long + ".desktop"},
		{"io.snapcraft.Settings.Check", "default-web-browser", long + "\x01"},
		{"io.snapcraft.Settings.Set", "default-web-browser", long + ".desktop"},
		{"io.snapcraft.Settings.Set", "default-web-browser", strings.Repeat("x", 200) + ".desktop"},
		{"io.snapcraft.Settings.SetSub", "default-url-scheme-handler", strings.Repeat("\x01", 60), "web.desktop"},
	} {
		out := e.call("browser", call...)
		if !strings.HasPrefix(out, accessDenied) || strings.Contains(out, strings.Repeat("x", 100)) || len(out) > 512 {
			t.Errorf("%s with a long argument = %d bytes: %.300s; want AccessDenied without it", call[0], len(out), out)
		}
	}
	if got := e.calls("xdg-settings"); len(got) != 0 {
		t.Errorf("xdg-settings ran for refused calls: %.300q", got)
	}
}
