package sessionagent

import (
	"fmt"
	"net/http"
)

// postAgentExit makes the agent exit once the answer is written: after an upgrade root
// asks every agent to exit, and the socket starts the new binary on the next call. The
// body is empty or {}. Service work in progress is waited for (within its own
// deadline) before the answer, and none starts from then on: an exit never leaves
// units half started or stopped, nor their caller without an answer.
func postAgentExit(a *Agent, r *http.Request) Response {
	if r.ContentLength != 0 {
		var none struct{}
		if err := a.decodeBody(r, &none); err != nil {
			return ResponseForError(err)
		}
	}
	select {
	case <-a.work.Close():
	case <-r.Context().Done():
		// The work's deadline and this request's are the same, so the work is
		// ending too; the exit goes ahead and the drain waits for its answer.
	}
	reason := "exit requested"
	if cred, ok := PeerCredFromContext(r.Context()); ok {
		reason = fmt.Sprintf("exit requested by uid %d pid %d", cred.UID, cred.PID)
	}
	// The connection closes with the exit; the client must not reuse it.
	rsp := withHeader(SyncResponse(nil), "Connection", "close")
	return &afterWrite{rsp: rsp, fn: func() { a.requestExit(reason) }}
}
