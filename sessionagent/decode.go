package sessionagent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

// RequestError is a fault of the client's request: Status (a 4xx) and Kind say how to
// answer it, Message is the answer's message. ResponseForError turns it into a Response.
type RequestError struct {
	Status  int
	Kind    string
	Message string
	Err     error
}

func (e *RequestError) Error() string { return e.Message }
func (e *RequestError) Unwrap() error { return e.Err }

func requestError(status int, kind string, err error, format string, args ...any) *RequestError {
	return &RequestError{Status: status, Kind: kind, Message: fmt.Sprintf(format, args...), Err: err}
}

// DecodeJSONBody decodes the body of r into v, strictly: the content type must be
// application/json (charset absent or UTF-8), the body at most limit bytes of valid
// UTF-8 holding exactly one JSON value with no field that v lacks. Any fault is a
// *RequestError:
//
//   - 415 unsupported-media-type for another content type or charset (snapd answers
//     400 there; 415 says what is wrong and snapd's clients treat every error alike),
//   - 413 request-too-large past limit,
//   - 400 bad-request for anything else.
//
// Other errors (v not a pointer) are the caller's bugs.
func DecodeJSONBody(r *http.Request, limit int64, v any) error {
	if err := checkJSONContentType(r.Header.Get("Content-Type")); err != nil {
		return err
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	_, overLimit := errors.AsType[*http.MaxBytesError](err)
	switch {
	case overLimit || int64(len(body)) > limit:
		return requestError(http.StatusRequestEntityTooLarge, wire.ErrorKindRequestTooLarge, err,
			"cannot decode request body: larger than %d bytes", limit)
	case err != nil:
		return requestError(http.StatusBadRequest, wire.ErrorKindBadRequest, err, "cannot read request body: %v", err)
	case !utf8.Valid(body):
		return requestError(http.StatusBadRequest, wire.ErrorKindBadRequest, nil, "cannot decode request body: not valid UTF-8")
	}

	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		switch _, invalid := errors.AsType[*json.InvalidUnmarshalError](err); {
		case invalid:
			return fmt.Errorf("cannot decode request body: %w", err)
		case errors.Is(err, io.EOF):
			return requestError(http.StatusBadRequest, wire.ErrorKindBadRequest, err, "cannot decode request body: empty body")
		default:
			return requestError(http.StatusBadRequest, wire.ErrorKindBadRequest, err,
				"cannot decode request body: %s", strings.TrimPrefix(err.Error(), "json: "))
		}
	}
	// Decode stops after the first value; a second value or any other data after it
	// means the client sent something else than it thinks.
	if rest := bytes.TrimLeft(body[dec.InputOffset():], " \t\r\n"); len(rest) > 0 {
		return requestError(http.StatusBadRequest, wire.ErrorKindBadRequest, nil,
			"cannot decode request body: unexpected data after the JSON value at offset %d", len(body)-len(rest))
	}
	return nil
}

func checkJSONContentType(contentType string) error {
	if contentType == "" {
		return requestError(http.StatusUnsupportedMediaType, wire.ErrorKindUnsupportedMedia, nil,
			"cannot decode request body: no content type, want application/json")
	}
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return requestError(http.StatusUnsupportedMediaType, wire.ErrorKindUnsupportedMedia, err,
			"cannot decode request body: invalid content type %q", contentType)
	}
	if mediaType != "application/json" {
		return requestError(http.StatusUnsupportedMediaType, wire.ErrorKindUnsupportedMedia, nil,
			"cannot decode request body: content type %q is not application/json", mediaType)
	}
	if charset, ok := params["charset"]; ok && !strings.EqualFold(charset, "utf-8") {
		return requestError(http.StatusUnsupportedMediaType, wire.ErrorKindUnsupportedMedia, nil,
			"cannot decode request body: charset %q is not UTF-8", charset)
	}
	return nil
}
