package sessionagent

import (
	"fmt"
	"net/http"

	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

func init() {
	register(&Command{Path: wire.PathAgentExit, Feature: "agent-exit", POST: postAgentExit})
}

// postAgentExit makes the agent exit once the answer is written: after an upgrade root
// asks every agent to exit, and the socket starts the new binary on the next call. The
// body is empty or {}.
func postAgentExit(a *Agent, r *http.Request) Response {
	if r.ContentLength != 0 {
		var none struct{}
		if err := a.decodeBody(r, &none); err != nil {
			return ResponseForError(err)
		}
	}
	reason := "exit requested"
	if cred, ok := PeerCredFromContext(r.Context()); ok {
		reason = fmt.Sprintf("exit requested by uid %d pid %d", cred.UID, cred.PID)
	}
	// The connection closes with the exit; the client must not reuse it.
	rsp := withHeader(SyncResponse(nil), "Connection", "close")
	return &afterWrite{rsp: rsp, fn: func() { a.requestExit(reason) }}
}
