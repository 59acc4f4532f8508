package sessionagent

import (
	"net/http"
	"os"

	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

// getSessionInfo says which agent answers: its version, the user and process it runs
// as, and the features it supports.
func getSessionInfo(a *Agent, r *http.Request) Response {
	return a.sessionInfo()
}

// encodeSessionInfo encodes the session-info answer. Nothing in it changes during the
// agent's life, and it is what root's client asks of every agent in a fan-out: encoded
// once, it is written as bytes after that (encoding it at every call was a tenth of
// the agent's CPU per request, perf).
func (a *Agent) encodeSessionInfo() Response {
	uid := int(a.uid)
	return encoded(syncResponse(&wire.SessionInfo{
		Version:  a.cfg.Version,
		UID:      &uid,
		PID:      os.Getpid(),
		Features: a.features,
	}))
}
