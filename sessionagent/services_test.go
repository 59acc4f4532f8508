package sessionagent_test

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/snapcore-ng/usersession-agent/internal/apierror"
	"github.com/snapcore-ng/usersession-agent/sessionagent"
	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

// fakeServices records what the endpoints pass on and answers what it is told.
type fakeServices struct {
	mu     sync.Mutex
	inst   []wire.ServiceInstruction
	status [][]string
	kills  []wire.AppInstruction
	err    error
}

func (f *fakeServices) Control(_ context.Context, inst wire.ServiceInstruction) (*wire.ServiceControlResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inst = append(f.inst, inst)
	if f.err != nil {
		return nil, f.err
	}
	return &wire.ServiceControlResult{Killed: []string{"snap.a.b.service"}}, nil
}

func (f *fakeServices) Status(_ context.Context, units []string) ([]wire.ServiceUnitStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status = append(f.status, units)
	out := make([]wire.ServiceUnitStatus, len(units))
	for i, u := range units {
		out[i] = wire.ServiceUnitStatus{ID: u, Active: true}
	}
	return out, f.err
}

func (f *fakeServices) Kill(_ context.Context, inst wire.AppInstruction) (*wire.AppControlResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.kills = append(f.kills, inst)
	return &wire.AppControlResult{}, f.err
}

func TestServiceEndpointsPassOnTheDecodedRequest(t *testing.T) {
	t.Parallel()
	fake := &fakeServices{}
	ta := startAgent(t, sessionagent.Config{Services: fake})

	a := ta.do("POST", wire.PathServiceControl, jsonHeader(), strings.NewReader(`{"action":"stop","services":["snap.a.b"],"disable":true}`))
	if a.rsp.StatusCode != 200 || string(a.env.Result) != `{"killed":["snap.a.b.service"]}` {
		t.Fatalf("service-control: %d %s", a.rsp.StatusCode, a.body)
	}
	a = ta.do("GET", wire.PathServiceStatus+"?services=snap.a.b,%20snap.c.d,,", nil, nil)
	var sts []wire.ServiceUnitStatus
	if err := json.Unmarshal(a.env.Result, &sts); err != nil || a.rsp.StatusCode != 200 || len(sts) != 2 {
		t.Fatalf("service-status: %d %s", a.rsp.StatusCode, a.body)
	}
	a = ta.do("POST", wire.PathAppControl, jsonHeader(), strings.NewReader(`{"action":"kill","snaps":["foo"],"signal":"SIGKILL"}`))
	if a.rsp.StatusCode != 200 {
		t.Fatalf("app-control: %d %s", a.rsp.StatusCode, a.body)
	}

	wantInst := []wire.ServiceInstruction{{Action: "stop", Services: []string{"snap.a.b"}, Disable: true}}
	if !reflect.DeepEqual(fake.inst, wantInst) {
		t.Errorf("instructions %+v, want %+v", fake.inst, wantInst)
	}
	if want := [][]string{{"snap.a.b", "snap.c.d"}}; !reflect.DeepEqual(fake.status, want) {
		t.Errorf("status asked for %q, want %q", fake.status, want)
	}
	if want := []wire.AppInstruction{{Action: "kill", Snaps: []string{"foo"}, Signal: 9}}; !reflect.DeepEqual(fake.kills, want) {
		t.Errorf("kills %+v, want %+v", fake.kills, want)
	}
}

func TestServiceErrorsKeepTheirStatusKindAndValue(t *testing.T) {
	t.Parallel()
	value := map[string]any{wire.StartErrorsKey: map[string]any{"snap.a.b": "boom"}}
	fake := &fakeServices{err: &apierror.Error{Kind: wire.ErrorKindServiceControl, Message: "some user services failed to start", Value: value}}
	ta := startAgent(t, sessionagent.Config{Services: fake})
	a := ta.do("POST", wire.PathServiceControl, jsonHeader(), strings.NewReader(`{"action":"start","services":["snap.a.b"]}`))
	res := a.errorResult(t)
	if a.rsp.StatusCode != 500 || res.Kind != wire.ErrorKindServiceControl || !reflect.DeepEqual(res.Value, value) {
		t.Fatalf("got %d %s", a.rsp.StatusCode, a.body)
	}
}

func TestServiceEndpointsWithoutAManager(t *testing.T) {
	t.Parallel()
	ta := startAgent(t, sessionagent.Config{})
	for _, tc := range []struct{ method, path, body string }{
		{"POST", wire.PathServiceControl, `{"action":"daemon-reload"}`},
		{"GET", wire.PathServiceStatus + "?services=snap.a.b", ""},
		{"POST", wire.PathAppControl, `{"action":"kill","snaps":["foo"]}`},
	} {
		a := ta.do(tc.method, tc.path, jsonHeader(), strings.NewReader(tc.body))
		if a.rsp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(a.errorResult(t).Message, "no systemd manager") {
			t.Errorf("%s %s: %d %s", tc.method, tc.path, a.rsp.StatusCode, a.body)
		}
	}
}
