package sessionbus_test

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/snapcore-ng/usersession-agent/internal/runtimedir"
	"github.com/snapcore-ng/usersession-agent/internal/sessionbus"
)

// Not parallel: the environment is process-wide.
func TestAddress(t *testing.T) {
	const upstart = "unix:abstract=/tmp/dbus-E1c73yNqrG,guid=0123"
	for _, tc := range []struct {
		name    string
		env     *string // nil: unset
		socket  bool    // $XDG_RUNTIME_DIR/bus is a socket
		session string  // content of $XDG_RUNTIME_DIR/dbus-session; empty: absent
		fifo    bool    // dbus-session is a FIFO with no writer
		noXDG   bool    // unset: the fallback, /run/user/UID, which the test cannot make
		want    string
		wantErr string
	}{
		{name: "the variable wins", env: ptr("unix:path=/x"), socket: true, session: "DBUS_SESSION_BUS_ADDRESS=unix:path=/y\n", want: "unix:path=/x"},
		{name: "systemd's user bus", socket: true, session: "DBUS_SESSION_BUS_ADDRESS=unix:path=/y\n", want: "unix:path=RUNDIR/bus"},
		{name: "autolaunch is not an address", env: ptr("autolaunch:"), socket: true, want: "unix:path=RUNDIR/bus"},
		{name: "upstart's file when the variable is unset", session: "DBUS_SESSION_BUS_ADDRESS=" + upstart + "\n", want: upstart},
		{name: "upstart's file among other lines", session: "# written by upstart\nDBUS_SESSION_BUS_ADDRESS=" + upstart, want: upstart},
		{name: "upstart's file not read when the variable is set", env: ptr(""), session: "DBUS_SESSION_BUS_ADDRESS=" + upstart + "\n", wantErr: "no session bus"},
		{name: "upstart's file without the line", session: "FOO=bar\n", wantErr: "no DBUS_SESSION_BUS_ADDRESS= line"},
		{name: "upstart's file that is a FIFO", fifo: true, wantErr: "not a regular file"},
		{name: "nothing", wantErr: "no session bus"},
		{name: "no runtime directory", noXDG: true, want: "FALLBACK"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.env != nil {
				t.Setenv("DBUS_SESSION_BUS_ADDRESS", *tc.env)
			} else {
				t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
				os.Unsetenv("DBUS_SESSION_BUS_ADDRESS")
			}
			t.Setenv("XDG_RUNTIME_DIR", dir)
			if tc.noXDG {
				os.Unsetenv("XDG_RUNTIME_DIR")
			}
			if tc.socket {
				l, err := net.Listen("unix", filepath.Join(dir, "bus"))
				if err != nil {
					t.Fatal(err)
				}
				defer l.Close()
			}
			if tc.session != "" {
				if err := os.WriteFile(filepath.Join(dir, "dbus-session"), []byte(tc.session), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if tc.fifo {
				if err := syscall.Mkfifo(filepath.Join(dir, "dbus-session"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			got, err := sessionbus.Address()
			if tc.want == "FALLBACK" {
				// What the fallback holds: a bus of this uid's, or nothing.
				tc.want, tc.wantErr = fallbackAddress(t)
			}
			if tc.wantErr != "" {
				if err == nil || !errors.Is(err, sessionbus.ErrNoBus) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %q, %v; want an ErrNoBus saying %q", got, err, tc.wantErr)
				}
				return
			}
			if want := strings.ReplaceAll(tc.want, "RUNDIR", dir); err != nil || got != want {
				t.Fatalf("got %q, %v; want %q", got, err, want)
			}
		})
	}
}

func ptr(s string) *string { return &s }

// fallbackAddress is what Address finds in /run/user/UID when nothing else names a
// bus: the bus socket there, or no bus (this process's uid has no session, or an
// Upstart one, which the tests do not run).
func fallbackAddress(t *testing.T) (want, wantErr string) {
	path := filepath.Join(runtimedir.Of(os.Getuid()), "bus")
	if fi, err := os.Stat(path); err == nil && fi.Mode().Type() == os.ModeSocket {
		return "unix:path=" + path, ""
	}
	if _, err := os.Lstat(filepath.Join(runtimedir.Of(os.Getuid()), "dbus-session")); err == nil {
		t.Skip("this uid has an Upstart session bus file; the fallback is covered by the other cases")
	}
	return "", "no session bus"
}
