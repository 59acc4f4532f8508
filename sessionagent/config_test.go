package sessionagent_test

import (
	"testing"

	"github.com/snapcore-ng/usersession-agent/sessionagent"
	"github.com/snapcore-ng/usersession-agent/usersession/client"
)

// The agent gives up on a service request (and has undone a failed start) before root's
// client gives up on the session; the other way round, root would report a session as
// timed out while its agent is still acting on its units.
func TestRequestTimeoutIsShorterThanTheClients(t *testing.T) {
	t.Parallel()
	if sessionagent.DefaultRequestTimeout >= client.DefaultServiceTimeout {
		t.Fatalf("the agent's request timeout %v is not shorter than the client's service timeout %v",
			sessionagent.DefaultRequestTimeout, client.DefaultServiceTimeout)
	}
}
