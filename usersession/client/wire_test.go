package client_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/snapcore-ng/usersession-agent/sessionagent"
	"github.com/snapcore-ng/usersession-agent/usersession/client"
	"github.com/snapcore-ng/usersession-agent/usersession/client/clienttest"
	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

// selfAgent serves, from this process, the agent of this process's own uid (serve
// starts it on the socket): the identity check passes without root.
func selfAgent(t *testing.T, serve func(f *clienttest.Fleet, socket string)) (*client.Client, int) {
	t.Helper()
	f := clienttest.NewFleet(t)
	uid := os.Getuid()
	_, socket := f.UserDir(uid)
	serve(f, socket)
	return client.New(client.Options{RuntimeDir: f.Base, HeaderTimeout: 2 * time.Second, Timeout: 3 * time.Second}), uid
}

// handler serves h.
func handler(h http.Handler) func(*clienttest.Fleet, string) {
	return func(f *clienttest.Fleet, socket string) { f.ServeInProcess(socket, h) }
}

// realAgent serves the real agent with cfg (see clienttest.AgentConfig).
func realAgent(cfg sessionagent.Config) func(*clienttest.Fleet, string) {
	return func(f *clienttest.Fleet, socket string) { f.ServeAgent(socket, cfg) }
}

// agentOf serves the agent of a clienttest behaviour: the real one, or a hand-written
// one.
func agentOf(behaviour string) func(*clienttest.Fleet, string) {
	if behaviour == clienttest.Real {
		return realAgent(sessionagent.Config{})
	}
	return handler(clienttest.Handler(behaviour, nil))
}

func only[T any](t *testing.T, res *client.Results[T], err error) client.Outcome[T] {
	t.Helper()
	if err != nil {
		t.Fatalf("call refused: %v", err)
	}
	if len(res.Outcomes) != 1 {
		t.Fatalf("want 1 outcome, got %+v", res.Outcomes)
	}
	return res.Outcomes[0]
}

func TestSessionInfoFromThisProjectsAndSnapdsAgents(t *testing.T) {
	for _, tc := range []struct {
		behaviour string
		version   string
		withUID   bool
	}{
		{clienttest.Real, clienttest.AgentVersion, true},
		{clienttest.Snapd, "2.63", false},
	} {
		t.Run(tc.behaviour, func(t *testing.T) {
			c, uid := selfAgent(t, agentOf(tc.behaviour))
			res, err := c.SessionInfo(t.Context(), client.AllSessions())
			o := only(t, res, err)
			if !o.OK() || o.UID != uid || o.Kind() != client.KindOK {
				t.Fatalf("unexpected outcome %+v", o)
			}
			if o.Result.Version != tc.version || (o.Result.UID != nil) != tc.withUID {
				t.Errorf("unexpected session info %+v", o.Result)
			}
			if res.Err() != nil || len(res.Failed()) != 0 || len(res.Succeeded()) != 1 {
				t.Errorf("aggregates disagree: %v", res.Err())
			}
		})
	}
}

func TestServiceControlNullResultAndPerUnitFailures(t *testing.T) {
	for _, behaviour := range []string{clienttest.Real, clienttest.Snapd, clienttest.Snapd257} {
		t.Run(behaviour, func(t *testing.T) {
			c, uid := selfAgent(t, agentOf(behaviour))
			ctx := t.Context()

			// snapd 2.57's agent would ignore disable: the client does not send it.
			res, err := c.ServicesStop(ctx, client.UIDs(uid), []string{"a.service", "stubborn.service"}, true)
			o := only(t, res, err)
			if behaviour == clienttest.Snapd257 {
				var ue *client.UnsupportedError
				if !errors.As(o.Err, &ue) || ue.Option != "disable" || ue.Version != "2.57.6" || o.Kind() != client.KindUnsupported {
					t.Fatalf("stop --disable through snapd 2.57: %v", o.Err)
				}
				res, err = c.ServicesStop(ctx, client.UIDs(uid), []string{"a.service", "stubborn.service"}, false)
				o = only(t, res, err)
			}
			if !o.OK() {
				t.Fatalf("stop failed: %v", o.Err)
			}
			wantKilled := []string{"stubborn.service"}
			if behaviour != clienttest.Real {
				wantKilled = nil // snapd answers null
			}
			if !reflect.DeepEqual(o.Result.Killed, wantKilled) {
				t.Errorf("killed = %v, want %v", o.Result.Killed, wantKilled)
			}

			res, err = c.ServicesStart(ctx, client.UIDs(uid), []string{"ok.service", "fail-1.service", "fail-2.service"}, false)
			o = only(t, res, err)
			ae, ok := client.AsAgentError(o.Err)
			if !ok {
				t.Fatalf("want an agent error, got %v", o.Err)
			}
			wantKind := wire.ErrorKindServiceControl
			if behaviour == clienttest.Snapd257 {
				wantKind = ""
			}
			if ae.AgentKind != wantKind || ae.Status != http.StatusInternalServerError || o.Kind() != client.KindAgentError {
				t.Errorf("unexpected agent error %+v", ae)
			}
			if got := ae.FailedUnits(); !reflect.DeepEqual(got, []string{"fail-1.service", "fail-2.service"}) {
				t.Errorf("failed units = %v", got)
			}
			if got := ae.Failures[wire.StartErrorsKey]["fail-2.service"]; got != "cannot start fail-2.service: fake failure" {
				t.Errorf("failure reason = %q", got)
			}
			msg := o.Err.Error()
			for _, want := range []string{"cannot start units for uid", "fail-1.service: cannot start fail-1.service: fake failure"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not contain %q", msg, want)
				}
			}
		})
	}
}

func TestServiceStatusAndItsPerUnitErrors(t *testing.T) {
	c, uid := selfAgent(t, agentOf(clienttest.Real))
	res, err := c.ServiceStatus(t.Context(), client.UIDs(uid), []string{"a.service", "b.service"})
	o := only(t, res, err)
	if !o.OK() || len(o.Result) != 2 || o.Result[1].Name != "b.service" || !o.Result[0].Active {
		t.Fatalf("unexpected status outcome %+v", o)
	}
	res, err = c.ServiceStatus(t.Context(), client.UIDs(uid), []string{"a.service", "fail.service"})
	o = only(t, res, err)
	ae, ok := client.AsAgentError(o.Err)
	if !ok || ae.AgentKind != wire.ErrorKindServiceStatus || ae.Failures[wire.StatusErrorsKey]["fail.service"] == "" {
		t.Fatalf("want a service-status error naming fail.service, got %v", o.Err)
	}
}

func TestKillAppsAndNotificationsAndExit(t *testing.T) {
	c, uid := selfAgent(t, agentOf(clienttest.Snapd))
	ctx := t.Context()
	kill, err := c.KillApps(ctx, client.UIDs(uid), []string{"foo", "bar_x"}, 9)
	if o := only(t, kill, err); !o.OK() || len(o.Result.Scopes["bar_x"]) != 1 {
		t.Fatalf("unexpected kill outcome %+v", o)
	}
	kill, err = c.KillApps(ctx, client.UIDs(uid), []string{"failing"}, 9)
	if ae, ok := client.AsAgentError(only(t, kill, err).Err); !ok || ae.Failures[wire.KillErrorsKey]["failing"] == "" {
		t.Fatalf("want kill-errors for failing, got %v", ae)
	}
	pending, err := c.PendingRefreshNotification(ctx, client.UIDs(uid), wire.PendingRefreshInfo{InstanceName: "foo", TimeRemaining: time.Hour, BusyAppName: "foo"})
	if o := only(t, pending, err); !o.OK() {
		t.Fatalf("pending-refresh: %v", o.Err)
	}
	finish, err := c.FinishRefreshNotification(ctx, client.UIDs(uid), wire.FinishRefreshInfo{InstanceName: "foo"})
	if o := only(t, finish, err); !o.OK() {
		t.Fatalf("finish-refresh: %v", o.Err)
	}
	exit, err := c.AgentExit(ctx, client.UIDs(uid))
	if o := only(t, exit, err); !o.OK() {
		t.Fatalf("agent-exit: %v", o.Err)
	}
}

func TestNotificationBodiesAreSnapds(t *testing.T) {
	got := make(chan string, 1)
	c, uid := selfAgent(t, handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b strings.Builder
		b.WriteString(r.Method + " " + r.URL.Path + " ")
		buf := make([]byte, 1024)
		n, _ := r.Body.Read(buf)
		b.Write(buf[:n])
		got <- b.String()
		w.Write([]byte(`{"type":"sync","result":null}`))
	})))
	res, err := c.PendingRefreshNotification(t.Context(), client.UIDs(uid), wire.PendingRefreshInfo{
		InstanceName: "foo", TimeRemaining: 2 * time.Second, BusyAppName: "foo-app", BusyAppDesktopEntry: "foo_app",
	})
	if o := only(t, res, err); !o.OK() {
		t.Fatal(o.Err)
	}
	want := `POST /v1/notifications/pending-refresh {"instance-name":"foo","time-remaining":2000000000,"busy-app-name":"foo-app","busy-app-desktop-entry":"foo_app"}`
	if s := <-got; s != want {
		t.Errorf("request\n got %s\nwant %s", s, want)
	}
}

func TestInvalidAnswersAreTypedAndNameTheUID(t *testing.T) {
	for _, tc := range []struct {
		name string
		body string
		code int
		kind client.Kind
	}{
		{"not json", `<html>`, 200, client.KindInvalidResponse},
		{"wrong envelope type", `{"type":"async","change":"1"}`, 202, client.KindInvalidResponse},
		{"no type", `{"result":{"version":"1"}}`, 200, client.KindInvalidResponse},
		{"sync with error status", `{"type":"sync","result":null}`, 500, client.KindInvalidResponse},
		{"error result not an object", `{"type":"error","result":"oops"}`, 500, client.KindInvalidResponse},
		{"result of the wrong shape", `{"type":"sync","result":"1.0"}`, 200, client.KindInvalidResponse},
		{"trailing garbage", `{"type":"sync","result":null} x`, 200, client.KindInvalidResponse},
		{"snapd 2.57 error without kind", `{"type":"error","result":{"message":"boom"}}`, 500, client.KindAgentError},
		{"error with a non-map value", `{"type":"error","result":{"message":"boom","kind":"k","value":"v"}}`, 400, client.KindAgentError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, uid := selfAgent(t, handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.code)
				w.Write([]byte(tc.body))
			})))
			res, err := c.SessionInfo(t.Context(), client.UIDs(uid))
			o := only(t, res, err)
			if o.Kind() != tc.kind {
				t.Fatalf("kind = %s, want %s (%v)", o.Kind(), tc.kind, o.Err)
			}
			var se *client.SessionError
			if !errors.As(o.Err, &se) || se.UID != uid || !strings.Contains(o.Err.Error(), "uid ") {
				t.Errorf("error does not name the uid: %v", o.Err)
			}
			if ae, ok := client.AsAgentError(o.Err); ok && (ae.Message != "boom" || ae.Failures != nil) {
				t.Errorf("unexpected agent error %+v", ae)
			}
		})
	}
}

func TestRedirectsAreNotFollowed(t *testing.T) {
	c, uid := selfAgent(t, agentOf(clienttest.Redirect))
	res, err := c.SessionInfo(t.Context(), client.UIDs(uid))
	o := only(t, res, err)
	var ie *client.InvalidResponseError
	if !errors.As(o.Err, &ie) || ie.Status != http.StatusFound {
		t.Fatalf("want an invalid 302 answer, got %v", o.Err)
	}
}

func TestResponseCapIsExactAndTyped(t *testing.T) {
	body := `{"type":"sync","result":{"version":"` + strings.Repeat("v", 1000) + `"}}`
	for _, tc := range []struct {
		limit   int64
		chunked bool
		tooBig  bool
	}{
		{int64(len(body)), false, false},
		{int64(len(body)) - 1, false, true},
		{int64(len(body)), true, false},
		{int64(len(body)) - 1, true, true},
	} {
		f := clienttest.NewFleet(t)
		uid := os.Getuid()
		_, socket := f.UserDir(uid)
		f.ServeInProcess(socket, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !tc.chunked {
				w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			}
			w.Write([]byte(body))
		}))
		c := client.New(client.Options{RuntimeDir: f.Base, MaxResponseSize: tc.limit})
		res, err := c.SessionInfo(t.Context(), client.UIDs(uid))
		o := only(t, res, err)
		if client.IsTooLarge(o.Err) != tc.tooBig || (!tc.tooBig && !o.OK()) {
			t.Errorf("limit %d chunked %v: got %v", tc.limit, tc.chunked, o.Err)
		}
		if tc.tooBig && o.Kind() != client.KindInvalidResponse {
			t.Errorf("too large answer is %s", o.Kind())
		}
	}
}

func TestCallerCancellationEndsEveryCall(t *testing.T) {
	c, uid := selfAgent(t, agentOf(clienttest.Hang))
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	res, err := c.SessionInfo(ctx, client.UIDs(uid))
	o := only(t, res, err)
	if elapsed := time.Since(start); elapsed > 300*time.Millisecond+time.Second {
		t.Errorf("call outlived the caller's deadline: %v", elapsed)
	}
	var te *client.TimeoutError
	if !errors.As(o.Err, &te) || te.Phase != client.PhaseHeaders || te.Limit > 400*time.Millisecond {
		t.Fatalf("want a headers timeout at the caller's deadline, got %v", o.Err)
	}
}

func TestArgumentsAreCheckedBeforeAnyCall(t *testing.T) {
	c := client.New(client.Options{RuntimeDir: t.TempDir()})
	ctx := t.Context()
	if _, err := c.ServicesStop(ctx, client.AllSessions(), nil, false); err == nil || !strings.Contains(err.Error(), "cannot stop units: no units given") {
		t.Errorf("no units: %v", err)
	}
	if _, err := c.ServiceStatus(ctx, client.AllSessions(), []string{"a,b"}); err == nil {
		t.Errorf("comma in unit name accepted")
	}
	if _, err := c.KillApps(ctx, client.UIDs(-1), []string{"foo"}, 0); err == nil {
		t.Errorf("negative uid accepted")
	}
	if _, err := c.FinishRefreshNotification(ctx, client.AllSessions(), wire.FinishRefreshInfo{}); err == nil {
		t.Errorf("empty instance name accepted")
	}
}
