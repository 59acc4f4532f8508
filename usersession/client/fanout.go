package client

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// fanOut sends r to every session t targets, at most Concurrency at a time, and
// waits for all of them: it returns only when every call it started has ended.
func fanOut[T any](ctx context.Context, c *Client, t Targets, r *request) (*Results[T], error) {
	return fanOutWith(ctx, c, t, r.op, r.scanFailed, func(ctx context.Context, s Session) (T, error) {
		return callFor[T](ctx, c, s, r)
	})
}

// callFor sends r to one agent and decodes its result as a T.
func callFor[T any](ctx context.Context, c *Client, s Session, r *request) (T, error) {
	var zero T
	raw, err := c.call(ctx, s, r)
	if err != nil {
		return zero, err
	}
	v, err := decodeResult[T](raw)
	if err == nil && r.check != nil {
		if cerr := r.check(v); cerr != nil {
			return zero, &InvalidResponseError{Status: http.StatusOK, Reason: cerr.Error()}
		}
	}
	return v, err
}

// fanOutFunc runs do for every session t targets, as fanOut does with one call: for
// exchanges of several calls with one agent. do's error is a typed cause, which
// fanOutFunc wraps in a *SessionError naming the uid and op.
func fanOutFunc[T any](ctx context.Context, c *Client, t Targets, op string, do func(context.Context, Session) (T, error)) (*Results[T], error) {
	return fanOutWith(ctx, c, t, op, false, do)
}

// fanOutWith is fanOutFunc over the sessions discovery finds, and, with scan while
// targeting every session, the users the repair scan finds (see failedSockets): one
// outcome per session, in discovery's order, each made by settle.
func fanOutWith[T any](ctx context.Context, c *Client, t Targets, op string, scan bool, do func(context.Context, Session) (T, error)) (*Results[T], error) {
	sessions, err := c.Discover(t)
	if err != nil {
		return nil, err
	}
	// Users' managers are found through one connection to PID 1 (where it is
	// systemd) for the whole fan-out.
	ms := c.newManagers()
	defer ms.close()
	if scan && t.all {
		sessions = append(sessions, c.failedSockets(ctx, ms, sessions)...)
		sortSessions(sessions)
	}

	res := &Results[T]{Op: op, Outcomes: make([]Outcome[T], len(sessions))}
	progress := c.progress(sessions)
	start := time.Now()
	// Concurrency workers take the sessions in turn, so that goroutines (and the
	// memory of their stacks) stay bounded by the concurrency however many sessions
	// there are; each worker writes only the outcomes it took.
	var (
		wg   sync.WaitGroup
		next atomic.Int64
	)
	for range min(c.opts.Concurrency, len(sessions)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(sessions) {
					return
				}
				res.Outcomes[i] = settle(ctx, c, ms, op, start, sessions[i], do)
				if res.Outcomes[i].State != StateNotLoginSession {
					progress()
				}
			}
		})
	}
	wg.Wait()
	return res, nil
}

// settle makes s's outcome: a session left out is only listed; any other is reached
// (see reach: do is called, and a broken agent socket told from a gone session and
// repaired), and its state follows from do's answer.
func settle[T any](ctx context.Context, c *Client, ms *managers, op string, start time.Time, s Session, do func(context.Context, Session) (T, error)) Outcome[T] {
	o := Outcome[T]{UID: s.UID, Socket: s.Socket}
	var err error
	switch {
	case errors.Is(s.Cause, ErrNotLoginSession):
		o.State = StateNotLoginSession
		return o
	case s.Cause == nil && ctx.Err() != nil:
		err = queuedErr(ctx, start)
	default:
		o.Repaired, err = c.reach(ctx, ms, s, func(ctx context.Context, s Session) error {
			var err error
			o.Result, err = do(ctx, s)
			return err
		})
	}
	switch {
	case err == nil:
		o.State = StateAnswered
		return o
	case s.Optional && KindOf(err) == KindNoSession:
		o.State = StateNoSession
	default:
		o.State = StateFailed
	}
	var zero T
	o.Result = zero
	o.Err = &SessionError{UID: s.UID, Op: op, Err: err}
	return o
}

// progress returns the function a fan-out over sessions calls as each session it
// addresses (every one but those left out) is settled: it reports to
// Options.Progress, one call at a time.
func (c *Client) progress(sessions []Session) func() {
	if c.opts.Progress == nil {
		return func() {}
	}
	total := 0
	for _, s := range sessions {
		if !errors.Is(s.Cause, ErrNotLoginSession) {
			total++
		}
	}
	var mu sync.Mutex
	done := 0
	return func() {
		mu.Lock()
		defer mu.Unlock()
		done++
		c.opts.Progress(done, total)
	}
}

// queuedErr is the cause for a session whose call never started because the caller's
// context ended while it waited for a slot.
func queuedErr(ctx context.Context, start time.Time) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		var limit time.Duration
		if dl, ok := ctx.Deadline(); ok {
			limit = dl.Sub(start).Round(time.Millisecond)
		}
		return &TimeoutError{Phase: PhaseQueued, Limit: limit}
	}
	return &TransportError{Op: "connect", Err: ctx.Err()}
}
