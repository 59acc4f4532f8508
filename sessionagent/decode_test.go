package sessionagent_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/snapcore-ng/usersession-agent/internal/apierror"
	"github.com/snapcore-ng/usersession-agent/sessionagent"
	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

// FuzzDecodeJSONBody checks the decoding of a service instruction: whatever the client
// sends, it decodes or is refused with a client error, never a panic.
func FuzzDecodeJSONBody(f *testing.F) {
	for _, seed := range []struct{ contentType, body string }{
		{"application/json", `{"action":"start","services":["snap.foo.svc"],"enable":true}`},
		{"application/json; charset=utf-8", `{"action":"stop","services":[],"disable":true}`},
		{"application/json", `{"action":"restart","reload":true} `},
		{"application/json", `{"action":"start"}{"action":"stop"}`},
		{"application/json", `{"action":"start","foo":1}`},
		{"application/json", `{"Action":"start"}`},
		{"application/json", `{"action":"start","action":"stop"}`},
		{"application/json", `{"services":null}`},
		{"application/json", `null`},
		{"application/json", `[]`},
		{"application/json", ``},
		{"application/json", "{\"action\":\"\xff\"}"},
		{"application/json", `{"action":"\ud800"}`},
		{"application/json; charset=latin1", `{}`},
		{"text/plain", `{}`},
		{"", `{}`},
	} {
		f.Add(seed.contentType, []byte(seed.body))
	}
	const limit = 1024
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		r := httptest.NewRequest("POST", wire.PathServiceControl, bytes.NewReader(body))
		if contentType != "" {
			r.Header.Set("Content-Type", contentType)
		}
		var inst wire.ServiceInstruction
		_, err := sessionagent.DecodeJSONBody(r, limit, &inst)
		if err != nil {
			reqErr, ok := errors.AsType[*apierror.Error](err)
			if !ok {
				t.Fatalf("error %v is %T, want *apierror.Error", err, err)
			}
			if status := statusOf(err); status < 400 || status > 499 || reqErr.Kind == "" || !strings.HasPrefix(reqErr.Message, "cannot ") {
				t.Fatalf("error %+v (%d), want a 4xx with a kind and a message starting with cannot", reqErr, status)
			}
			return
		}
		if len(body) > limit || !json.Valid(body) {
			t.Fatalf("accepted %q: over the limit or not one JSON value", body)
		}
		// What was decoded survives a round trip through the strict decoder.
		again, err := json.Marshal(&inst)
		if err != nil {
			t.Fatal(err)
		}
		r = httptest.NewRequest("POST", wire.PathServiceControl, bytes.NewReader(again))
		r.Header.Set("Content-Type", "application/json")
		var inst2 wire.ServiceInstruction
		if _, err := sessionagent.DecodeJSONBody(r, int64(len(again)), &inst2); err != nil {
			t.Fatalf("re-encoded %s refused: %v", again, err)
		}
		if again2, _ := json.Marshal(&inst2); !bytes.Equal(again, again2) {
			t.Fatalf("round trip changed %s into %s", again, again2)
		}
	})
}

func TestDecodeJSONBodyLimitIsExact(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		body   string
		status int
	}{
		{`{"action":"start"}`, 0},
		{`{"action":"start"} `, http.StatusRequestEntityTooLarge},
	} {
		r := httptest.NewRequest("POST", "/", strings.NewReader(tc.body))
		r.Header.Set("Content-Type", "application/json")
		var inst wire.ServiceInstruction
		_, err := sessionagent.DecodeJSONBody(r, int64(len(`{"action":"start"}`)), &inst)
		status := 0
		if _, ok := errors.AsType[*apierror.Error](err); ok {
			status = statusOf(err)
		} else if err != nil {
			t.Fatal(err)
		}
		if status != tc.status {
			t.Errorf("body %q: status %d, want %d", tc.body, status, tc.status)
		}
	}
}

func TestDecodeJSONBodyNeedsAPointer(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest("POST", "/", strings.NewReader(`{}`))
	r.Header.Set("Content-Type", "application/json")
	_, err := sessionagent.DecodeJSONBody(r, 1024, wire.ServiceInstruction{})
	if _, ok := errors.AsType[*apierror.Error](err); err == nil || ok {
		t.Fatalf("error %v, want a plain error: the caller's bug is no client error", err)
	}
	if a := sessionagent.ResponseForError(err); a == nil {
		t.Fatal("no response for a plain error")
	}
}

// The rules for version skew (package wire): fields the agent does not know are
// ignored and reported, a key given twice or data after the value is refused.
func TestDecodeJSONBodyVersionSkew(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		body    string
		ignored []string
		err     string
	}{
		{body: `{"action":"kill","snaps":["foo"],"signal":9,"reason":"remove"}`, ignored: []string{"reason"}},
		{body: `{"action":"kill","future":{"a":[1,{"b":2}]},"snaps":[],"later":null}`, ignored: []string{"future", "later"}},
		{body: `{"Action":"kill","SNAPS":["foo"]}`},
		{body: `{"action":"kill","snaps":["foo"],"snaps":["bar"]}`, err: `key "snaps" given twice`},
		{body: `{"action":"kill","x":{"a":1,"a":2}}`, err: `key "a" given twice`},
		{body: `{"action":"kill","x":[{"a":1},{"a":2,"b":{"a":3}}]}`, ignored: []string{"x"}},
		{body: `{"action":"kill","Action":"stop"}`, err: `key "Action" given twice (as "action")`},
		{body: `{"action":"kill","reason":"a","reason":"b"}`, err: `key "reason" given twice`},
		{body: `{"action":"kill"} {"action":"stop"}`, err: "unexpected data after the JSON value"},
		{body: `{"action":"kill","signal":"SIGNOPE"}`, err: `invalid signal "SIGNOPE"`},
	} {
		r := httptest.NewRequest("POST", wire.PathAppControl, strings.NewReader(tc.body))
		r.Header.Set("Content-Type", "application/json")
		var inst wire.AppInstruction
		ignored, err := sessionagent.DecodeJSONBody(r, 1024, &inst)
		if tc.err == "" {
			if err != nil || !slices.Equal(ignored, tc.ignored) || inst.Action != "kill" {
				t.Errorf("%s: ignored %q, %v, decoded %+v; want ignored %q", tc.body, ignored, err, inst, tc.ignored)
			}
			continue
		}
		reqErr, ok := errors.AsType[*apierror.Error](err)
		if !ok || statusOf(err) != http.StatusBadRequest || !strings.Contains(reqErr.Message, tc.err) {
			t.Errorf("%s: error %v, want a 400 saying %q", tc.body, err, tc.err)
		}
	}
}
