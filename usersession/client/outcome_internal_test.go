package client

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// leftBehind leaves at base/name/SocketName a socket nothing listens on, in a
// directory of this process's uid: what a session that is gone leaves.
func leftBehind(t *testing.T, base, name string) string {
	t.Helper()
	dir := filepath.Join(base, name)
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, SocketName)
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close()
	return path
}

// One list of outcomes says what became of every session found: a gone session is
// listed and no failure when found, a failure when asked for; a dynamic user's socket
// is left out uncalled; a socket in a directory that names no uid fails, last.
func TestOutcomesSayWhatBecameOfEverySessionFound(t *testing.T) {
	onHost(t, "")
	base := t.TempDir()
	self := os.Getuid()
	gone := leftBehind(t, base, strconv.Itoa(self))
	dynamic := leftBehind(t, base, strconv.Itoa(DynamicUIDMin))
	noUID := leftBehind(t, base, "alice")
	c := New(Options{RuntimeDir: base})

	res, err := c.SessionInfo(t.Context(), AllSessions())
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		uid    int
		socket string
		state  State
		kind   Kind
	}{
		{self, gone, StateNoSession, KindNoSession},
		{DynamicUIDMin, dynamic, StateNotLoginSession, KindOK},
		{-1, noUID, StateFailed, KindUnsafeSocket},
	}
	if len(res.Outcomes) != len(want) {
		t.Fatalf("outcomes %+v, want %d", res.Outcomes, len(want))
	}
	for i, w := range want {
		o := res.Outcomes[i]
		if o.UID != w.uid || o.Socket != w.socket || o.State != w.state || o.Kind() != w.kind {
			t.Errorf("outcome %d: uid %d %s %s %s (%v), want uid %d %s %s %s", i, o.UID, o.Socket, o.State, o.Kind(), o.Err, w.uid, w.socket, w.state, w.kind)
		}
	}
	if n := len(res.Failed()); n != 1 || !strings.HasPrefix(res.Err().Error(), "cannot get session info: unsafe agent socket "+noUID) {
		t.Errorf("%d failures: %v", n, res.Err())
	}
	if counts := res.Counts(); len(counts) != 2 || counts[KindNoSession] != 1 || counts[KindUnsafeSocket] != 1 {
		t.Errorf("counts = %v, want the gone session and the unsafe socket", counts)
	}

	// Asked for by uid, a gone session is a failure.
	res, err = c.SessionInfo(t.Context(), UIDs(self))
	if err != nil {
		t.Fatal(err)
	}
	if o := res.Outcomes[0]; len(res.Outcomes) != 1 || o.State != StateFailed || o.Kind() != KindNoSession {
		t.Errorf("asked for: %+v", res.Outcomes)
	}
}
