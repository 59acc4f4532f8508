package sessionagent

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/snapcore-ng/usersession-agent/sessionagent/control"
	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

// Response is a handler's answer; the agent writes it once the handler returns.
type Response interface {
	ServeHTTP(w http.ResponseWriter, r *http.Request)
}

// jsonResponse is an answer in the envelope of wire.Response.
type jsonResponse struct {
	status int
	typ    string
	result any
}

// SyncResponse answers 200 with result.
func SyncResponse(result any) Response {
	return &jsonResponse{status: http.StatusOK, typ: wire.ResponseTypeSync, result: result}
}

// ErrorResponse answers an error with the given HTTP status, error kind (one of the
// wire.ErrorKind constants), message and optional value.
func ErrorResponse(status int, kind, message string, value any) Response {
	return &jsonResponse{
		status: status,
		typ:    wire.ResponseTypeError,
		result: &wire.ErrorResult{Message: message, Kind: kind, Value: value},
	}
}

// BadRequest answers 400, kind bad-request, with a formatted message.
func BadRequest(format string, args ...any) Response {
	return ErrorResponse(http.StatusBadRequest, wire.ErrorKindBadRequest, fmt.Sprintf(format, args...), nil)
}

// InternalError answers 500, kind internal-error, with a formatted message.
func InternalError(format string, args ...any) Response {
	return ErrorResponse(http.StatusInternalServerError, wire.ErrorKindInternal, fmt.Sprintf(format, args...), nil)
}

// ResponseForError answers err: a *RequestError or a *control.Error with its own
// status, kind (and value), any other error as an internal error.
func ResponseForError(err error) Response {
	if reqErr, ok := errors.AsType[*RequestError](err); ok {
		return ErrorResponse(reqErr.Status, reqErr.Kind, reqErr.Message, nil)
	}
	if cerr, ok := errors.AsType[*control.Error](err); ok {
		return ErrorResponse(cerr.Status, cerr.Kind, cerr.Message, cerr.Value)
	}
	return InternalError("%v", err)
}

// withHeader returns rsp with one more header set.
func withHeader(rsp Response, key, value string) Response {
	return &headerResponse{rsp: rsp, key: key, value: value}
}

type headerResponse struct {
	rsp        Response
	key, value string
}

func (hr *headerResponse) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set(hr.key, hr.value)
	hr.rsp.ServeHTTP(w, r)
}

func (rsp *jsonResponse) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	status := rsp.status
	body, err := rsp.encode()
	if err != nil {
		// Only a handler's result can fail to encode; this envelope cannot.
		failed := InternalError("cannot encode response: %v", err).(*jsonResponse)
		status = failed.status
		body, _ = failed.encode()
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

func (rsp *jsonResponse) encode() ([]byte, error) {
	result, err := json.Marshal(rsp.result)
	if err != nil {
		return nil, err
	}
	return json.Marshal(&wire.Response{
		Type:       rsp.typ,
		StatusCode: rsp.status,
		Status:     http.StatusText(rsp.status),
		Result:     result,
	})
}

// afterWrite answers rsp, pushes it to the socket, then calls fn: for actions that
// must not start before the client has its answer, such as exiting.
type afterWrite struct {
	rsp Response
	fn  func()
}

func (aw *afterWrite) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	aw.rsp.ServeHTTP(w, r)
	// A failed flush means the client is gone; the action goes ahead regardless.
	http.NewResponseController(w).Flush()
	aw.fn()
}
