package client_test

import (
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/snapcore-ng/usersession-agent/usersession/client"
	"github.com/snapcore-ng/usersession-agent/usersession/client/clienttest"
)

// listenAs creates a socket at path (served by nobody) owned by uid.
func listenAs(t *testing.T, path string, uid int) {
	t.Helper()
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	if err := os.Chown(path, uid, uid); err != nil {
		t.Fatal(err)
	}
}

func TestDiscoveryUsesOnlySocketsTheUserControls(t *testing.T) {
	clienttest.RequireRoot(t)
	f := clienttest.NewFleet(t)
	mk := func(uid int) (string, string) { return f.UserDir(uid) }

	// Good: dir and socket owned by the uid.
	_, s := mk(41001)
	listenAs(t, s, 41001)
	_, s = mk(41002)
	listenAs(t, s, 41002)
	// The directory is group-writable.
	d, s := mk(41003)
	listenAs(t, s, 41003)
	os.Chmod(d, 0o770)
	// The directory belongs to someone else.
	d, s = mk(41004)
	listenAs(t, s, 41004)
	os.Chown(d, 41005, 41005)
	// The socket belongs to someone else.
	_, s = mk(41006)
	listenAs(t, s, 0)
	// The socket is a symlink to a good one.
	_, s = mk(41007)
	os.Symlink(filepath.Join(f.Base, "41001", client.SocketName), s)
	// Not a socket.
	_, s = mk(41008)
	os.WriteFile(s, nil, 0o600)
	os.Chown(s, 41008, 41008)
	// The directory is a symlink to a good one.
	os.Symlink(filepath.Join(f.Base, "41002"), filepath.Join(f.Base, "41009"))
	// Names that are not canonical uids.
	for _, name := range []string{"041001", "+41001", "alice"} {
		d := filepath.Join(f.Base, name)
		os.Mkdir(d, 0o700)
		listenAs(t, filepath.Join(d, client.SocketName), 41001)
		os.Chown(d, 41001, 41001)
	}
	// A user without an agent is no finding at all.
	mk(41010)

	c := client.New(client.Options{RuntimeDir: f.Base})
	d1, err := c.Discover(client.AllSessions())
	if err != nil {
		t.Fatal(err)
	}
	var usable []client.Session
	reasons := map[string]string{}
	for _, s := range d1 {
		switch {
		case s.Cause == nil:
			usable = append(usable, s)
		default:
			reasons[filepath.Base(filepath.Dir(s.Socket))] = s.Cause.Error()
			if !client.IsRefused(s.Cause) {
				t.Errorf("skipped %s is not a refusal: %v", s.Socket, s.Cause)
			}
		}
		if !s.Optional {
			t.Errorf("%s, found while targeting every session, is not optional", s.Socket)
		}
	}
	want := []client.Session{
		{UID: 41001, Socket: filepath.Join(f.Base, "41001", client.SocketName), Optional: true},
		{UID: 41002, Socket: filepath.Join(f.Base, "41002", client.SocketName), Optional: true},
	}
	if !reflect.DeepEqual(usable, want) {
		t.Errorf("sessions = %+v", usable)
	}
	for dir, want := range map[string]string{
		"41003": "writable by group or others", "41004": "belongs to uid 41005, not 41004",
		"41006": "it belongs to uid 0, not 41006", "41007": "it is a symlink",
		"41008": "not a socket", "41009": "is a symlink", "041001": "not a uid",
		"+41001": "not a uid", "alice": "not a uid",
	} {
		if !strings.Contains(reasons[dir], want) {
			t.Errorf("skipped %s: reason %q does not say %q", dir, reasons[dir], want)
		}
	}
	if len(reasons) != 9 {
		t.Errorf("want 9 skipped entries, got %d: %v", len(reasons), reasons)
	}
	// Sorted by uid, the directories that name none last.
	for i := 1; i < len(d1); i++ {
		if a, b := d1[i-1], d1[i]; uint32(a.UID) > uint32(b.UID) || (a.UID == b.UID && a.Socket >= b.Socket) {
			t.Errorf("%s sorts before %s", a.Socket, b.Socket)
		}
	}

	// Targeting uids: each gets a usable socket or a reason.
	d2, err := c.Discover(client.UIDs(41002, 41006, 41010, 41011, 41002))
	if err != nil {
		t.Fatal(err)
	}
	causes := map[int]error{}
	for _, s := range d2 {
		causes[s.UID] = s.Cause
		if s.Optional {
			t.Errorf("uid %d, asked for, is optional", s.UID)
		}
	}
	if len(d2) != 4 || causes[41002] != nil {
		t.Errorf("sessions = %+v", d2)
	}
	if !client.IsRefused(causes[41006]) || !client.IsNoAgent(causes[41010]) || !client.IsNoAgent(causes[41011]) {
		t.Errorf("failed = %v", causes)
	}
}

func TestMissingRuntimeDirMeansNoSessions(t *testing.T) {
	c := client.New(client.Options{RuntimeDir: filepath.Join(t.TempDir(), "nope")})
	res, err := c.SessionInfo(t.Context(), client.AllSessions())
	if err != nil || len(res.Outcomes) != 0 || res.Err() != nil {
		t.Fatalf("got %v, %+v", err, res)
	}
}
