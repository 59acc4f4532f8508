package control_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/snapcore-ng/usersession-agent/internal/apierror"
	"github.com/snapcore-ng/usersession-agent/internal/usersessiontest"
	"github.com/snapcore-ng/usersession-agent/sessionagent/control"
	"github.com/snapcore-ng/usersession-agent/systemd"
	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

// These tests run the instructions against a real `systemd --user`.

const (
	simpleUnit = "[Service]\nExecStart=/bin/sleep infinity\n[Install]\nWantedBy=default.target\n"
	failUnit   = "[Service]\nType=oneshot\nExecStart=/bin/false\n[Install]\nWantedBy=default.target\n"
	// The main process ignores SIGTERM (the disposition survives exec) and the
	// manager is told not to SIGKILL it: only our kill can end it.
	stubbornUnit = "[Service]\nExecStart=/bin/sh -c \"trap '' TERM; exec sleep infinity\"\nTimeoutStopSec=1\nSendSIGKILL=no\n"
)

type realSession struct {
	*usersessiontest.Session
	m   *systemd.Manager
	svc *control.Services
}

func startReal(t *testing.T, units map[string]string) *realSession {
	t.Helper()
	s := usersessiontest.Start(t, usersessiontest.Options{})
	for name, content := range units {
		s.WriteUserUnit(name, content)
	}
	m := s.Manager()
	return &realSession{Session: s, m: m, svc: control.New(m)}
}

func (r *realSession) status(t *testing.T, units ...string) []systemd.UnitStatus {
	t.Helper()
	sts, err := r.m.Status(t.Context(), units)
	if err != nil {
		t.Fatal(err)
	}
	return sts
}

func alive(pid uint32) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(int(pid)) + "/stat")
	if err != nil {
		return false
	}
	f := strings.Fields(string(data))
	return len(f) > 2 && f[2] != "Z"
}

func TestRealStartFailureRollsBack(t *testing.T) {
	t.Parallel()
	const a, b, c, d = "snap.foo.a.service", "snap.foo.b.service", "snap.foo.c.service", "snap.foo.d.service"
	r := startReal(t, map[string]string{a: simpleUnit, b: simpleUnit, c: failUnit, d: simpleUnit})
	_, err := r.svc.Control(t.Context(), wire.ServiceInstruction{Action: "start", Services: []string{a, b, c, d}, Enable: true})
	cerr := asError(t, err)
	if cerr.Kind != wire.ErrorKindServiceControl || cerr.Message != "some user services failed to start" {
		t.Fatalf("got %+v", cerr)
	}
	v := cerr.Value.(map[string]any)
	startErrs, stopErrs := v[wire.StartErrorsKey].(map[string]string), v[wire.StopErrorsKey].(map[string]string)
	if len(startErrs) != 1 || !strings.Contains(startErrs[c], `cannot start "snap.foo.c.service": job failed (unit result: exit-code, status 1)`) || len(stopErrs) != 0 {
		t.Errorf("start errors %q, stop errors %q", startErrs, stopErrs)
	}
	for _, st := range r.status(t, a, b, c, d) {
		if st.ActiveState == "active" || st.UnitFileState != "disabled" {
			t.Errorf("after the rollback: %+v", st)
		}
	}
	if links, _ := filepath.Glob(filepath.Join(r.Home, ".config/systemd/user/default.target.wants/*")); len(links) != 0 {
		t.Errorf("the rollback left links: %v", links)
	}
}

func TestRealStartEnablesAndStopDisables(t *testing.T) {
	t.Parallel()
	const a, b = "snap.foo.a.service", "snap.foo.b.service"
	r := startReal(t, map[string]string{a: simpleUnit, b: simpleUnit})
	if _, err := r.svc.Control(t.Context(), wire.ServiceInstruction{Action: "start", Services: []string{a, "snap.foo.b"}, Enable: true}); err != nil {
		t.Fatal(err)
	}
	for _, st := range r.status(t, a, b) {
		if st.ActiveState != "active" || st.UnitFileState != "enabled" {
			t.Errorf("after start: %+v", st)
		}
	}
	res, err := r.svc.Control(t.Context(), wire.ServiceInstruction{Action: "stop", Services: []string{a, b}, Disable: true})
	if err != nil || len(res.Killed) != 0 {
		t.Fatal(res, err)
	}
	for _, st := range r.status(t, a, b) {
		if st.ActiveState != "inactive" || st.UnitFileState != "disabled" {
			t.Errorf("after stop: %+v", st)
		}
	}
}

func TestRealUnitIgnoringTERMIsKilled(t *testing.T) {
	t.Parallel()
	const stubborn, plain = "snap.foo.stubborn.service", "snap.foo.plain.service"
	r := startReal(t, map[string]string{stubborn: stubbornUnit, plain: simpleUnit})
	if _, err := r.svc.Control(t.Context(), wire.ServiceInstruction{Action: "start", Services: []string{stubborn, plain}}); err != nil {
		t.Fatal(err)
	}
	pid := r.status(t, stubborn)[0].MainPID
	waitIgnoresTERM(t, pid)
	t0 := time.Now()
	res, err := r.svc.Control(t.Context(), wire.ServiceInstruction{Action: "stop", Services: []string{stubborn, plain}})
	if err != nil {
		t.Fatal(err)
	}
	// Killed at TimeoutStopSec (1 s) plus the margin (0.5 s), before the manager
	// would have given up at 2 s and left the process running.
	if len(res.Killed) != 1 || res.Killed[0] != stubborn || time.Since(t0) > 1900*time.Millisecond {
		t.Errorf("got %+v after %v", res, time.Since(t0))
	}
	if alive(pid) {
		t.Errorf("process %d survived", pid)
	}
}

func TestRealBadNameChangesNothing(t *testing.T) {
	t.Parallel()
	const a, b = "snap.foo.a.service", "snap.foo.b.service"
	r := startReal(t, map[string]string{a: simpleUnit, b: simpleUnit})
	if _, err := r.svc.Control(t.Context(), wire.ServiceInstruction{Action: "start", Services: []string{a}}); err != nil {
		t.Fatal(err)
	}
	for _, inst := range []wire.ServiceInstruction{
		{Action: "stop", Services: []string{a, "snap.foo.*"}},
		{Action: "start", Services: []string{b, "../snap.foo.b.service"}, Enable: true},
		{Action: "restart", Services: []string{a, "-a"}},
		{Action: "stop", Services: []string{a, "dbus.service"}},
	} {
		_, err := r.svc.Control(t.Context(), inst)
		if cerr := asError(t, err); cerr.Kind != wire.ErrorKindBadRequest {
			t.Errorf("%+v: got %+v", inst, cerr)
		}
	}
	sts := r.status(t, a, b)
	if sts[0].ActiveState != "active" || sts[0].MainPID == 0 || sts[1].ActiveState != "inactive" || sts[1].UnitFileState != "disabled" {
		t.Errorf("a bad name changed something: %+v", sts)
	}
}

func TestRealRestartAndTemplateInstances(t *testing.T) {
	t.Parallel()
	const inst = "snap.foo.svc@1.service"
	r := startReal(t, map[string]string{"snap.foo.svc@.service": "[Service]\nExecStart=/bin/sleep infinity\n"})
	if _, err := r.svc.Control(t.Context(), wire.ServiceInstruction{Action: "start", Services: []string{inst}}); err != nil {
		t.Fatal(err)
	}
	before := r.status(t, inst)[0].MainPID
	if _, err := r.svc.Control(t.Context(), wire.ServiceInstruction{Action: "restart", Services: []string{inst}}); err != nil {
		t.Fatal(err)
	}
	after := r.status(t, inst)[0].MainPID
	if before == 0 || after == 0 || before == after || alive(before) {
		t.Errorf("restart: main PID %d, then %d", before, after)
	}
	if _, err := r.svc.Control(t.Context(), wire.ServiceInstruction{Action: "reload-or-restart", Services: []string{inst}}); err != nil {
		t.Fatal(err)
	}
	_, err := r.svc.Control(t.Context(), wire.ServiceInstruction{Action: "start", Services: []string{"snap.foo.svc@.service"}})
	if cerr := asError(t, err); cerr.Kind != wire.ErrorKindBadRequest {
		t.Errorf("starting a template: %+v", cerr)
	}
}

func TestRealStatus(t *testing.T) {
	t.Parallel()
	const a, f = "snap.foo.a.service", "snap.foo.f.service"
	r := startReal(t, map[string]string{a: simpleUnit, f: "[Service]\nType=oneshot\nExecStart=/bin/false\n"})
	if _, err := r.svc.Control(t.Context(), wire.ServiceInstruction{Action: "start", Services: []string{a}, Enable: true}); err != nil {
		t.Fatal(err)
	}
	_, _ = r.svc.Control(t.Context(), wire.ServiceInstruction{Action: "start", Services: []string{f}})
	sts, err := r.svc.Status(t.Context(), []string{a, "snap.foo.missing", f})
	if err != nil {
		t.Fatal(err)
	}
	if st := sts[0]; !st.Installed || !st.Active || !st.Enabled || st.Daemon != "simple" || st.MainPID == 0 || st.ID != a || st.SubState != "running" {
		t.Errorf("loaded: %+v", st)
	}
	if st := sts[1]; st.Installed || st.Active || st.Enabled || st.Name != "snap.foo.missing" || st.ID != "snap.foo.missing.service" || st.LoadState != "not-found" {
		t.Errorf("missing: %+v", st)
	}
	if st := sts[2]; !st.Installed || st.Active || st.ActiveState != "failed" || st.Daemon != "oneshot" || !st.Enabled {
		t.Errorf("failed: %+v", st)
	}
}

// A transient scope like those `snap run` makes: a transient service of the user's
// manager runs `systemd-run --scope`, so that the scope's process starts inside the
// manager's cgroup tree (a process started from outside it could not be moved in).
func startScope(t *testing.T, r *realSession, scope string) {
	t.Helper()
	out, err := r.Run("systemd-run", "--user", "--collect", "--unit=launch-"+strings.TrimSuffix(scope, ".scope"), "--",
		"systemd-run", "--user", "--scope", "--unit="+scope, "sleep", "1000")
	if err != nil {
		t.Fatalf("cannot start %s: %v\n%s", scope, err, out)
	}
	for range 200 {
		if st := r.status(t, scope)[0]; st.ActiveState == "active" {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s does not become active", scope)
}

func TestRealKillScopes(t *testing.T) {
	t.Parallel()
	r := startReal(t, nil)
	startScope(t, r, "snap.foo.app-123.scope")
	startScope(t, r, "snap.foo.hook.configure-4.scope")
	startScope(t, r, "snap.bar.app-5.scope")
	res, err := r.svc.Kill(t.Context(), wire.AppInstruction{Action: "kill", Snaps: []string{"foo"}, Signal: 9})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Scopes["foo"]; len(got) != 2 {
		t.Errorf("signalled %v", res.Scopes)
	}
	for _, scope := range []string{"snap.foo.app-123.scope", "snap.foo.hook.configure-4.scope"} {
		ok := false
		for range 200 {
			if st := r.status(t, scope)[0]; st.ActiveState != "active" {
				ok = true
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if !ok {
			t.Errorf("%s is still active", scope)
		}
	}
	if st := r.status(t, "snap.bar.app-5.scope")[0]; st.ActiveState != "active" {
		t.Errorf("another snap's scope was touched: %+v", st)
	}
}

// A hung manager (stopped with SIGSTOP) fails the request holding it and the ones
// waiting behind it at their deadlines, with 504 and the per-unit errors under their
// own kinds (where snapd's client reads them); once the manager resumes, requests work
// again.
func TestRealHungManager(t *testing.T) {
	t.Parallel()
	const a = "snap.foo.a.service"
	r := startReal(t, map[string]string{a: simpleUnit})
	pid := r.ManagerPID()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(pid, syscall.SIGCONT)
	var wg sync.WaitGroup
	errs := make([]error, 3)
	t0 := time.Now()
	for i := range errs {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
			defer cancel()
			if i == 0 {
				_, errs[i] = r.svc.Control(ctx, wire.ServiceInstruction{Action: "start", Services: []string{a}})
			} else {
				_, errs[i] = r.svc.Status(ctx, []string{a})
			}
		})
	}
	wg.Wait()
	if d := time.Since(t0); d > 1500*time.Millisecond {
		t.Errorf("the requests took %v", d)
	}
	for i, err := range errs {
		kind, key := wire.ErrorKindServiceStatus, wire.StatusErrorsKey
		if i == 0 {
			kind, key = wire.ErrorKindServiceControl, wire.StartErrorsKey
		}
		var cerr *apierror.Error
		if !errors.As(err, &cerr) || !errors.Is(cerr, apierror.ErrTimeout) || cerr.Kind != kind {
			t.Errorf("request %d: %v", i, err)
			continue
		}
		if v, _ := cerr.Value.(map[string]any); v == nil || len(v[key].(map[string]string)[a]) == 0 {
			t.Errorf("request %d: value %#v lacks %s for %s", i, cerr.Value, key, a)
		}
	}
	syscall.Kill(pid, syscall.SIGCONT)
	if _, err := r.svc.Control(t.Context(), wire.ServiceInstruction{Action: "start", Services: []string{a}}); err != nil {
		t.Fatalf("after the manager resumed: %v", err)
	}
}

func TestRealTwoUsers(t *testing.T) {
	t.Parallel()
	const a = "snap.foo.a.service"
	r1 := startReal(t, map[string]string{a: simpleUnit})
	r2 := startReal(t, map[string]string{a: simpleUnit})
	if _, err := r1.svc.Control(t.Context(), wire.ServiceInstruction{Action: "start", Services: []string{a}}); err != nil {
		t.Fatal(err)
	}
	if st := r2.status(t, a)[0]; st.ActiveState != "inactive" {
		t.Fatalf("user 2's unit: %+v", st)
	}
	if _, err := r2.svc.Control(t.Context(), wire.ServiceInstruction{Action: "start", Services: []string{a}}); err != nil {
		t.Fatal(err)
	}
	if _, err := r2.svc.Control(t.Context(), wire.ServiceInstruction{Action: "stop", Services: []string{a}}); err != nil {
		t.Fatal(err)
	}
	if st := r1.status(t, a)[0]; st.ActiveState != "active" {
		t.Fatalf("user 1's unit after user 2 stopped theirs: %+v", st)
	}
}

// waitIgnoresTERM waits until pid is a sleep that ignores SIGTERM (the unit's shell has
// set its trap and exec'd); stopping earlier would race with the trap.
func waitIgnoresTERM(t *testing.T, pid uint32) {
	t.Helper()
	for range 200 {
		comm, _ := os.ReadFile("/proc/" + strconv.Itoa(int(pid)) + "/comm")
		st, _ := os.ReadFile("/proc/" + strconv.Itoa(int(pid)) + "/status")
		for _, line := range strings.Split(string(st), "\n") {
			if v, ok := strings.CutPrefix(line, "SigIgn:"); ok && strings.TrimSpace(string(comm)) == "sleep" {
				if mask, _ := strconv.ParseUint(strings.TrimSpace(v), 16, 64); mask&(1<<(syscall.SIGTERM-1)) != 0 {
					return
				}
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("process %d does not come to ignore SIGTERM", pid)
}
