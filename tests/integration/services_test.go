package integration_test

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/snapcore-ng/usersession-agent/testkit/testenv"
	"github.com/snapcore-ng/usersession-agent/testkit/usersessiontest"
	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

// Service control through the agent, each effect checked through `systemctl --user`,
// never through the agent itself.

// markedUnit is a user service that, before it counts as started, appends mark to
// %t/started; with reload it also has a reload command that appends mark to
// %t/reloaded. It is wanted by default.target once enabled.
func markedUnit(mark string, reload bool) string {
	u := fmt.Sprintf("[Unit]\nDescription=test service %s\n[Service]\n"+
		"ExecStartPre=/bin/sh -c 'echo %s >> %%t/started'\nExecStart=/bin/sleep infinity\n", mark, mark)
	if reload {
		u += fmt.Sprintf("ExecReload=/bin/sh -c 'echo %s >> %%t/reloaded'\n", mark)
	}
	return u + "[Install]\nWantedBy=default.target\n"
}

const (
	failingUnit  = usersessiontest.FailingUnit
	stubbornUnit = usersessiontest.StubbornUnit
)

// marks are the words a runtime file holds, in order.
func marks(s string) []string { return strings.Fields(s) }

func TestServicesStartInOrderRestartReloadStop(t *testing.T) {
	t.Parallel()
	const (
		a = "snap.foo.a.service"
		b = "snap.foo.b.service"
		c = "snap.foo.c.service"
	)
	s := servicesSession(t, map[string]string{a: markedUnit("a", false), b: markedUnit("b", false), c: markedUnit("c", true)})
	sock := s.AgentSocket()

	// Started one after the other, in the order given, not sorted.
	wantSync(t, "start", control(t, sock, wire.ServiceInstruction{Action: "start", Services: []string{c, a, b}}), nil)
	if got := marks(readRuntimeFile(t, s, "started")); !slices.Equal(got, []string{"c", "a", "b"}) {
		t.Fatalf("units started in the order %v, want [c a b]", got)
	}
	pids := map[string]int{}
	for _, u := range []string{a, b, c} {
		if st := unitState(t, s, u); st != "active" {
			t.Fatalf("%s is %q after start, want active", u, st)
		}
		pids[u] = mainPID(t, s, u)
	}

	wantSync(t, "restart", control(t, sock, wire.ServiceInstruction{Action: "restart", Services: []string{a}}), nil)
	if pid := mainPID(t, s, a); pid == 0 || pid == pids[a] || unitState(t, s, a) != "active" {
		t.Fatalf("%s after restart: pid %d (was %d), state %s", a, pid, pids[a], unitState(t, s, a))
	}
	if pid := mainPID(t, s, b); pid != pids[b] {
		t.Fatalf("%s was not asked to restart but its pid changed from %d to %d", b, pids[b], pid)
	}

	// reload: c can reload (same process, its reload command ran); b cannot, so it is
	// restarted.
	wantSync(t, "restart with reload", control(t, sock, wire.ServiceInstruction{Action: "restart", Services: []string{c, b}, Reload: true}), nil)
	if got := marks(readRuntimeFile(t, s, "reloaded")); !slices.Equal(got, []string{"c"}) {
		t.Errorf("reload commands run: %v, want [c]", got)
	}
	if pid := mainPID(t, s, c); pid != pids[c] {
		t.Errorf("%s was restarted (pid %d -> %d) instead of reloaded", c, pids[c], pid)
	}
	if pid := mainPID(t, s, b); pid == 0 || pid == pids[b] {
		t.Errorf("%s, which cannot reload, was not restarted (pid %d -> %d)", b, pids[b], pid)
	}

	var res wire.ServiceControlResult
	wantSync(t, "stop", control(t, sock, wire.ServiceInstruction{Action: "stop", Services: []string{a, b, c}}), &res)
	if len(res.Killed) != 0 {
		t.Errorf("units killed on a plain stop: %v", res.Killed)
	}
	for _, u := range []string{a, b, c} {
		if st := unitState(t, s, u); st != "inactive" {
			t.Errorf("%s is %q after stop, want inactive", u, st)
		}
	}
}

func TestServicesEnableOnStartDisableOnStop(t *testing.T) {
	t.Parallel()
	const unit = "snap.foo.enabled.service"
	s := servicesSession(t, map[string]string{unit: markedUnit("e", false)})
	sock := s.AgentSocket()
	link := filepath.Join(s.Home, ".config", "systemd", "user", "default.target.wants", unit)
	if st := isEnabled(s, unit); st != "disabled" {
		t.Fatalf("%s is %q before the test", unit, st)
	}

	wantSync(t, "start --enable", control(t, sock, wire.ServiceInstruction{Action: "start", Services: []string{unit}, Enable: true}), nil)
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("no symlink %s after start with enable: %v", link, err)
	}
	if st := isEnabled(s, unit); st != "enabled" {
		t.Errorf("%s is %q after start with enable", unit, st)
	}
	if st := unitState(t, s, unit); st != "active" {
		t.Errorf("%s is %q after start with enable", unit, st)
	}

	// With a unit that is not loaded and has no file: stopped and nothing to disable,
	// which the answer says; it does not keep the other unit from being disabled.
	const missing = "snap.foo.missing.service"
	var res wire.ServiceControlResult
	wantSync(t, "stop --disable", control(t, sock, wire.ServiceInstruction{Action: "stop", Services: []string{unit, missing}, Disable: true}), &res)
	if !slices.Equal(res.NotLoaded, []string{missing}) || len(res.Killed) != 0 {
		t.Errorf("stop --disable result %+v, want %s not loaded", res, missing)
	}
	if _, err := os.Lstat(link); !os.IsNotExist(err) {
		t.Errorf("symlink %s still there after stop with disable (%v)", link, err)
	}
	if st := isEnabled(s, unit); st != "disabled" {
		t.Errorf("%s is %q after stop with disable", unit, st)
	}
	if st := unitState(t, s, unit); st != "inactive" {
		t.Errorf("%s is %q after stop with disable", unit, st)
	}
}

// A unit that fails to start in the middle of the list: the answer names it, the
// units started before it are stopped again, the ones after it never start, and the
// enabling of all of them is undone.
func TestServicesFailedStartIsUndone(t *testing.T) {
	t.Parallel()
	const (
		a   = "snap.foo.a.service"
		bad = "snap.foo.bad.service"
		c   = "snap.foo.c.service"
	)
	s := servicesSession(t, map[string]string{a: markedUnit("a", false), bad: failingUnit, c: markedUnit("c", false)})
	sock := s.AgentSocket()

	r := control(t, sock, wire.ServiceInstruction{Action: "start", Services: []string{a, bad, c}, Enable: true})
	wantError(t, "start", r, http.StatusInternalServerError, wire.ErrorKindServiceControl)
	errs := unitErrors(t, r)
	if se := errs[wire.StartErrorsKey]; len(se) != 1 || se[bad] == "" {
		t.Errorf("start-errors %v, want exactly %s", se, bad)
	}
	if se := errs[wire.StopErrorsKey]; len(se) != 0 {
		t.Errorf("stopping %s again failed: %v", a, se)
	}
	if got := marks(readRuntimeFile(t, s, "started")); !slices.Equal(got, []string{"a"}) {
		t.Errorf("units that started: %v, want only a", got)
	}
	for _, u := range []string{a, c} {
		if st := unitState(t, s, u); st != "inactive" {
			t.Errorf("%s is %q after the failed start, want inactive", u, st)
		}
	}
	for _, u := range []string{a, bad, c} {
		if st := isEnabled(s, u); st != "disabled" {
			t.Errorf("%s is %q after the failed start, want disabled", u, st)
		}
		link := filepath.Join(s.Home, ".config", "systemd", "user", "default.target.wants", u)
		if _, err := os.Lstat(link); !os.IsNotExist(err) {
			t.Errorf("symlink %s left behind (%v)", link, err)
		}
	}
}

func TestServicesUnitIgnoringSIGTERMIsKilled(t *testing.T) {
	t.Parallel()
	const (
		stubborn = "snap.foo.stubborn.service"
		polite   = "snap.foo.polite.service"
	)
	s := servicesSession(t, map[string]string{stubborn: stubbornUnit, polite: markedUnit("p", false)})
	sock := s.AgentSocket()
	wantSync(t, "start", control(t, sock, wire.ServiceInstruction{Action: "start", Services: []string{stubborn, polite}}), nil)
	pid := mainPID(t, s, stubborn)
	cg := unitProp(t, s, stubborn, "ControlGroup")
	testenv.WaitIgnoresTERM(t, pid)

	var res wire.ServiceControlResult
	wantSync(t, "stop", control(t, sock, wire.ServiceInstruction{Action: "stop", Services: []string{stubborn, polite}}), &res)
	if !slices.Equal(res.Killed, []string{stubborn}) {
		t.Errorf("killed %v, want [%s]", res.Killed, stubborn)
	}
	// The manager reaps it once the stop job ends; allow it a moment.
	testenv.WaitFor(t, 5*time.Second, "no process left in "+stubborn, func() bool { return testenv.ProcessGone(pid) && len(procsIn(cg)) == 0 })
	for _, u := range []string{stubborn, polite} {
		if st := unitState(t, s, u); st == "active" || st == "deactivating" {
			t.Errorf("%s is %q after stop", u, st)
		}
	}
}

func TestServicesTemplateInstance(t *testing.T) {
	t.Parallel()
	const (
		template = "snap.foo.svc@.service"
		instance = "snap.foo.svc@1.service"
		other    = "snap.foo.svc@2.service"
	)
	s := servicesSession(t, map[string]string{
		template: "[Service]\nExecStart=/bin/sh -c 'echo %i >> %t/instances; exec sleep infinity'\n",
	})
	sock := s.AgentSocket()
	wantSync(t, "start instance", control(t, sock, wire.ServiceInstruction{Action: "start", Services: []string{instance}}), nil)
	if st := unitState(t, s, instance); st != "active" {
		t.Fatalf("%s is %q after start", instance, st)
	}
	if st := unitState(t, s, other); st == "active" {
		t.Errorf("%s started too", other)
	}
	var sts []wire.ServiceUnitStatus
	wantSync(t, "status", call(t, sock, "GET", wire.PathServiceStatus+"?services="+url.QueryEscape(instance), "", nil), &sts)
	if len(sts) != 1 || sts[0].ID != instance || !sts[0].Active || !sts[0].Installed || sts[0].MainPID == 0 {
		t.Errorf("status of %s: %+v", instance, sts)
	}

	r := control(t, sock, wire.ServiceInstruction{Action: "start", Services: []string{template}})
	wantError(t, "start the template", r, http.StatusBadRequest, wire.ErrorKindBadRequest)
	if !strings.Contains(r.errRes.Message, fmt.Sprintf("%q", template)) {
		t.Errorf("message %q does not name %s", r.errRes.Message, template)
	}

	wantSync(t, "stop instance", control(t, sock, wire.ServiceInstruction{Action: "stop", Services: []string{instance}}), nil)
	if st := unitState(t, s, instance); st != "inactive" {
		t.Errorf("%s is %q after stop", instance, st)
	}
}

func TestServicesStatusOfLoadedMissingAndFailedUnits(t *testing.T) {
	t.Parallel()
	const (
		loaded  = "snap.foo.loaded.service"
		missing = "snap.foo.missing.service"
		failed  = "snap.foo.failed.service"
	)
	s := servicesSession(t, map[string]string{loaded: markedUnit("l", false), failed: failingUnit})
	sock := s.AgentSocket()
	mustSystemctl(t, s, "enable", loaded)
	mustSystemctl(t, s, "start", loaded)
	if out, err := s.Systemctl("start", failed); err == nil {
		t.Fatalf("%s started: %s", failed, out)
	}
	if st := unitState(t, s, failed); st != "failed" {
		t.Fatalf("%s is %q, want failed", failed, st)
	}
	pid := mainPID(t, s, loaded)

	status := func() []wire.ServiceUnitStatus {
		t.Helper()
		// "snap.foo.loaded" without a suffix names the service, as with systemctl.
		q := url.Values{"services": {strings.Join([]string{"snap.foo.loaded", missing, failed}, ",")}}
		var sts []wire.ServiceUnitStatus
		wantSync(t, "status", call(t, sock, "GET", wire.PathServiceStatus+"?"+q.Encode(), "", nil), &sts)
		if len(sts) != 3 {
			t.Fatalf("%d statuses for 3 units: %+v", len(sts), sts)
		}
		return sts
	}
	sts := status()

	l := sts[0]
	if l.Name != "snap.foo.loaded" || l.ID != loaded || l.Daemon != "simple" || !l.Enabled || !l.Active || !l.Installed ||
		l.NeedDaemonReload || l.ActiveState != "active" || l.MainPID != uint32(pid) {
		t.Errorf("loaded unit (main pid %d): %+v", pid, l)
	}
	m := sts[1]
	if m.Name != missing || m.Installed || m.Active || m.Enabled || m.ActiveState != "inactive" || m.MainPID != 0 {
		t.Errorf("missing unit: %+v", m)
	}
	f := sts[2]
	if f.Name != failed || f.Daemon != "oneshot" || !f.Installed || f.Active || f.Enabled || f.ActiveState != "failed" || f.MainPID != 0 {
		t.Errorf("failed unit: %+v", f)
	}

	// Changing a loaded unit's file shows as needs-reload until the manager reloads.
	s.WriteUserUnit(loaded, markedUnit("changed", false))
	if l := status()[0]; !l.NeedDaemonReload {
		t.Errorf("needs-reload is false after the unit file changed: %+v", l)
	}
	wantSync(t, "daemon-reload", control(t, sock, wire.ServiceInstruction{Action: "daemon-reload"}), nil)
	if l := status()[0]; l.NeedDaemonReload {
		t.Errorf("needs-reload is still true after daemon-reload: %+v", l)
	}
}

// A bad entry anywhere in the list is refused with a 400 that names it, and nothing
// of the list is started.
func TestServicesBadNameStartsNothing(t *testing.T) {
	t.Parallel()
	const (
		good1 = "snap.foo.good1.service"
		good2 = "snap.foo.good2.service"
	)
	s := servicesSession(t, map[string]string{good1: markedUnit("g1", false), good2: markedUnit("g2", false)})
	sock := s.AgentSocket()
	for _, bad := range []string{"snap.*", "-x", "../x", "foo.service", "", "snap.foo.*.service", "snap.foo"} {
		for _, list := range [][]string{{bad, good1, good2}, {good1, bad, good2}, {good1, good2, bad}} {
			t.Run(fmt.Sprintf("%q", list), func(t *testing.T) {
				for _, action := range []string{"start", "restart"} {
					r := control(t, sock, wire.ServiceInstruction{Action: action, Services: list})
					wantError(t, action, r, http.StatusBadRequest, wire.ErrorKindBadRequest)
					if !strings.Contains(r.errRes.Message, fmt.Sprintf("%q", bad)) {
						t.Errorf("%s: message %q does not name %q", action, r.errRes.Message, bad)
					}
				}
				q := url.Values{"services": {strings.Join(list, ",")}}
				if bad != "" { // an empty entry in a comma-separated query is skipped
					r := call(t, sock, "GET", wire.PathServiceStatus+"?"+q.Encode(), "", nil)
					wantError(t, "status", r, http.StatusBadRequest, wire.ErrorKindBadRequest)
				}
				for _, u := range []string{good1, good2} {
					if st := unitState(t, s, u); st != "inactive" {
						t.Errorf("%s is %q after a refused request", u, st)
					}
				}
				if got := readRuntimeFile(t, s, "started"); got != "" {
					t.Errorf("units started after a refused request: %q", got)
				}
			})
		}
	}
}
