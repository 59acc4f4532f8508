package sessionagent

import (
	"sync"

	"github.com/snapcore-ng/usersession-agent/internal/apierror"
	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

// serviceWork counts the service work in progress (service-control and app-control
// requests: systemd jobs and signals) and, once the agent is exiting, refuses new
// work. Work that has started is never cut short by an exit: an exit request waits
// for it, and the drain at exit waits for it past Config.ShutdownTimeout, within the
// work's own deadline (Config.RequestTimeout), so that it finishes (or is undone by
// its own code) and is answered.
type serviceWork struct {
	mu      sync.Mutex
	closed  bool
	running int
	done    chan struct{}
}

func newServiceWork() *serviceWork { return &serviceWork{done: make(chan struct{})} }

// begin counts one piece of work in; false means the agent is exiting.
func (w *serviceWork) begin() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return false
	}
	w.running++
	return true
}

func (w *serviceWork) end() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.running--
	if w.closed && w.running == 0 {
		close(w.done)
	}
}

// close refuses new work and returns a channel closed once the work in progress has
// been answered (at once when there is none, so that an exit with no work says
// nothing of waiting for it); it may be called more than once.
func (w *serviceWork) close() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed {
		w.closed = true
		if w.running == 0 {
			close(w.done)
		}
	}
	return w.done
}

// asServiceWork runs do as service work: counted until its answer is written, or
// refused with a 503 (kind agent-exiting) once the agent is exiting.
func (a *Agent) asServiceWork(do func() Response) (rsp Response) {
	if !a.work.begin() {
		return ResponseForError(apierror.Errorf(wire.ErrorKindAgentExiting,
			"cannot start service work: the session agent is exiting; the next call starts a new one"))
	}
	defer func() {
		// A panic is answered by the caller; the work has ended all the same.
		if v := recover(); v != nil {
			a.work.end()
			panic(v)
		}
	}()
	return &afterWrite{rsp: do(), fn: a.work.end}
}
