package control_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/snapcore-ng/usersession-agent/internal/apierror"
	"github.com/snapcore-ng/usersession-agent/sessionagent/control"
	"github.com/snapcore-ng/usersession-agent/systemd"
	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

var errBoom = errors.New("boom")

func asError(t *testing.T, err error) *apierror.Error {
	t.Helper()
	var cerr *apierror.Error
	if !errors.As(err, &cerr) {
		t.Fatalf("want an *apierror.Error, got %T %v", err, err)
	}
	return cerr
}

func TestControl(t *testing.T) {
	const a, b, c = "snap.foo.a.service", "snap.foo.b.service", "snap.foo.c.service"
	for _, tc := range []struct {
		name   string
		inst   wire.ServiceInstruction
		fake   *fakeManager
		calls  []string
		result *wire.ServiceControlResult
		kind   string
		// timedOut: the error says the manager did not answer in time (504).
		timedOut bool
		msg      string
		value    any
	}{{
		name:   "start in order",
		inst:   wire.ServiceInstruction{Action: "start", Services: []string{a, b, c}},
		calls:  []string{"start " + a, "start " + b, "start " + c},
		result: &wire.ServiceControlResult{},
	}, {
		name:   "no suffix means service",
		inst:   wire.ServiceInstruction{Action: "start", Services: []string{"snap.foo.a", "snap.foo.sock.socket", "snap.foo_x1.t.timer"}},
		calls:  []string{"start " + a, "start snap.foo.sock.socket", "start snap.foo_x1.t.timer"},
		result: &wire.ServiceControlResult{},
	}, {
		name:   "start with enable",
		inst:   wire.ServiceInstruction{Action: "start", Services: []string{a, b}, Enable: true},
		calls:  []string{"enable " + a + " " + b, "daemon-reload", "start " + a, "start " + b},
		result: &wire.ServiceControlResult{},
	}, {
		name:  "a failed start stops what was started, in reverse, and disables",
		inst:  wire.ServiceInstruction{Action: "start", Services: []string{a, b, "snap.foo.c", "snap.foo.d"}, Enable: true},
		fake:  &fakeManager{fail: map[string]error{"start " + c: errBoom, "stop " + a: errors.New("stuck")}},
		calls: []string{"enable " + a + " " + b + " " + c + " snap.foo.d.service", "daemon-reload", "start " + a, "start " + b, "start " + c, "stop " + b, "stop " + a, "disable " + a + " " + b + " " + c + " snap.foo.d.service", "daemon-reload"},
		kind:  "service-control", msg: "some user services failed to start",
		value: map[string]any{"start-errors": map[string]string{"snap.foo.c": "boom"}, "stop-errors": map[string]string{a: "stuck"}},
	}, {
		name:  "a failed enable starts nothing",
		inst:  wire.ServiceInstruction{Action: "start", Services: []string{a}, Enable: true},
		fake:  &fakeManager{fail: map[string]error{"enable " + a: errBoom}},
		calls: []string{"enable " + a},
		kind:  "service-control", msg: "cannot enable user services",
	}, {
		// b may still run: it keeps its enablement (see Control).
		name:  "stop all, continuing past failures, with disable of those stopped",
		inst:  wire.ServiceInstruction{Action: "stop", Services: []string{a, b, c}, Disable: true},
		fake:  &fakeManager{fail: map[string]error{"stop " + b: errBoom}, killed: map[string]bool{c: true}},
		calls: []string{"stop " + a, "stop " + b, "stop " + c, "disable " + a + " " + c, "daemon-reload"},
		kind:  "service-control", msg: "some user services failed to stop",
		value: map[string]any{"stop-errors": map[string]string{b: "boom"}, "killed": []string{c}},
	}, {
		name:   "a unit that is not loaded is stopped",
		inst:   wire.ServiceInstruction{Action: "stop", Services: []string{a, "snap.foo.b"}},
		fake:   &fakeManager{fail: map[string]error{"stop " + b: fmt.Errorf("cannot stop %q: %w", b, systemd.ErrNoSuchUnit)}},
		calls:  []string{"stop " + a, "stop " + b},
		result: &wire.ServiceControlResult{NotLoaded: []string{"snap.foo.b"}},
	}, {
		name: "with disable, a unit without a file has nothing to disable",
		inst: wire.ServiceInstruction{Action: "stop", Services: []string{a, b}, Disable: true},
		fake: &fakeManager{fail: map[string]error{
			"stop " + b:              systemd.ErrNoSuchUnit,
			"disable " + a + " " + b: systemd.ErrNoSuchUnit,
			"disable " + b:           systemd.ErrNoSuchUnit,
		}},
		calls:  []string{"stop " + a, "stop " + b, "disable " + a + " " + b, "disable " + a, "disable " + b, "daemon-reload"},
		result: &wire.ServiceControlResult{NotLoaded: []string{b}},
	}, {
		name: "a unit not loaded does not hide a failed disable",
		inst: wire.ServiceInstruction{Action: "stop", Services: []string{a, b}, Disable: true},
		fake: &fakeManager{fail: map[string]error{
			"stop " + b:              systemd.ErrNoSuchUnit,
			"disable " + a + " " + b: systemd.ErrNoSuchUnit,
			"disable " + a:           errBoom,
		}},
		calls: []string{"stop " + a, "stop " + b, "disable " + a + " " + b, "disable " + a},
		kind:  "service-control", msg: "cannot disable user services: boom",
		value: map[string]any{"not-loaded": []string{b}},
	}, {
		name:  "nothing stopped, nothing disabled",
		inst:  wire.ServiceInstruction{Action: "stop", Services: []string{a}, Disable: true},
		fake:  &fakeManager{fail: map[string]error{"stop " + a: errBoom}},
		calls: []string{"stop " + a},
		kind:  "service-control", msg: "some user services failed to stop",
		value: map[string]any{"stop-errors": map[string]string{a: "boom"}},
	}, {
		name:   "stop says what was killed",
		inst:   wire.ServiceInstruction{Action: "stop", Services: []string{a, b}},
		fake:   &fakeManager{killed: map[string]bool{b: true}},
		calls:  []string{"stop " + a, "stop " + b},
		result: &wire.ServiceControlResult{Killed: []string{b}},
	}, {
		name:  "restart continues past failures",
		inst:  wire.ServiceInstruction{Action: "restart", Services: []string{a, b}},
		fake:  &fakeManager{fail: map[string]error{"restart " + a: errBoom}},
		calls: []string{"restart " + a, "restart " + b},
		kind:  "service-control", msg: "some user services failed to restart",
		value: map[string]any{"restart-errors": map[string]string{a: "boom"}},
	}, {
		name:   "restart with reload",
		inst:   wire.ServiceInstruction{Action: "restart", Services: []string{a}, Reload: true},
		calls:  []string{"reload-or-restart " + a},
		result: &wire.ServiceControlResult{},
	}, {
		name:   "snapd's old reload-or-restart action",
		inst:   wire.ServiceInstruction{Action: "reload-or-restart", Services: []string{a}},
		calls:  []string{"reload-or-restart " + a},
		result: &wire.ServiceControlResult{},
	}, {
		name:   "daemon-reload",
		inst:   wire.ServiceInstruction{Action: "daemon-reload"},
		calls:  []string{"daemon-reload"},
		result: &wire.ServiceControlResult{},
	}, {
		name: "daemon-reload takes no services",
		inst: wire.ServiceInstruction{Action: "daemon-reload", Services: []string{a}},
		kind: "bad-request", msg: "daemon-reload takes no services",
	}, {
		name: "unknown action",
		inst: wire.ServiceInstruction{Action: "explode", Services: []string{a}},
		kind: "bad-request", msg: `unknown action "explode"`,
	}, {
		name: "enable with stop",
		inst: wire.ServiceInstruction{Action: "stop", Services: []string{a}, Enable: true},
		kind: "bad-request", msg: "enable is only valid with start, not stop",
	}, {
		name: "a bad name anywhere changes nothing",
		inst: wire.ServiceInstruction{Action: "start", Services: []string{a, "snap.foo.*.service", b}},
		kind: "bad-request", msg: `invalid service name "snap.foo.*.service": contains the glob character '*'`,
	}, {
		name: "every bad name is named",
		inst: wire.ServiceInstruction{Action: "stop", Services: []string{"--now", "", "ssh.service", "snap.foo.x.mount", "snap.foo.t@.service", "snap.Foo.a.service", "snap/foo.a.service", "snap.foo.service"}},
		kind: "bad-request",
		msg: `invalid service names "--now": starts with '-'; "": empty; "ssh.service": not a snap unit (no "snap." prefix); ` +
			`"snap.foo.x.mount": a mount unit, not a service, socket or timer; "snap.foo.t@.service": a template, name one of its instances; ` +
			`"snap.Foo.a.service": not a snap unit: invalid snap name "Foo": only lowercase letters, digits and dashes are allowed; ` +
			`"snap/foo.a.service": contains '/'; "snap.foo.service": not a snap unit (not snap.<snap>.<app>.<type>)`,
	}, {
		name: "a start that runs out of time is a manager timeout",
		inst: wire.ServiceInstruction{Action: "start", Services: []string{a, b}},
		fake: &fakeManager{hang: map[string]bool{"start " + b: true}},
		// b's start job may still run: it is stopped too.
		calls: []string{"start " + a, "start " + b, "stop " + b, "stop " + a},
		// Kind service-control, where snapd's client reads the per-unit errors.
		timedOut: true, kind: "service-control", msg: "some user services failed to start: the systemd manager did not answer in time",
	}, {
		name:     "a manager-wide call that runs out of time is a manager timeout",
		inst:     wire.ServiceInstruction{Action: "daemon-reload"},
		fake:     &fakeManager{hang: map[string]bool{"daemon-reload": true}},
		calls:    []string{"daemon-reload"},
		timedOut: true, kind: "systemd-timeout", msg: "cannot reload the user's systemd manager: the systemd manager did not answer in time",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), time.Second)
			defer cancel()
			if tc.fake == nil {
				tc.fake = &fakeManager{}
			}
			s := control.New(tc.fake)
			res, err := s.Control(ctx, tc.inst)
			if got := tc.fake.Calls(); !sameCalls(got, tc.calls, tc.inst.Action == "stop") {
				t.Errorf("calls:\n got %q\nwant %q", got, tc.calls)
			}
			if tc.kind == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				if !reflect.DeepEqual(res, tc.result) {
					t.Errorf("result %+v, want %+v", res, tc.result)
				}
				return
			}
			cerr := asError(t, err)
			if timedOut := errors.Is(cerr, apierror.ErrTimeout); timedOut != tc.timedOut || cerr.Kind != tc.kind || cerr.Message != tc.msg {
				t.Errorf("got %s %q (timed out: %v)\nwant %s %q (timed out: %v)", cerr.Kind, cerr.Message, timedOut, tc.kind, tc.msg, tc.timedOut)
			}
			if tc.value != nil && !reflect.DeepEqual(cerr.Value, tc.value) {
				t.Errorf("value %#v\nwant %#v", cerr.Value, tc.value)
			}
		})
	}
}

// sameCalls compares call lists; stops run concurrently, so for them the order of
// the leading stop calls does not matter.
func sameCalls(got, want []string, stopsUnordered bool) bool {
	if len(got) != len(want) {
		return false
	}
	if !stopsUnordered {
		return reflect.DeepEqual(got, want)
	}
	count := map[string]int{}
	for _, g := range got {
		count[g]++
	}
	for _, w := range want {
		count[w]--
	}
	for _, n := range count {
		if n != 0 {
			return false
		}
	}
	// Whatever follows the stops keeps its order.
	for i := range got {
		if !strings.HasPrefix(want[i], "stop ") && got[i] != want[i] {
			return false
		}
	}
	return true
}

func TestStatus(t *testing.T) {
	fake := &fakeManager{status: map[string]systemd.UnitStatus{
		"snap.foo.a.service": {ID: "snap.foo.a.service", Names: []string{"snap.foo.a.service"}, LoadState: "loaded", ActiveState: "active", SubState: "running", UnitFileState: "enabled", Type: "notify", MainPID: 42},
		"snap.foo.b.socket":  {ID: "snap.foo.b.socket", Names: []string{"snap.foo.b.socket"}, LoadState: "loaded", ActiveState: "failed", SubState: "failed", UnitFileState: "static", NeedDaemonReload: true},
	}}
	got, err := control.New(fake).Status(t.Context(), []string{"snap.foo.a", "snap.foo.b.socket", "snap.foo.gone.service"})
	if err != nil {
		t.Fatal(err)
	}
	want := []wire.ServiceUnitStatus{
		{Daemon: "notify", ID: "snap.foo.a.service", Name: "snap.foo.a", Names: []string{"snap.foo.a.service"}, Enabled: true, Active: true, Installed: true, ActiveState: "active", SubState: "running", LoadState: "loaded", MainPID: 42},
		{ID: "snap.foo.b.socket", Name: "snap.foo.b.socket", Names: []string{"snap.foo.b.socket"}, Enabled: true, Installed: true, NeedDaemonReload: true, ActiveState: "failed", SubState: "failed", LoadState: "loaded"},
		{ID: "snap.foo.gone.service", Name: "snap.foo.gone.service", Names: []string{"snap.foo.gone.service"}, ActiveState: "inactive", SubState: "dead", LoadState: "not-found"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if got := fake.Calls(); len(got) != 1 {
		t.Errorf("want one status call, got %q", got)
	}

	fake.fail = map[string]error{"status snap.foo.a.service": errBoom}
	_, err = control.New(fake).Status(t.Context(), []string{"snap.foo.a.service"})
	cerr := asError(t, err)
	if cerr.Kind != "service-status" || !reflect.DeepEqual(cerr.Value, map[string]any{"status-errors": map[string]string{"snap.foo.a.service": "boom"}}) {
		t.Errorf("got %+v", cerr)
	}
	_, err = control.New(fake).Status(t.Context(), []string{"snap.foo.*"})
	if cerr := asError(t, err); cerr.Kind != wire.ErrorKindBadRequest {
		t.Errorf("got %+v", cerr)
	}
}

func TestKill(t *testing.T) {
	scopes := []systemd.Unit{
		{Name: "snap.foo.app-1.scope", ActiveState: "active"},
		{Name: "snap.foo.hook.configure-2.scope", ActiveState: "active"},
		{Name: "snap.foo.app-3.scope", ActiveState: "failed"},
		{Name: "snap.foo_x.app-4.scope", ActiveState: "active"},
		{Name: "snap.bar.app-5.scope", ActiveState: "active"},
		// A component's hook, the same component of a parallel instance, and a snap
		// whose name the component pattern also matches.
		{Name: `snap.foo\x2bcomp.hook.install-0b5e6c1a.scope`, ActiveState: "active"},
		{Name: `snap.foo_x\x2bcomp.hook.install-77d1c0de.scope`, ActiveState: "active"},
		{Name: "snap.foo-x2b.app-6.scope", ActiveState: "active"},
	}
	for _, tc := range []struct {
		name   string
		inst   wire.AppInstruction
		fail   map[string]error
		calls  []string
		result map[string][]string
		kind   string
		msg    string
	}{{
		name: "default SIGTERM to the live scopes of each snap",
		inst: wire.AppInstruction{Action: "kill", Snaps: []string{"foo", "foo_x", "baz"}},
		calls: []string{"list snap.foo.*.scope snap.foo?x2b*.scope", "kill 15 snap.foo.app-1.scope", "kill 15 snap.foo.hook.configure-2.scope", `kill 15 snap.foo\x2bcomp.hook.install-0b5e6c1a.scope`,
			"list snap.foo_x.*.scope snap.foo_x?x2b*.scope", "kill 15 snap.foo_x.app-4.scope", `kill 15 snap.foo_x\x2bcomp.hook.install-77d1c0de.scope`, "list snap.baz.*.scope snap.baz?x2b*.scope"},
		result: map[string][]string{"foo": {"snap.foo.app-1.scope", "snap.foo.hook.configure-2.scope", `snap.foo\x2bcomp.hook.install-0b5e6c1a.scope`},
			"foo_x": {"snap.foo_x.app-4.scope", `snap.foo_x\x2bcomp.hook.install-77d1c0de.scope`}, "baz": {}},
	}, {
		name:   "a given signal",
		inst:   wire.AppInstruction{Action: "kill", Snaps: []string{"bar"}, Signal: 9},
		calls:  []string{"list snap.bar.*.scope snap.bar?x2b*.scope", "kill 9 snap.bar.app-5.scope"},
		result: map[string][]string{"bar": {"snap.bar.app-5.scope"}},
	}, {
		name:   "a scope gone in between is no error",
		inst:   wire.AppInstruction{Action: "kill", Snaps: []string{"bar"}, Signal: 10},
		fail:   map[string]error{"kill 10 snap.bar.app-5.scope": systemd.ErrNoSuchUnit},
		calls:  []string{"list snap.bar.*.scope snap.bar?x2b*.scope", "kill 10 snap.bar.app-5.scope"},
		result: map[string][]string{"bar": {}},
	}, {
		name:  "kill errors by scope",
		inst:  wire.AppInstruction{Action: "kill", Snaps: []string{"bar"}},
		fail:  map[string]error{"kill 15 snap.bar.app-5.scope": errBoom},
		calls: []string{"list snap.bar.*.scope snap.bar?x2b*.scope", "kill 15 snap.bar.app-5.scope"},
		kind:  "app-control", msg: "cannot send SIGTERM to some snap apps",
	}, {
		name: "bad signal",
		inst: wire.AppInstruction{Action: "kill", Snaps: []string{"foo"}, Signal: 65},
		kind: "bad-request", msg: `invalid signal 65: numbers go from 1 to 64`,
	}, {
		name: "bad snap names change nothing",
		inst: wire.AppInstruction{Action: "kill", Snaps: []string{"foo", "-x", "a", "foo_", "foo_ABC", "1234", "foo--bar", "foo.*"}},
		kind: "bad-request",
		msg: `invalid snap name "-x": dashes may not lead, trail or follow each other; invalid snap name "a": must be 2 to 40 characters; ` +
			`invalid instance key "": must be 1 to 10 characters; invalid instance key "ABC": only lowercase letters and digits are allowed; ` +
			`invalid snap name "1234": must contain a letter; invalid snap name "foo--bar": dashes may not lead, trail or follow each other; ` +
			`invalid snap name "foo.*": only lowercase letters, digits and dashes are allowed`,
	}, {
		name: "unknown action",
		inst: wire.AppInstruction{Action: "freeze", Snaps: []string{"foo"}},
		kind: "bad-request", msg: `unknown action "freeze"`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			fake := &fakeManager{scopes: scopes, fail: tc.fail}
			res, err := control.New(fake).Kill(t.Context(), tc.inst)
			if got := fake.Calls(); !reflect.DeepEqual(got, tc.calls) {
				t.Errorf("calls:\n got %q\nwant %q", got, tc.calls)
			}
			if tc.kind == "" {
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(res.Scopes, tc.result) {
					t.Errorf("got %v, want %v", res.Scopes, tc.result)
				}
				return
			}
			cerr := asError(t, err)
			if cerr.Kind != tc.kind || cerr.Message != tc.msg {
				t.Errorf("got %s %q\nwant %s %q", cerr.Kind, cerr.Message, tc.kind, tc.msg)
			}
		})
	}
}

// A request stuck on a hung manager holds the manager until its deadline; a request
// waiting behind it gives up at its own deadline with a manager timeout.
func TestWaitingForTheManagerRespectsTheDeadline(t *testing.T) {
	fake := &fakeManager{hang: map[string]bool{"start snap.foo.a.service": true}}
	s := control.New(fake)
	first := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		_, err := s.Control(ctx, wire.ServiceInstruction{Action: "start", Services: []string{"snap.foo.a.service"}})
		first <- err
	}()
	time.Sleep(50 * time.Millisecond)
	// Status only reads: it does not wait for its turn.
	if _, err := s.Status(t.Context(), []string{"snap.foo.b.service"}); err != nil {
		t.Fatalf("status behind a hung start: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	_, err := s.Control(ctx, wire.ServiceInstruction{Action: "stop", Services: []string{"snap.foo.b.service"}})
	cerr := asError(t, err)
	if cerr.Kind != wire.ErrorKindManagerTimeout || time.Since(t0) > 400*time.Millisecond ||
		!strings.Contains(cerr.Message, "timed out waiting for another request") {
		t.Errorf("waiting request: %+v after %v", cerr, time.Since(t0))
	}
	if cerr := asError(t, <-first); !errors.Is(cerr, apierror.ErrTimeout) {
		t.Errorf("hung request: %+v", cerr)
	}
	// The manager is free again.
	if _, err := s.Control(t.Context(), wire.ServiceInstruction{Action: "stop", Services: []string{"snap.foo.b.service"}}); err != nil {
		t.Fatal(err)
	}
}
