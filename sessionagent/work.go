package sessionagent

import (
	"github.com/snapcore-ng/usersession-agent/internal/apierror"
	"github.com/snapcore-ng/usersession-agent/internal/drain"
	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

// serviceWork counts the service work in progress (service-control and app-control
// requests: systemd jobs and signals) and, once the agent is exiting, refuses new
// work. Work that has started is never cut short by an exit: an exit request waits
// for it, and the drain at exit waits for it past Config.ShutdownTimeout, within the
// work's own deadline (Config.RequestTimeout), so that it finishes (or is undone by
// its own code) and is answered.
type serviceWork struct{ drain.Counter }

func newServiceWork() *serviceWork { return &serviceWork{} }

// asServiceWork runs do as service work: counted until its answer is written, or
// refused with a 503 (kind agent-exiting) once the agent is exiting.
func (a *Agent) asServiceWork(do func() Response) (rsp Response) {
	if !a.work.Begin() {
		return ResponseForError(apierror.Errorf(wire.ErrorKindAgentExiting,
			"cannot start service work: the session agent is exiting; the next call starts a new one"))
	}
	defer func() {
		// A panic is answered by the caller; the work has ended all the same.
		if v := recover(); v != nil {
			a.work.End()
			panic(v)
		}
	}()
	return &afterWrite{rsp: do(), fn: a.work.End}
}
