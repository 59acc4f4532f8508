package userd

import (
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// What one caller can make userd hold at once. Without these, 1000 OpenFile calls
// from one confined app gave 425 dialogs at once, userd 430 threads and 1,315
// descriptors for up to 5 minutes, another caller's OpenURL waited 7.2 s, and 575
// calls failed in identification with "context deadline exceeded" (issue 19).
const (
	// maxQuestions bounds the questions open at once, over all snaps. One user reads
	// one dialog at a time; four leaves room for a few snaps asking together (at login,
	// say) while a flood from several snaps shows at most four dialogs, each a zenity
	// process of its own (about 30 MB with GTK) and a thread of userd waiting on it.
	maxQuestions = 4
	// maxIdentifying bounds the callers being identified at once (a bus call or
	// two and a read of /proc each, about a millisecond when the bus is not loaded).
	// Past it a call is refused at once: queued, it would wait behind the flood and
	// run out of its deadline, as the 575 calls did.
	maxIdentifying = 64
	// maxIdentifyingPerSender bounds it for one connection, so that a flood from one
	// connection leaves the rest of maxIdentifying to everyone else. An app has a
	// call or two in flight; eight leaves room for a few made together (links opened
	// at once) in the millisecond each takes to identify.
	maxIdentifyingPerSender = 8
	// limitLogInterval is the least time between two log lines about refusals over
	// a limit: a flood of calls must not become a flood of log lines.
	limitLogInterval = 10 * time.Second
)

// questions are the questions open, per snap: a snap has at most one, and there are
// at most max in all.
type questions struct {
	max  int
	mu   sync.Mutex
	open map[string]bool
}

// begin takes the question slot of snap, or fails with a LimitsExceeded refusal when
// snap has a question open or max questions are open; end gives it back.
func (q *questions) begin(snap string) (end func(), err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case q.open[snap]:
		return nil, limited("cannot ask the user: a question for snap %q is already open", snap)
	case len(q.open) >= q.max:
		return nil, limited("cannot ask the user: %d questions are open, the most userd shows at once", len(q.open))
	}
	if q.open == nil {
		q.open = make(map[string]bool)
	}
	q.open[snap] = true
	return func() {
		q.mu.Lock()
		defer q.mu.Unlock()
		delete(q.open, snap)
	}, nil
}

// gate bounds the identifications in progress, max in all and perSender for one bus
// connection (its unique name, which the bus daemon gives).
type gate struct {
	max, perSender int
	mu             sync.Mutex
	total          int
	bySender       map[string]int
}

// enter counts one identification of sender, or fails with a LimitsExceeded refusal
// past a bound; leave ends it.
func (g *gate) enter(sender string) (leave func(), err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case g.bySender[sender] >= g.perSender:
		return nil, limited("cannot identify the caller: %d calls from this connection are being identified already", g.bySender[sender])
	case g.total >= g.max:
		return nil, limited("cannot identify the caller: %d calls are being identified already, the most at once", g.total)
	}
	if g.bySender == nil {
		g.bySender = make(map[string]int)
	}
	g.total++
	g.bySender[sender]++
	return func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		g.total--
		if g.bySender[sender]--; g.bySender[sender] == 0 {
			delete(g.bySender, sender)
		}
	}, nil
}

// limitLog logs refusals over a limit, one line per limitLogInterval at most, with
// the number of refusals it did not log.
type limitLog struct {
	mu         sync.Mutex
	last       time.Time
	suppressed int
}

func (l *limitLog) note(log *slog.Logger, sender string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.last.IsZero() && time.Since(l.last) < limitLogInterval {
		l.suppressed++
		return
	}
	log.Info("call refused over a limit", "sender", sender, "err", err,
		"refused-and-not-logged", l.suppressed)
	l.last, l.suppressed = time.Now(), 0
}

// refusal is a call refused on its merits, with the D-Bus error it becomes.
type refusal struct{ name, msg string }

func (e *refusal) Error() string { return e.msg }

// D-Bus errors of refusals (the D-Bus specification's names).
const (
	errAccessDenied   = "org.freedesktop.DBus.Error.AccessDenied"
	errInvalidArgs    = "org.freedesktop.DBus.Error.InvalidArgs"
	errLimitsExceeded = "org.freedesktop.DBus.Error.LimitsExceeded"
)

// denied is a request refused: AccessDenied, as snapd answers.
func denied(format string, args ...any) error {
	return &refusal{errAccessDenied, fmt.Sprintf(format, args...)}
}

// invalid is an argument that is not what the method takes: InvalidArgs, as snapd
// answers a URL it cannot parse.
func invalid(format string, args ...any) error {
	return &refusal{errInvalidArgs, fmt.Sprintf(format, args...)}
}

// limited is a call refused because too much is in progress: LimitsExceeded.
func limited(format string, args ...any) error {
	return &refusal{errLimitsExceeded, fmt.Sprintf(format, args...)}
}
