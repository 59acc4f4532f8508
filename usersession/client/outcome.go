package client

import (
	"errors"
)

// State says what became of one session in a call.
type State string

// Outcome states.
const (
	// StateAnswered: the agent answered with success; Result is its answer.
	StateAnswered State = "answered"
	// StateFailed: the session failed; Err says why. A uid asked for that has no
	// session is a failure.
	StateFailed State = "failed"
	// StateNoSession: found while targeting every session, the socket is what a
	// session that is gone left behind (Err wraps a *NoSessionError): listed, and no
	// failure.
	StateNoSession State = "no-session"
	// StateNotLoginSession: found while targeting every session, the socket is a
	// service's, not a login session's (ErrNotLoginSession): left out unchecked and
	// uncalled, and no failure.
	StateNotLoginSession State = "not-login-session"
)

// Outcome is what became of one session in a call.
type Outcome[T any] struct {
	// UID is the session's uid, or -1 for a socket in a directory that names no uid.
	UID int
	// Socket is the agent's socket path.
	Socket string
	State  State
	// Result is the decoded result when the agent answered (T's zero value for a
	// null one, and in every other state).
	Result T
	// Err is nil when the agent answered or the session was left out, else a
	// *SessionError naming the uid and wrapping the typed cause.
	Err error
	// Repaired says what was repaired to reach the agent, or is nil.
	Repaired *RepairResult
}

// OK reports whether the agent answered with success.
func (o Outcome[T]) OK() bool { return o.State == StateAnswered }

// Failed reports whether the outcome is a failure (StateFailed).
func (o Outcome[T]) Failed() bool { return o.State == StateFailed }

// Kind classifies the outcome's error (KindOK when there is none).
func (o Outcome[T]) Kind() Kind { return KindOf(o.Err) }

// Results are the outcomes of one call to several sessions.
type Results[T any] struct {
	// Op names the call, as in "cannot <Op> for uid N".
	Op string
	// Outcomes holds one entry per session discovery found (see Client.Discover), in
	// its order: by uid, a socket in a directory that names no uid last.
	Outcomes []Outcome[T]
}

// UIDs returns the uid of every outcome (-1 for a socket whose directory names no
// uid).
func (r *Results[T]) UIDs() []int {
	var uids []int
	for _, o := range r.Outcomes {
		uids = append(uids, o.UID)
	}
	return uids
}

// Succeeded returns the outcomes whose agents answered with success.
func (r *Results[T]) Succeeded() []Outcome[T] { return r.in(StateAnswered) }

// Failed returns the failed outcomes.
func (r *Results[T]) Failed() []Outcome[T] { return r.in(StateFailed) }

func (r *Results[T]) in(state State) []Outcome[T] {
	var out []Outcome[T]
	for _, o := range r.Outcomes {
		if o.State == state {
			out = append(out, o)
		}
	}
	return out
}

// Counts returns how many outcomes there are of each kind, sessions left out as not
// login sessions aside.
func (r *Results[T]) Counts() map[Kind]int {
	counts := map[Kind]int{}
	for _, o := range r.Outcomes {
		if o.State != StateNotLoginSession {
			counts[o.Kind()]++
		}
	}
	return counts
}

// Err joins the errors of every failed outcome, each naming its uid, or returns nil if
// there are none.
func (r *Results[T]) Err() error {
	var errs []error
	for _, o := range r.Failed() {
		errs = append(errs, o.Err)
	}
	return errors.Join(errs...)
}
