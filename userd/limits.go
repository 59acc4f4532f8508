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
	// maxCommands bounds the external commands (xdg-open, xdg-mime, xdg-settings,
	// systemd-run) userd runs at once for its callers, and maxCommandsPerSnap those it
	// runs for one snap (callers outside any snap count as one). Each is a process, and
	// xdg-settings a shell script that runs a dozen more, with a thread of userd
	// waiting on it for up to its deadline. An app runs one at a time, or a few
	// together (a browser's Check and Get at its start, links opened at once): four
	// per snap leaves room for those, and sixteen lets four snaps do it at once.
	// Without them, a flood of OpenURL or Settings calls ran one process per call.
	maxCommands        = 16
	maxCommandsPerSnap = 4
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

// bound counts work in progress, at most max in all and perKey for one key (a bus
// connection's unique name, a snap); its refusals are LimitsExceeded, worded by
// overKey and overAll from the key and the count already in progress.
type bound struct {
	max, perKey int
	overKey     func(key string, n int) error
	overAll     func(n int) error

	mu    sync.Mutex
	total int
	byKey map[string]int
}

// identifyingBound bounds the callers being identified, by connection.
func identifyingBound(max, perSender int) *bound {
	return &bound{max: max, perKey: perSender,
		overKey: func(_ string, n int) error {
			return limited("cannot identify the caller: %d calls from this connection are being identified already", n)
		},
		overAll: func(n int) error {
			return limited("cannot identify the caller: %d calls are being identified already, the most at once", n)
		},
	}
}

// commandsBound bounds the external commands running, by snap ("" for callers
// outside any snap).
func commandsBound(max, perSnap int) *bound {
	return &bound{max: max, perKey: perSnap,
		overKey: func(snap string, n int) error {
			if snap == "" {
				return limited("%d commands are running for callers outside any snap, the most for one snap", n)
			}
			return limited("%d commands are running for snap %q, the most for one snap", n, snap)
		},
		overAll: func(n int) error {
			return limited("%d commands are running, the most userd runs at once", n)
		},
	}
}

// enter counts one in for key, or fails with a LimitsExceeded refusal past a bound;
// leave counts it out.
func (b *bound) enter(key string) (leave func(), err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.byKey[key] >= b.perKey:
		return nil, b.overKey(key, b.byKey[key])
	case b.total >= b.max:
		return nil, b.overAll(b.total)
	}
	if b.byKey == nil {
		b.byKey = make(map[string]int)
	}
	b.total++
	b.byKey[key]++
	return func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.total--
		if b.byKey[key]--; b.byKey[key] == 0 {
			delete(b.byKey, key)
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
