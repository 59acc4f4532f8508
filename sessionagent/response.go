package sessionagent

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/snapcore-ng/usersession-agent/internal/apierror"
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
	return syncResponse(result)
}

func syncResponse(result any) *jsonResponse {
	return &jsonResponse{status: http.StatusOK, typ: wire.ResponseTypeSync, result: result}
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
	encoded(rsp).ServeHTTP(w, r)
}

// encoded returns rsp encoded, to be written as it is.
func encoded(rsp *jsonResponse) *encodedResponse {
	body, err := rsp.encode()
	if err != nil {
		// Only a handler's result can fail to encode; this envelope cannot.
		failed := errorResponse(apierror.Errorf(wire.ErrorKindInternal, "cannot encode response: %v", err))
		body, _ = failed.encode()
		return &encodedResponse{status: failed.status, body: body}
	}
	return &encodedResponse{status: rsp.status, body: body}
}

// encodedResponse is an answer already encoded in the envelope of wire.Response.
type encodedResponse struct {
	status int
	body   []byte
}

func (rsp *encodedResponse) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(rsp.body)))
	w.WriteHeader(rsp.status)
	w.Write(rsp.body)
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
