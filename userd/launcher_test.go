package userd_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const accessDenied = "ERROR org.freedesktop.DBus.Error.AccessDenied"

func TestOpenURLOfAnAllowedSchemeRunsXdgOpen(t *testing.T) {
	e := newEnv(t)
	if out := e.call("", "io.snapcraft.Launcher.OpenURL", "https://example.com/a?b=c"); out != "OK" {
		t.Fatalf("OpenURL: %s", out)
	}
	if got, want := e.calls("xdg-open"), [][]string{{"https://example.com/a?b=c"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("xdg-open ran with %q, want %q", got, want)
	}
	if got := e.calls("xdg-mime"); got != nil {
		t.Errorf("xdg-mime ran for a listed scheme: %q", got)
	}
}

func TestOpenURLOfASchemeTheHostHandles(t *testing.T) {
	e := newEnv(t)
	e.standIn("xdg-mime", "echo irc-client.desktop")
	if out := e.call("", "io.snapcraft.Launcher.OpenURL", "irc://irc.example.net/chan"); out != "OK" {
		t.Fatalf("OpenURL: %s", out)
	}
	if got, want := e.calls("xdg-mime"), [][]string{{"query", "default", "x-scheme-handler/irc"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("xdg-mime ran with %q, want %q", got, want)
	}
	if got, want := e.calls("xdg-open"), [][]string{{"irc://irc.example.net/chan"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("xdg-open ran with %q, want %q", got, want)
	}
}

func TestOpenURLRefusals(t *testing.T) {
	e := newEnv(t)
	writeFile(t, filepath.Join(e.desktopDir, "evil_handler.desktop"), "[Desktop Entry]\nExec=/snap/bin/evil\n")
	for _, tc := range []struct{ name, handler, url, want string }{
		{"no scheme", "", "example.com/page", "without a scheme"},
		{"no handler", "", "gopher://example.com", `URL scheme "gopher" is not allowed`},
		{"handler is a snap's", "evil_handler.desktop", "evil://x", `URL scheme "evil" is not allowed`},
		{"file", "", "file:///etc/passwd", `URL scheme "file" is not allowed`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.standIn("xdg-mime", "echo "+tc.handler)
			out := e.call("", "io.snapcraft.Launcher.OpenURL", tc.url)
			if !strings.HasPrefix(out, accessDenied) || !strings.Contains(out, tc.want) {
				t.Errorf("OpenURL(%q) = %s, want access denied with %q", tc.url, out, tc.want)
			}
		})
	}
	if got := e.calls("xdg-open"); got != nil {
		t.Errorf("xdg-open ran for refused URLs: %q", got)
	}
}

// A handler that sends the URL back to userd (xdg-open leading into OpenURL again)
// gets an error at the first turn instead of a process per turn.
func TestOpenURLLoopEndsWithAnError(t *testing.T) {
	e := newEnv(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	e.standIn("xdg-open", "USERD_TEST_CLIENT=1 exec "+self+` io.snapcraft.Launcher.OpenURL "$1"`)
	out := e.call("", "io.snapcraft.Launcher.OpenURL", "https://example.com/loop")
	if !strings.HasPrefix(out, "ERROR org.freedesktop.DBus.Error.Failed") || !strings.Contains(out, "xdg-open failed") {
		t.Errorf("looping OpenURL = %s, want the outer call failed", out)
	}
	if n := len(e.calls("xdg-open")); n != 1 {
		t.Errorf("xdg-open ran %d times, want 1 (the inner call refused)", n)
	}
}

func TestOpenFile(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "report <b>&.txt")
	writeFile(t, file, "hello")
	other := filepath.Join(dir, "other.txt")

	t.Run("a file, the user says yes", func(t *testing.T) {
		if out := e.call("viewer", "OpenFile", "read", file); out != "OK" {
			t.Fatalf("OpenFile: %s", out)
		}
		opened := e.calls("xdg-open")
		if len(opened) != 1 || opened[0][0] != file {
			t.Errorf("xdg-open ran with %q, want %q", opened, file)
		}
		asked := e.calls("zenity")
		if len(asked) != 1 {
			t.Fatalf("zenity ran %d times, want 1", len(asked))
		}
		text := strings.Join(asked[0], " ")
		if !strings.Contains(text, `snap &#34;viewer&#34;`) || !strings.Contains(text, "report &lt;b&gt;&amp;.txt") {
			t.Errorf("the question is not the escaped snap and path: %q", text)
		}
	})
	t.Run("a directory", func(t *testing.T) {
		if out := e.call("viewer", "OpenFile", "read", dir); out != "OK" {
			t.Fatalf("OpenFile: %s", out)
		}
		if opened := e.calls("xdg-open"); len(opened) != 2 || opened[1][0] != dir {
			t.Errorf("xdg-open ran with %q, want %q last", opened, dir)
		}
	})
	t.Run("O_PATH refused", func(t *testing.T) {
		out := e.call("viewer", "OpenFile", "opath", file)
		if !strings.HasPrefix(out, accessDenied) || !strings.Contains(out, "O_PATH") {
			t.Errorf("OpenFile of an O_PATH descriptor = %s", out)
		}
	})
	t.Run("swapped file refused", func(t *testing.T) {
		writeFile(t, other, "not what was opened")
		out := e.call("viewer", "OpenFile", "swap", file, other)
		if !strings.HasPrefix(out, accessDenied) || !strings.Contains(out, "no longer names its file") {
			t.Errorf("OpenFile of a swapped file = %s", out)
		}
	})
	t.Run("the user says no", func(t *testing.T) {
		e.standIn("zenity", "exit 1")
		out := e.call("viewer", "OpenFile", "read", file)
		if !strings.HasPrefix(out, accessDenied) || !strings.Contains(out, "declined") {
			t.Errorf("OpenFile declined = %s", out)
		}
	})
	t.Run("not a snap", func(t *testing.T) {
		out := e.call("", "OpenFile", "read", file)
		if !strings.HasPrefix(out, accessDenied) || !strings.Contains(out, "not a snap") {
			t.Errorf("OpenFile from outside a snap = %s", out)
		}
	})
	if n := len(e.calls("xdg-open")); n != 2 {
		t.Errorf("xdg-open ran %d times, want 2 (the file and the directory)", n)
	}
}
