package sessionagent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/snapcore-ng/usersession-agent/internal/apierror"
	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

// requestError is a fault of the client's request, answered with kind's status.
func requestError(kind string, err error, format string, args ...any) *apierror.Error {
	return &apierror.Error{Kind: kind, Message: fmt.Sprintf(format, args...), Err: err}
}

// DecodeJSONBody decodes the body of r into v: the content type must be
// application/json (charset absent or UTF-8), the body at most limit bytes of valid
// UTF-8 holding exactly one JSON value in which no object has a key twice. Fields v
// lacks are ignored, as snapd's agent does, and returned as ignored (the top-level
// keys only) for the caller to log: during a refresh a newer snapd talks to the agent
// still running, whose request types may lack fields added since (package wire's
// rules on version skew). Any fault is an *apierror.Error (answered by ResponseForError):
//
//   - 415 unsupported-media-type for another content type or charset (snapd answers
//     400 there; 415 says what is wrong and snapd's clients treat every error alike),
//   - 413 request-too-large past limit,
//   - 400 bad-request for anything else.
//
// Other errors (v not a pointer) are the caller's bugs.
func DecodeJSONBody(r *http.Request, limit int64, v any) (ignored []string, err error) {
	if err := checkJSONContentType(r.Header.Get("Content-Type")); err != nil {
		return nil, err
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	_, overLimit := errors.AsType[*http.MaxBytesError](err)
	switch {
	case overLimit || int64(len(body)) > limit:
		return nil, requestError(wire.ErrorKindRequestTooLarge, err,
			"cannot decode request body: larger than %d bytes", limit)
	case err != nil:
		return nil, requestError(wire.ErrorKindBadRequest, err, "cannot read request body: %v", err)
	case !utf8.Valid(body):
		return nil, requestError(wire.ErrorKindBadRequest, nil, "cannot decode request body: not valid UTF-8")
	}

	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		switch _, invalid := errors.AsType[*json.InvalidUnmarshalError](err); {
		case invalid:
			return nil, fmt.Errorf("cannot decode request body: %w", err)
		case errors.Is(err, io.EOF):
			return nil, requestError(wire.ErrorKindBadRequest, err, "cannot decode request body: empty body")
		default:
			return nil, requestError(wire.ErrorKindBadRequest, err,
				"cannot decode request body: %s", strings.TrimPrefix(err.Error(), "json: "))
		}
	}
	// Decode stops after the first value; a second value or any other data after it
	// means the client sent something else than it thinks.
	if rest := bytes.TrimLeft(body[dec.InputOffset():], " \t\r\n"); len(rest) > 0 {
		return nil, requestError(wire.ErrorKindBadRequest, nil,
			"cannot decode request body: unexpected data after the JSON value at offset %d", len(body)-len(rest))
	}
	topKeys, err := objectKeys(body)
	if err == nil {
		ignored, err = matchFields(topKeys, v)
	}
	if err != nil {
		return nil, requestError(wire.ErrorKindBadRequest, err, "cannot decode request body: %v", err)
	}
	return ignored, nil
}

// decodeBody decodes r's body into v with DecodeJSONBody and the agent's body limit,
// and logs the fields it ignored at debug level: a client newer than this agent is
// normal during a refresh, and worth a look only when debugging.
func (a *Agent) decodeBody(r *http.Request, v any) error {
	ignored, err := DecodeJSONBody(r, a.cfg.MaxRequestBody, v)
	if len(ignored) > 0 {
		a.log.Debug("ignoring unknown request fields", "path", r.URL.Path, "fields", ignored)
	}
	return err
}

// objectKeys walks one valid JSON value, refusing any object that has a key twice
// (encoding/json would keep the last one silently, so the sender and the agent could
// read different requests), and returns the keys of the value if it is an object.
// encoding/json has no option for this (its v2 has, but is not in the standard
// library yet), hence this walk.
func objectKeys(body []byte) ([]string, error) {
	// frame is an open object (keys set) or array (keys nil).
	type frame struct {
		keys    map[string]bool
		wantKey bool
	}
	var open []*frame
	var top []string
	valueDone := func() {
		if n := len(open); n > 0 && open[n-1].keys != nil {
			open[n-1].wantKey = true
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return top, nil
		}
		if err != nil {
			return nil, err
		}
		if n := len(open); n > 0 && open[n-1].wantKey {
			if key, ok := tok.(string); ok {
				if open[n-1].keys[key] {
					return nil, fmt.Errorf("key %q given twice", key)
				}
				open[n-1].keys[key] = true
				open[n-1].wantKey = false
				if n == 1 {
					top = append(top, key)
				}
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			open = append(open, &frame{keys: map[string]bool{}, wantKey: true})
		case json.Delim('['):
			open = append(open, &frame{})
		case json.Delim('}'), json.Delim(']'):
			open = open[:len(open)-1]
			valueDone()
		default:
			valueDone()
		}
	}
}

// matchFields matches the top-level keys of a body to the fields of the struct v points
// to, as encoding/json does (case-insensitively), and returns the keys that name no
// field. Two keys naming one field ("action" and "Action") are refused like a key
// given twice. For any other v, every key is known.
func matchFields(keys []string, v any) (unknown []string, err error) {
	t := reflect.TypeOf(v)
	if t == nil || t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return nil, nil
	}
	var names []string
	for f := range t.Elem().Fields() {
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		names = append(names, name)
	}
	seen := map[string]string{}
	for _, k := range keys {
		i := slices.IndexFunc(names, func(n string) bool { return strings.EqualFold(n, k) })
		if i < 0 {
			unknown = append(unknown, k)
			continue
		}
		if first, dup := seen[names[i]]; dup {
			return nil, fmt.Errorf("key %q given twice (as %q)", k, first)
		}
		seen[names[i]] = k
	}
	return unknown, nil
}

func checkJSONContentType(contentType string) error {
	if contentType == "" {
		return requestError(wire.ErrorKindUnsupportedMedia, nil,
			"cannot decode request body: no content type, want application/json")
	}
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return requestError(wire.ErrorKindUnsupportedMedia, err,
			"cannot decode request body: invalid content type %q", contentType)
	}
	if mediaType != "application/json" {
		return requestError(wire.ErrorKindUnsupportedMedia, nil,
			"cannot decode request body: content type %q is not application/json", mediaType)
	}
	if charset, ok := params["charset"]; ok && !strings.EqualFold(charset, "utf-8") {
		return requestError(wire.ErrorKindUnsupportedMedia, nil,
			"cannot decode request body: charset %q is not UTF-8", charset)
	}
	return nil
}
