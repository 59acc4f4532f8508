package integration_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/snapcore-ng/usersession-agent/testkit/testenv"
	"github.com/snapcore-ng/usersession-agent/testkit/usersessiontest"
	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

// startAppScope makes a transient scope like those `snap run` makes for an app, and
// returns its processes. The scope is created from inside the user's manager (by a
// transient service running `systemd-run --scope`), so that its processes live in
// the manager's cgroup tree as a real app's do.
func startAppScope(t *testing.T, s *usersessiontest.Session, scope string) []int {
	t.Helper()
	launcher := "launch-" + strings.TrimSuffix(scope, ".scope")
	out, err := s.Run("systemd-run", "--user", "--collect", "--unit="+launcher, "--",
		"systemd-run", "--user", "--scope", "--unit="+scope, "sleep", "1000")
	if err != nil {
		t.Fatalf("cannot start %s: %v\n%s", scope, err, out)
	}
	var procs []int
	testenv.WaitFor(t, 10*time.Second, scope+" runs", func() bool {
		if unitState(t, s, scope) != "active" {
			return false
		}
		procs = cgroupProcs(t, s, scope)
		return len(procs) > 0
	})
	return procs
}

func TestAppControlKillsOnlyTheSnapsScopes(t *testing.T) {
	t.Parallel()
	s := agentSession(t, 0)
	sock := s.AgentSocket()

	// An app, a hook, and the install hook of foo's component comp (snapd's name for
	// it, snap.foo+comp.hook.install-<uuid>.scope, escaped as systemd does).
	fooScopes := []string{"snap.foo.app-11.scope", "snap.foo.hook.configure-12.scope",
		`snap.foo\x2bcomp.hook.install-5f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b.scope`}
	// Another snap, one whose name starts like foo's, and a parallel instance of foo
	// with the same component.
	otherScopes := []string{"snap.bar.app-13.scope", "snap.foobar.app-14.scope",
		`snap.foo_x\x2bcomp.hook.install-6a2f3e4d-5c6b-7a89-9bac-1d2e3f4a5b6c.scope`}
	procs := map[string][]int{}
	for _, sc := range append(slices.Clone(fooScopes), otherScopes...) {
		procs[sc] = startAppScope(t, s, sc)
	}

	// Exactly what snapd's client sends for `snap remove --terminate foo`: the signal
	// as a number, and a reason this agent does not know.
	var res wire.AppControlResult
	wantSync(t, "kill foo as snapd asks it", call(t, sock, "POST", wire.PathAppControl, "application/json",
		[]byte(`{"action":"kill","snaps":["foo"],"signal":9,"reason":"remove"}`)), &res)
	got := slices.Sorted(slices.Values(res.Scopes["foo"]))
	if !slices.Equal(got, fooScopes) || len(res.Scopes) != 1 {
		t.Errorf("scopes signalled: %v, want foo's %v", res.Scopes, fooScopes)
	}
	for _, sc := range fooScopes {
		for _, p := range procs[sc] {
			testenv.WaitFor(t, 5*time.Second, "process of "+sc+" is gone", func() bool { return testenv.ProcessGone(p) })
		}
		testenv.WaitFor(t, 5*time.Second, sc+" ends", func() bool { return unitState(t, s, sc) != "active" })
	}
	for _, sc := range otherScopes {
		if st := unitState(t, s, sc); st != "active" {
			t.Errorf("%s of another snap is %q", sc, st)
		}
		for _, p := range procs[sc] {
			if testenv.ProcessGone(p) {
				t.Errorf("process %d of %s, another snap's, is gone", p, sc)
			}
		}
	}

	// A snap without running apps: nothing to signal, not an error.
	res = wire.AppControlResult{}
	wantSync(t, "kill a snap with no apps", postJSON(t, sock, wire.PathAppControl,
		wire.AppInstruction{Action: "kill", Snaps: []string{"nothing-running"}, Signal: 9}), &res)
	if sc, ok := res.Scopes["nothing-running"]; !ok || len(sc) != 0 {
		t.Errorf("scopes of a snap with no apps: %v", res.Scopes)
	}

	for _, tc := range []struct {
		name string
		inst any
		say  string
	}{
		{"bad snap name", wire.AppInstruction{Action: "kill", Snaps: []string{"bar", "Foo"}, Signal: 9}, "Foo"},
		{"path in snap name", wire.AppInstruction{Action: "kill", Snaps: []string{"../bar", "bar"}, Signal: 9}, "../bar"},
		{"glob in snap name", wire.AppInstruction{Action: "kill", Snaps: []string{"b*"}, Signal: 9}, "b*"},
		{"no snaps", wire.AppInstruction{Action: "kill", Signal: 9}, "no snaps"},
		{"bad signal", map[string]any{"action": "kill", "snaps": []string{"bar"}, "signal": "SIGNOPE"}, "SIGNOPE"},
		{"signal out of range", wire.AppInstruction{Action: "kill", Snaps: []string{"bar"}, Signal: 65}, "65"},
		{"bad action", wire.AppInstruction{Action: "stop", Snaps: []string{"bar"}}, "stop"},
	} {
		r := postJSON(t, sock, wire.PathAppControl, tc.inst)
		wantError(t, tc.name, r, http.StatusBadRequest, wire.ErrorKindBadRequest)
		if !strings.Contains(r.errRes.Message, tc.say) {
			t.Errorf("%s: message %q does not say %q", tc.name, r.errRes.Message, tc.say)
		}
	}
	// Nothing refused touched bar's app.
	if st := unitState(t, s, "snap.bar.app-13.scope"); st != "active" {
		t.Errorf("bar's scope is %q after refused requests", st)
	}
}
