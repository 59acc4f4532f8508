package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

// maxHeaderBytes bounds the response headers; agents send a handful.
const maxHeaderBytes = 64 << 10

// request is one call, sent to each targeted agent.
type request struct {
	// op names the call in errors: "cannot <op> for uid N".
	op     string
	method string
	path   string
	query  url.Values
	body   any
	limits limits
	// asked are the units or snaps the request names; they bound the answer.
	asked []string
	// check, if set, refuses a decoded result (a T of the fan-out) that does not
	// answer what was asked.
	check func(result any) error
	// scanFailed adds, when targeting all sessions, the users whose manager runs
	// with a failed agent socket unit and no socket (see Client.Repair).
	scanFailed bool
	// followed says the same call sends another request to the same agent after
	// this one (a feature probe, a notification's post and its polls): it never
	// carries the exit hint, which would let the agent exit in between and the next
	// request reach a new one that knows nothing of the first.
	followed bool
}

// call sends r to one agent and returns the raw result of a successful answer. Its
// error is one of the typed causes listed on SessionError, not yet wrapped.
//
// Each call gets its own transport: no connection outlives the call or is shared with
// another agent, so one agent can never answer for another.
func (c *Client) call(ctx context.Context, s Session, r *request) (json.RawMessage, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, r.limits.total)
	defer cancel()
	// The earlier of the whole-call deadline and the caller's.
	deadline, _ := ctx.Deadline()

	var body io.Reader
	if r.body != nil {
		data, err := json.Marshal(r.body)
		if err != nil {
			return nil, fmt.Errorf("cannot encode request: %w", err)
		}
		body = bytes.NewReader(data)
	}
	u := url.URL{Scheme: "http", Host: "localhost", Path: r.path, RawQuery: r.query.Encode()}
	// Whether the whole request went out tells a failure to send it from an agent
	// that closed the connection before answering it.
	var sent atomic.Bool
	trace := &httptrace.ClientTrace{WroteRequest: func(info httptrace.WroteRequestInfo) {
		sent.Store(info.Err == nil)
	}}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), r.method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("cannot build request: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.opts.ExitWhenIdle && !r.followed {
		req.Header.Set(wire.HeaderExitWhenIdle, "true")
	}

	tr := &http.Transport{
		DialContext:            dialAgent(s, r.limits.connect, deadline),
		DisableKeepAlives:      true,
		DisableCompression:     true,
		ResponseHeaderTimeout:  r.limits.headers,
		MaxResponseHeaderBytes: maxHeaderBytes,
		// No Proxy: the environment's proxy settings must not apply to a socket.
	}
	defer tr.CloseIdleConnections()
	hc := &http.Client{
		Transport: tr,
		// A redirect would send the request somewhere the identity check never
		// looked at; a 3xx answer is returned as is and rejected as invalid.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}

	resp, err := hc.Do(req)
	if err != nil {
		op := "send request"
		if sent.Load() {
			op = "read response"
			if ctx.Err() == nil && closedEarly(err) {
				return nil, &TransportError{Op: op, Err: ErrClosedBeforeAnswer}
			}
		}
		return nil, classify(ctx, err, start, deadline, r.limits, PhaseHeaders, op)
	}
	defer resp.Body.Close()
	// net/http reads past other 1xx answers itself; a 101 ends the exchange and
	// hands over the connection for another protocol. No agent speaks one: the
	// answer is refused before a byte of its "body" is read.
	if resp.StatusCode < 200 {
		return nil, &InvalidResponseError{Status: resp.StatusCode, Reason: "an informational status is not an answer (protocol switch refused)"}
	}

	limit := c.opts.MaxResponseSize
	if resp.ContentLength > limit {
		return nil, &InvalidResponseError{Status: resp.StatusCode, Err: &ResponseTooLargeError{Limit: limit}}
	}
	// Read one byte more than allowed to tell "exactly the limit" from "more".
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, classify(ctx, err, start, deadline, r.limits, PhaseBody, "read response")
	}
	if int64(len(data)) > limit {
		return nil, &InvalidResponseError{Status: resp.StatusCode, Err: &ResponseTooLargeError{Limit: limit}}
	}
	if err := checkMembers(data, memberBudget(len(r.asked))); err != nil {
		return nil, &InvalidResponseError{Status: resp.StatusCode, Reason: err.Error()}
	}
	return decodeEnvelope(resp.StatusCode, data)
}

// classify turns an error of the HTTP exchange into a typed cause. deadline is the
// call's (the context's and its connection's).
func classify(ctx context.Context, err error, start, deadline time.Time, lim limits, phase, op string) error {
	var (
		te *TimeoutError
		ie *IdentityError
		xe *TransportError
	)
	switch {
	case errors.As(err, &te):
		return te
	case errors.As(err, &ie):
		return ie
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || (isTimeout(err) && !time.Now().Before(deadline)):
		// The whole-call deadline, or an earlier one of the caller's; the
		// connection's copy of it may fire before the context's timer.
		return &TimeoutError{Phase: phase, Limit: deadline.Sub(start).Round(time.Millisecond)}
	case ctx.Err() != nil:
		return &TransportError{Op: op, Err: ctx.Err()}
	case errors.As(err, &xe):
		return xe
	case phase == PhaseHeaders && isTimeout(err):
		// The transport's ResponseHeaderTimeout; the only other timeouts are the
		// dial's, typed above, and the context's.
		return &TimeoutError{Phase: PhaseHeaders, Limit: lim.headers}
	}
	return &TransportError{Op: op, Err: unwrapURLError(err)}
}

// ErrClosedBeforeAnswer says the agent closed the connection after the whole request
// was sent and before a byte of its answer: for instance it exited in the middle of
// the work, which may or may not have been done.
var ErrClosedBeforeAnswer = errors.New("agent closed the connection after the request was sent, before answering")

// closedEarly reports whether err is the connection ending under net/http's read of
// the answer: end of file or a reset.
func closedEarly(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET)
}

// unwrapURLError drops net/http's `Get "http://localhost/...":` prefix, which names a
// host that means nothing here.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// errorResult is wire.ErrorResult with the value kept raw.
type errorResult struct {
	Message string          `json:"message"`
	Kind    string          `json:"kind"`
	Value   json.RawMessage `json:"value"`
}

// decodeEnvelope checks the answer's envelope and returns its result, or the agent's
// error. It accepts snapd's envelopes: no status-code, a null result, and errors
// without a kind (snapd 2.57).
func decodeEnvelope(status int, data []byte) (json.RawMessage, error) {
	var env wire.Response
	if err := json.Unmarshal(data, &env); err != nil {
		return nil, &InvalidResponseError{Status: status, Reason: "cannot decode answer", Err: err}
	}
	switch env.Type {
	case wire.ResponseTypeSync:
		if status < 200 || status > 299 {
			return nil, &InvalidResponseError{Status: status, Reason: fmt.Sprintf("%q answer with a non-success HTTP status", env.Type)}
		}
		return env.Result, nil
	case wire.ResponseTypeError:
		var res errorResult
		if err := json.Unmarshal(env.Result, &res); err != nil || isNull(env.Result) {
			if err == nil {
				err = errors.New("result is null")
			}
			return nil, &InvalidResponseError{Status: status, Reason: "cannot decode error result", Err: err}
		}
		ae := &AgentError{Status: status, AgentKind: res.Kind, Message: res.Message}
		if !isNull(res.Value) {
			ae.Value = res.Value
			ae.Failures = decodeFailures(res.Value)
		}
		return nil, ae
	default:
		return nil, &InvalidResponseError{Status: status, Reason: fmt.Sprintf("unexpected answer type %q", env.Type)}
	}
}

// decodeFailures reads the per-unit reasons of service-control, service-status and
// app-control errors ({"stop-errors": {"unit": "reason"}}); other values give nil.
func decodeFailures(value json.RawMessage) map[string]map[string]string {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(value, &fields); err != nil {
		return nil
	}
	// Each key is decoded on its own, so that one odd field does not hide the
	// others.
	failures := map[string]map[string]string{}
	for key, raw := range fields {
		var m map[string]string
		if err := json.Unmarshal(raw, &m); err == nil && len(m) > 0 {
			failures[key] = m
		}
	}
	if len(failures) == 0 {
		return nil
	}
	return failures
}

func isNull(raw json.RawMessage) bool {
	return len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}

// decodeResult decodes a successful answer's result into a T; a null or absent result
// gives T's zero value.
func decodeResult[T any](raw json.RawMessage) (T, error) {
	var v T
	if isNull(raw) {
		return v, nil
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return v, &InvalidResponseError{Status: http.StatusOK, Reason: "cannot decode result", Err: err}
	}
	return v, nil
}
