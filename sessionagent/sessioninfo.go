package sessionagent

import (
	"net/http"
	"os"

	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

// getSessionInfo says which agent answers: its version, the user and process it runs
// as, and the features it supports.
func getSessionInfo(a *Agent, r *http.Request) Response {
	uid := int(a.uid)
	return SyncResponse(&wire.SessionInfo{
		Version:  a.cfg.Version,
		UID:      &uid,
		PID:      os.Getpid(),
		Features: a.features,
	})
}
