package sessionagent_test

import (
	"net"
	"testing"
	"time"

	"github.com/snapcore-ng/usersession-agent/internal/procfs"
	"github.com/snapcore-ng/usersession-agent/sessionagent"
)

// threads returns the number of OS threads of this process.
func threads(t *testing.T) int {
	t.Helper()
	n, err := procfs.StatusField(procfs.Self, "Threads")
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Idle connections must cost goroutines, not threads: reading peer credentials must
// not make sockets blocking.
func TestIdleConnectionsDoNotCostThreads(t *testing.T) {
	// Not parallel: other tests' threads would blur the count.
	const conns, maxThreads = 1000, 50
	ta := startAgent(t, sessionagent.Config{ReadHeaderTimeout: time.Minute})
	ta.sessionInfo()
	before := threads(t)
	for range conns {
		c, err := net.Dial("unix", ta.path)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	// Let the agent accept them all and read their credentials.
	time.Sleep(200 * time.Millisecond)
	ta.sessionInfo()
	after := threads(t)
	t.Logf("threads: %d before, %d with %d idle connections open", before, after, conns)
	if after >= maxThreads {
		t.Errorf("%d threads with %d idle connections, want fewer than %d", after, conns, maxThreads)
	}
}
