package client

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
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

// fanOutWith is fanOutFunc. A session whose agent socket is broken is told from a
// gone one, and repaired when Options.RepairAgents is on (see reach); so is a
// targeted uid without a socket. scanFailed adds, when targeting all sessions, the
// users whose manager runs with a failed agent socket unit and no socket.
func fanOutWith[T any](ctx context.Context, c *Client, t Targets, op string, scanFailed bool, do func(context.Context, Session) (T, error)) (*Results[T], error) {
	d, err := c.Discover(t)
	if err != nil {
		return nil, err
	}
	res := &Results[T]{Op: op}
	if t.all {
		res.Skipped = d.Skipped
		res.NotLoginSessions = d.NotLoginSessions
	}
	// Users' managers are found through one connection to PID 1 (where it is
	// systemd) for the whole fan-out.
	ms := c.newManagers()
	defer ms.close()
	seen := map[int]bool{}
	for _, s := range d.Sessions {
		seen[s.UID] = true
	}
	for _, sk := range d.Skipped {
		seen[sk.UID] = true
	}
	for _, s := range d.NotLoginSessions {
		seen[s.UID] = true
	}
	var scan []scanned
	if t.all && scanFailed {
		scan = c.failedSockets(ctx, ms, seen)
	}
	missing := func(uid int) *NoAgentError {
		return &NoAgentError{Path: filepath.Join(c.opts.RuntimeDir, strconv.Itoa(uid), SocketName)}
	}

	// The outcomes known already come first, then those to reach.
	repairable := func(err error) bool { return c.opts.RepairAgents && IsNoAgent(err) }
	for uid, err := range d.Failed {
		if !repairable(err) {
			res.Outcomes = append(res.Outcomes, Outcome[T]{UID: uid, Socket: socketOf(err), Err: &SessionError{UID: uid, Op: op, Err: err}})
		}
	}
	for _, f := range scan {
		if f.err != nil {
			m := missing(f.uid)
			res.Outcomes = append(res.Outcomes, Outcome[T]{UID: f.uid, Socket: m.Path, Err: &SessionError{UID: f.uid, Op: op, Err: &RepairError{Cause: m, Err: f.err}}})
		}
	}
	first := len(res.Outcomes)
	// noSocket holds, for each outcome to reach, why it has no socket (nil when it
	// has one).
	var noSocket []error
	for _, s := range d.Sessions {
		res.Outcomes = append(res.Outcomes, Outcome[T]{UID: s.UID, Socket: s.Socket, optional: t.all})
		noSocket = append(noSocket, nil)
	}
	for uid, err := range d.Failed {
		if repairable(err) {
			res.Outcomes = append(res.Outcomes, Outcome[T]{UID: uid})
			noSocket = append(noSocket, err)
		}
	}
	for _, f := range scan {
		if f.err == nil {
			res.Outcomes = append(res.Outcomes, Outcome[T]{UID: f.uid})
			noSocket = append(noSocket, missing(f.uid))
		}
	}

	start := time.Now()
	var (
		mu       sync.Mutex
		done     = first
		total    = len(res.Outcomes)
		progress = func() {
			if c.opts.Progress == nil {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			done++
			c.opts.Progress(done, total)
		}
	)
	call := func(o *Outcome[T], noSocket error) {
		defer progress()
		if ctx.Err() != nil {
			o.Err = &SessionError{UID: o.UID, Op: op, Err: queuedErr(ctx, start)}
			return
		}
		repaired, err := c.reach(ctx, ms, Session{UID: o.UID, Socket: o.Socket}, noSocket, func(ctx context.Context, s Session) error {
			result, err := do(ctx, s)
			o.Result, o.Socket = result, s.Socket
			return err
		})
		o.Repaired = repaired
		if err != nil {
			var zero T
			o.Result = zero
			o.Err = &SessionError{UID: o.UID, Op: op, Err: err}
			if o.Socket == "" {
				o.Socket = socketOf(noSocket)
			}
		}
	}
	// Concurrency workers take the outcomes in turn, so that goroutines (and the
	// memory of their stacks) stay bounded by the concurrency however many sessions
	// there are; each worker writes only the outcomes it took.
	var (
		wg   sync.WaitGroup
		next atomic.Int64
	)
	next.Store(int64(first))
	for range min(c.opts.Concurrency, total-first) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= total {
					return
				}
				call(&res.Outcomes[i], noSocket[i-first])
			}
		})
	}
	wg.Wait()
	sortOutcomes(res.Outcomes)
	return res, nil
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

// socketOf returns the socket path a discovery failure names.
func socketOf(err error) string {
	var ne *NoAgentError
	var ue *UnsafeSocketError
	switch {
	case errors.As(err, &ne):
		return ne.Path
	case errors.As(err, &ue):
		return ue.Path
	}
	return ""
}

func sortOutcomes[T any](outcomes []Outcome[T]) {
	slices.SortFunc(outcomes, func(a, b Outcome[T]) int { return a.UID - b.UID })
}
