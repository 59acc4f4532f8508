package sessionagent_test

import (
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/snapcore-ng/usersession-agent/sessionagent"
)

func TestServiceManagerIsNotified(t *testing.T) {
	// Not parallel: NOTIFY_SOCKET is process-wide.
	path := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	t.Setenv("NOTIFY_SOCKET", path)

	ta := startAgent(t, sessionagent.Config{})
	next := func() string {
		t.Helper()
		buf := make([]byte, 4096)
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("no notification: %v", err)
		}
		return string(buf[:n])
	}
	if got := next(); !strings.HasPrefix(got, "READY=1\nSTATUS=Serving on ") {
		t.Errorf("first notification %q, want READY=1 and a status", got)
	}
	ta.cancel()
	if got := next(); got != "STOPPING=1\nSTATUS=Exiting: context canceled" {
		t.Errorf("second notification %q, want STOPPING=1 and the reason", got)
	}
	ta.waitExit(5 * time.Second)
}
