package sessionagent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/snapcore-ng/usersession-agent/internal/apierror"
	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

// ServeHTTP is the path of every request: peer guard, activity tracking, routing, body,
// handler, answer.
//
// A request from an allowed peer with the header Snap-Agent-Exit-When-Idle: true
// (wire.HeaderExitWhenIdle) makes the agent exit, once it is answered, the first moment
// nothing is in progress: no other request (service work is done within requests)
// and no busy idle source (an open notification with actions), instead of after
// Config.IdleTimeout; the exit then drains as every exit does (see shutdown), so no
// call queued or accepted meanwhile is lost. Any other value of the header is ignored.
// It is this project's extension (snapd's agents ignore the header); an agent that
// never exits on idle (negative IdleTimeout) ignores it too.
func (a *Agent) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if rsp := a.checkPeer(r); rsp != nil {
		rsp.ServeHTTP(w, r)
		return
	}
	// From here to the end of the answer the agent is busy and must not exit.
	a.idle.Begin()
	exitWhenIdle := r.Header.Get(wire.HeaderExitWhenIdle) == "true"
	defer func() {
		if exitWhenIdle {
			// Before End, so that the end of this very request may be the moment.
			a.idle.SkipTimeout()
		}
		a.idle.End()
	}()
	a.dispatch(w, r).ServeHTTP(w, r)
}

func (a *Agent) dispatch(w http.ResponseWriter, r *http.Request) Response {
	cmd := a.routes[r.URL.Path]
	if cmd == nil {
		return errorResponse(apierror.Errorf(wire.ErrorKindNotFound, "cannot find %q", r.URL.Path))
	}
	h := cmd.handler(r.Method)
	if h == nil {
		return withHeader(errorResponse(apierror.Errorf(wire.ErrorKindMethodNotAllowed,
			"cannot %s %q: allowed methods are %s", r.Method, r.URL.Path, cmd.allow())),
			"Allow", cmd.allow())
	}
	ctx, cancel := context.WithTimeout(r.Context(), a.cfg.RequestTimeout)
	defer cancel()
	r = r.WithContext(ctx)
	body, rsp := a.readBody(w, r)
	if rsp != nil {
		return rsp
	}
	a.logRequest(r, body)
	return a.call(h, r)
}

// loggedBody is how much of a request's body the debug log shows: every instruction
// snapd sends fits (a service-control body of a dozen units is about 400 bytes),
// while a body of up to MaxRequestBody would make one line of that size.
const loggedBody = 512

// logRequest writes, at debug level (snap userd --agent --verbose), what a request
// asks: method, path, query and the start of its body (as readBody read it). It is
// what says, in the journal, which requests a snapd sent (tests/real-snapd reads it).
func (a *Agent) logRequest(r *http.Request, body []byte) {
	if !a.log.Enabled(r.Context(), slog.LevelDebug) {
		return
	}
	if len(body) > loggedBody {
		body = append(body[:loggedBody:loggedBody], "..."...)
	}
	a.log.Debug("request", "method", r.Method, "path", r.URL.Path, "query", r.URL.RawQuery, "body", string(body))
}

// readBody reads the body of r in full before the handler runs, bounded in size and in
// time: a client that stops sending must not hold a handler, and with it the agent,
// forever. r must be the handler's own copy of the request. It returns the body it
// read (nil for none), or the answer to a body it refuses.
func (a *Agent) readBody(w http.ResponseWriter, r *http.Request) ([]byte, Response) {
	limit := a.cfg.MaxRequestBody
	tooLarge := func() Response {
		return withHeader(errorResponse(apierror.Errorf(wire.ErrorKindRequestTooLarge,
			"cannot read request body: larger than %d bytes", limit)), "Connection", "close")
	}
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	rc := http.NewResponseController(w)
	rc.SetReadDeadline(time.Now().Add(a.cfg.ReadBodyTimeout))
	// Once the body is read, the server watches the connection for the client
	// leaving; the body's deadline must not cut that watch (and the request) short.
	defer rc.SetReadDeadline(time.Time{})
	if r.ContentLength > limit {
		// Reading a body the client offers with "Expect: 100-continue" (curl does
		// for bodies over 1 MiB) makes net/http send "100 Continue" first: the
		// client would then start its upload, and the connection closing after the
		// 413 would cut it, often before the client reads the answer (broken pipe).
		// Unread, no 100 Continue goes out: the client reads the 413 and sends
		// nothing more, and net/http closes the connection.
		if !expectsContinue(r) {
			discardOversized(r.Body)
		}
		return nil, tooLarge()
	}
	var body bytes.Buffer
	if r.ContentLength > 0 {
		body.Grow(int(r.ContentLength))
	}
	_, err := body.ReadFrom(http.MaxBytesReader(w, r.Body, limit))
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		discardOversized(r.Body)
		return nil, tooLarge()
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return nil, withHeader(errorResponse(&apierror.Error{Kind: wire.ErrorKindBadRequest,
			Message: fmt.Sprintf("cannot read request body: not received within %v", a.cfg.ReadBodyTimeout), Err: err}),
			"Connection", "close")
	}
	if err != nil {
		return nil, withHeader(BadRequest("cannot read request body: %v", err), "Connection", "close")
	}
	r.Body = io.NopCloser(&body)
	r.ContentLength = int64(body.Len())
	return body.Bytes(), nil
}

// oversizedDrain is how much of a body past the limit is read and thrown away before
// the 413. A client that writes its whole body before reading the answer (Go's does)
// would otherwise see a broken pipe instead of the 413; past this much the agent stops
// paying for a client's mistake and just closes the connection.
const oversizedDrain = 1 << 20

// expectsContinue says whether r's client waits for "100 Continue" before sending
// its body (RFC 9110, section 10.1.1), which net/http then sends on the body's first
// read: an HTTP/1.1 request whose Expect header has the token 100-continue, as
// net/http reads it.
func expectsContinue(r *http.Request) bool {
	if !r.ProtoAtLeast(1, 1) {
		return false
	}
	for _, v := range r.Header.Values("Expect") {
		for tok := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(tok), "100-continue") {
				return true
			}
		}
	}
	return false
}

func discardOversized(body io.Reader) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, oversizedDrain))
}

// call runs a handler; a panic answers 500 instead of dropping the connection.
func (a *Agent) call(h HandlerFunc, r *http.Request) (rsp Response) {
	defer func() {
		if v := recover(); v != nil {
			a.log.Error("handler panicked", "method", r.Method, "path", r.URL.Path, "panic", v,
				"stack", string(debug.Stack()))
			rsp = InternalError("cannot %s %q: internal error", r.Method, r.URL.Path)
		}
	}()
	if rsp = h(a, r); rsp == nil {
		panic("handler returned no response")
	}
	return rsp
}
