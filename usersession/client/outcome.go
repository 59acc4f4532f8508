package client

import (
	"errors"
)

// Outcome is what one session's agent did with a call.
type Outcome[T any] struct {
	UID int
	// Socket is the agent's socket path.
	Socket string
	// Result is the decoded result when Err is nil (T's zero value for a null one).
	Result T
	// Err is nil when the agent answered with success, else a *SessionError naming
	// the uid and wrapping the typed cause.
	Err error
	// Repaired says what was repaired to reach the agent, or is nil.
	Repaired *RepairResult

	// optional: the session was found, not asked for, so that its being gone is no
	// failure.
	optional bool
}

// OK reports whether the agent answered with success.
func (o Outcome[T]) OK() bool { return o.Err == nil }

// Failed reports whether the outcome is a failure: any error but a session that is
// gone (KindNoSession) when all sessions were targeted. A uid asked for that has no
// session is a failure.
func (o Outcome[T]) Failed() bool {
	return o.Err != nil && !(o.optional && o.Kind() == KindNoSession)
}

// Kind classifies the outcome.
func (o Outcome[T]) Kind() Kind { return KindOf(o.Err) }

// Results are the outcomes of one call to several sessions.
type Results[T any] struct {
	// Op names the call, as in "cannot <Op> for uid N".
	Op string
	// Outcomes holds one entry per targeted session, sorted by uid.
	Outcomes []Outcome[T]
	// Skipped are sockets discovery refused while targeting all sessions (with
	// targeted uids, those are failed Outcomes instead).
	Skipped []Skipped
	// NotLoginSessions are sockets of dynamic-user uids left out while targeting all
	// sessions (see Discovery); they are neither outcomes nor failures.
	NotLoginSessions []Session
}

// UIDs returns the uid of every outcome, skipped socket and left-out session, in
// that order (-1 for a skipped socket whose directory names no uid).
func (r *Results[T]) UIDs() []int {
	var uids []int
	for _, o := range r.Outcomes {
		uids = append(uids, o.UID)
	}
	for _, s := range r.Skipped {
		uids = append(uids, s.UID)
	}
	for _, s := range r.NotLoginSessions {
		uids = append(uids, s.UID)
	}
	return uids
}

// Succeeded returns the outcomes whose agents answered with success.
func (r *Results[T]) Succeeded() []Outcome[T] {
	var out []Outcome[T]
	for _, o := range r.Outcomes {
		if o.OK() {
			out = append(out, o)
		}
	}
	return out
}

// Failed returns the failed outcomes, sorted by uid.
func (r *Results[T]) Failed() []Outcome[T] {
	var out []Outcome[T]
	for _, o := range r.Outcomes {
		if o.Failed() {
			out = append(out, o)
		}
	}
	return out
}

// Counts returns how many outcomes there are of each kind; skipped sockets count as
// KindUnsafeSocket.
func (r *Results[T]) Counts() map[Kind]int {
	counts := map[Kind]int{}
	for _, o := range r.Outcomes {
		counts[o.Kind()]++
	}
	counts[KindUnsafeSocket] += len(r.Skipped)
	if counts[KindUnsafeSocket] == 0 {
		delete(counts, KindUnsafeSocket)
	}
	return counts
}

// Err joins the errors of every failed outcome and skipped socket, each naming its
// uid, or returns nil if there are none.
func (r *Results[T]) Err() error {
	var errs []error
	for _, o := range r.Outcomes {
		if o.Failed() {
			errs = append(errs, o.Err)
		}
	}
	for _, s := range r.Skipped {
		errs = append(errs, &SessionError{UID: s.UID, Op: r.Op, Err: s.Err})
	}
	return errors.Join(errs...)
}
