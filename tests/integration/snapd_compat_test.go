package integration_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/snapcore-ng/usersession-agent/testkit/testenv"
	"github.com/snapcore-ng/usersession-agent/testkit/usersessiontest"
	"github.com/snapcore-ng/usersession-agent/usersession/client"
	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

// Wire compatibility with snapd, both ways: this project's client against Debian's
// snapd 2.57 agent, and the requests snapd's client sends against this agent.

const debianUnitDir = "/usr/lib/systemd/user"

// debianAgentSession starts a session whose agent is Debian's snapd one, from copies
// of its installed units, with the given user units.
func debianAgentSession(t *testing.T, units map[string]string) *usersessiontest.Session {
	t.Helper()
	usersessiontest.RequireRoot(t)
	var missing []string
	for _, p := range []string{
		filepath.Join(debianUnitDir, "snapd.session-agent.socket"),
		filepath.Join(debianUnitDir, "snapd.session-agent.service"),
		"/usr/bin/snap",
	} {
		if _, err := os.Stat(p); err != nil {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		why := fmt.Sprintf("snapd's session agent is not installed (missing %s; apt-get install snapd)", strings.Join(missing, ", "))
		testenv.SkipOrFail(t, why)
	}
	dir := t.TempDir()
	for _, name := range []string{"snapd.session-agent.socket", "snapd.session-agent.service"} {
		data, err := os.ReadFile(filepath.Join(debianUnitDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s := usersessiontest.Start(t, usersessiontest.Options{UnitsFrom: dir})
	for name, content := range units {
		s.WriteUserUnit(name, content)
	}
	mustSystemctl(t, s, "daemon-reload")
	mustSystemctl(t, s, "start", "snapd.session-agent.socket")
	return s
}

func TestOurClientAgainstSnapd257Agent(t *testing.T) {
	t.Parallel()
	const (
		a   = "snap.compat.a.service"
		bad = "snap.compat.bad.service"
	)
	s := debianAgentSession(t, map[string]string{a: markedUnit("a", false), bad: failingUnit})
	target := client.UIDs(s.UID)
	cl := client.New(client.Options{})
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()

	info, err := cl.SessionInfo(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	o := outcomeOf(t, info, s.UID)
	if !o.OK() || !strings.HasPrefix(o.Result.Version, "2.57") {
		t.Fatalf("session info from snapd's agent: %+v (%v)", o.Result, o.Err)
	}

	start, err := cl.ServicesStart(ctx, target, []string{a}, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := start.Err(); err != nil {
		t.Fatalf("start through snapd's agent: %v", err)
	}
	if st := unitState(t, s, a); st != "active" {
		t.Fatalf("%s is %q after start through snapd's agent", a, st)
	}
	// snapd 2.57's agent would ignore "disable" and only stop: the client asks
	// session-info first and sends nothing it would ignore.
	sd, err := cl.ServicesStop(ctx, target, []string{a}, true)
	if err != nil {
		t.Fatal(err)
	}
	if o := outcomeOf(t, sd, s.UID); o.Kind() != client.KindUnsupported || !strings.Contains(o.Err.Error(), `version "2.57`) {
		t.Errorf("stop --disable through snapd 2.57's agent: %v (%s)", o.Err, o.Kind())
	}
	if st := unitState(t, s, a); st != "active" {
		t.Errorf("%s is %q after a refused stop --disable", a, st)
	}
	stop, err := cl.ServicesStop(ctx, target, []string{a}, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := stop.Err(); err != nil {
		t.Fatalf("stop through snapd's agent: %v", err)
	}
	if st := unitState(t, s, a); st != "inactive" {
		t.Fatalf("%s is %q after stop through snapd's agent", a, st)
	}

	// A failing start decodes into per-unit failures; snapd stops what it started.
	res, err := cl.ServicesStart(ctx, target, []string{a, bad}, false)
	if err != nil {
		t.Fatal(err)
	}
	o2 := outcomeOf(t, res, s.UID)
	ae, ok := client.AsAgentError(o2.Err)
	if !ok || ae.AgentKind != wire.ErrorKindServiceControl || ae.Status != http.StatusInternalServerError ||
		ae.Failures[wire.StartErrorsKey][bad] == "" || len(ae.Failures[wire.StartErrorsKey]) != 1 {
		t.Fatalf("failing start through snapd's agent: %v (%+v)", o2.Err, ae)
	}
	if st := unitState(t, s, a); st != "inactive" {
		t.Errorf("%s is %q after snapd's agent undid the failed start", a, st)
	}

	// snapd 2.57 knows no "restart": an agent error with its message, no kind.
	rr, err := cl.ServicesRestart(ctx, target, []string{a}, false)
	if err != nil {
		t.Fatal(err)
	}
	o3 := outcomeOf(t, rr, s.UID)
	ae, ok = client.AsAgentError(o3.Err)
	if !ok || ae.Status != http.StatusBadRequest || ae.Message != "unknown action restart" || ae.AgentKind != "" {
		t.Errorf("unknown action through snapd's agent: %v (%+v)", o3.Err, ae)
	}

	// Nor service-status: its 404 is an agent error too, not an invalid response.
	sts, err := cl.ServiceStatus(ctx, target, []string{a})
	if err != nil {
		t.Fatal(err)
	}
	o4 := outcomeOf(t, sts, s.UID)
	if ae, ok := client.AsAgentError(o4.Err); !ok || ae.Status != http.StatusNotFound || ae.Message == "" {
		t.Errorf("service-status through snapd's agent: %v (%s)", o4.Err, o4.Kind())
	}

	dr, err := cl.ServicesDaemonReload(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	if err := dr.Err(); err != nil {
		t.Errorf("daemon-reload through snapd's agent: %v", err)
	}
}

// The shapes snapd's client (usersession/client) sends and decodes, copied here field
// for field, for the requests that the snapd module the Go proxy serves (October 2020)
// does not have yet: enable, disable, restart, reload and service-status. The others
// are sent by snapd's own client in tests/snapdcompat.
type (
	snapdServiceInstruction struct {
		Action   string   `json:"action"`
		Services []string `json:"services,omitempty"`
		Enable   bool     `json:"enable,omitempty"`
		Disable  bool     `json:"disable,omitempty"`
		Reload   bool     `json:"reload,omitempty"`
	}
	snapdResponse struct {
		Result json.RawMessage `json:"result"`
		Type   string          `json:"type"`
	}
	snapdError struct {
		Kind    string `json:"kind"`
		Value   any    `json:"value"`
		Message string `json:"message"`
	}
	snapdServiceUnitStatus struct {
		Daemon           string   `json:"daemon"`
		Id               string   `json:"id"`
		Name             string   `json:"name"`
		Names            []string `json:"names"`
		Enabled          bool     `json:"enabled"`
		Active           bool     `json:"active"`
		Installed        bool     `json:"installed"`
		NeedDaemonReload bool     `json:"needs-reload"`
	}
)

// snapdAnswer is what snapd's client makes of one agent's answer.
type snapdAnswer struct {
	status int
	resp   snapdResponse
	err    *snapdError // set for {"type":"error"} answers
	raw    []byte
}

// snapdRequest sends a request as snapd's client does: the uid as the URL's host, the
// query encoded by url.Values, a new connection per request, and the answer decoded
// into snapd's envelope, failing the test where snapd's client would fail to decode.
func snapdRequest(t *testing.T, s *usersessiontest.Session, method, path string, query url.Values, body any) snapdAnswer {
	t.Helper()
	var headers map[string]string
	var data []byte
	if body != nil {
		headers = map[string]string{"Content-Type": "application/json"}
		var err error
		if data, err = json.Marshal(body); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	sock := s.AgentSocket()
	hc := &http.Client{Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
	}}
	u := url.URL{Scheme: "http", Host: fmt.Sprint(s.UID), Path: path, RawQuery: query.Encode()}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewBuffer(data))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u.String(), err)
	}
	defer resp.Body.Close()
	a := snapdAnswer{status: resp.StatusCode}
	if a.raw, err = io.ReadAll(resp.Body); err != nil {
		t.Fatal(err)
	}
	if err := json.NewDecoder(bytes.NewReader(a.raw)).Decode(&a.resp); err != nil {
		t.Fatalf("%s %s: snapd's client cannot decode %q: %v", method, path, a.raw, err)
	}
	if a.resp.Type == "error" {
		var e snapdError
		if err := json.Unmarshal(a.resp.Result, &e); err != nil || e.Message == "" {
			// snapd's client would report only "server error: ..." here.
			t.Fatalf("%s %s: error without a message snapd's client can read: %s", method, path, a.raw)
		}
		a.err = &e
	}
	return a
}

// snapdFailures decodes one per-unit map of an error's value as snapd's
// decodeServiceErrors does; ok is false where snapd's client would fail.
func snapdFailures(value any, key string) (failures map[string]string, ok bool) {
	m, isMap := value.(map[string]any)
	if !isMap {
		return nil, false
	}
	if m[key] == nil {
		return nil, true
	}
	errs, isMap := m[key].(map[string]any)
	if !isMap {
		return nil, false
	}
	failures = map[string]string{}
	for unit, reason := range errs {
		s, isString := reason.(string)
		if !isString {
			return nil, false
		}
		failures[unit] = s
	}
	return failures, true
}

func TestSnapdClientRequestsAgainstOurAgent(t *testing.T) {
	t.Parallel()
	const (
		a       = "snap.compat.a.service"
		b       = "snap.compat.b.service"
		missing = "snap.compat.missing.service"
	)
	s := servicesSession(t, map[string]string{a: markedUnit("a", false), b: markedUnit("b", false)})

	// ServicesStart with Enable.
	r := snapdRequest(t, s, "POST", "/v1/service-control", nil, snapdServiceInstruction{Action: "start", Services: []string{a, b}, Enable: true})
	if r.status != 200 || r.resp.Type != "sync" || r.err != nil {
		t.Fatalf("start as snapd sends it: %d %s", r.status, r.raw)
	}
	for _, u := range []string{a, b} {
		if st, en := unitState(t, s, u), isEnabled(s, u); st != "active" || en != "enabled" {
			t.Errorf("%s is %s and %s after start with enable", u, st, en)
		}
	}

	// ServiceStatus: services=a,b joined by commas, which url.Values encodes as %2C.
	q := url.Values{}
	q.Add("services", strings.Join([]string{a, b, missing}, ","))
	r = snapdRequest(t, s, "GET", "/v1/service-status", q, nil)
	var sts []snapdServiceUnitStatus
	if r.status != 200 || r.resp.Type != "sync" || json.Unmarshal(r.resp.Result, &sts) != nil || len(sts) != 3 {
		t.Fatalf("service-status as snapd asks it: %d %s", r.status, r.raw)
	}
	for i, u := range []string{a, b} {
		if st := sts[i]; st.Id != u || st.Name != u || st.Daemon != "simple" || !st.Active || !st.Enabled || !st.Installed || st.NeedDaemonReload {
			t.Errorf("status of %s in snapd's shape: %+v", u, st)
		}
	}
	if st := sts[2]; st.Name != missing || st.Installed || st.Active {
		t.Errorf("status of a missing unit in snapd's shape: %+v", st)
	}

	// ServicesRestart with Reload (neither unit can reload: both restart).
	pid := mainPID(t, s, a)
	r = snapdRequest(t, s, "POST", "/v1/service-control", nil, snapdServiceInstruction{Action: "restart", Services: []string{a}, Reload: true})
	if r.status != 200 || r.resp.Type != "sync" {
		t.Fatalf("restart as snapd sends it: %d %s", r.status, r.raw)
	}
	if p := mainPID(t, s, a); p == 0 || p == pid {
		t.Errorf("%s was not restarted (pid %d -> %d)", a, pid, p)
	}

	// ServicesStop with Disable.
	r = snapdRequest(t, s, "POST", "/v1/service-control", nil, snapdServiceInstruction{Action: "stop", Services: []string{a, b}, Disable: true})
	if r.status != 200 || r.resp.Type != "sync" {
		t.Fatalf("stop as snapd sends it: %d %s", r.status, r.raw)
	}
	for _, u := range []string{a, b} {
		if st, en := unitState(t, s, u), isEnabled(s, u); st != "inactive" || en != "disabled" {
			t.Errorf("%s is %s and %s after stop with disable", u, st, en)
		}
	}

	// A failing restart: restart-errors, which snapd's client reads first.
	r = snapdRequest(t, s, "POST", "/v1/service-control", nil, snapdServiceInstruction{Action: "restart", Services: []string{missing}})
	if r.status != 500 || r.err == nil || r.err.Kind != "service-control" {
		t.Fatalf("failing restart: %d %s", r.status, r.raw)
	}
	if f, ok := snapdFailures(r.err.Value, "restart-errors"); !ok || len(f) != 1 || f[missing] == "" {
		t.Errorf("restart-errors of a failing restart: %s", r.raw)
	}

	// An action the agent does not know: an error snapd's client can read.
	r = snapdRequest(t, s, "POST", "/v1/service-control", nil, snapdServiceInstruction{Action: "frobnicate", Services: []string{a}})
	if r.status != 400 || r.err == nil || !strings.Contains(r.err.Message, "frobnicate") {
		t.Errorf("unknown action: %d %s", r.status, r.raw)
	}
}
