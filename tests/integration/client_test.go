package integration_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/snapcore-ng/usersession-agent/testkit/usersessiontest"
	"github.com/snapcore-ng/usersession-agent/usersession/client"
	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

// outcomeOf returns the outcome for uid, failing the test if there is not exactly one.
func outcomeOf[T any](t *testing.T, res *client.Results[T], uid int) client.Outcome[T] {
	t.Helper()
	var found []client.Outcome[T]
	for _, o := range res.Outcomes {
		if o.UID == uid {
			found = append(found, o)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d outcomes for uid %d in %+v", len(found), uid, res.Outcomes)
	}
	return found[0]
}

// Two users at once through the root-side client: the same call fans out to both
// agents, each acts on its own user's manager only, and the per-uid outcomes differ
// when the users' units do.
func TestClientFanOutToTwoSessions(t *testing.T) {
	t.Parallel()
	const (
		shared = "snap.multi.svc.service"  // both users have it
		only1  = "snap.multi.only.service" // only the first user has it
	)
	var u1, u2 *usersessiontest.Session
	u1 = servicesSession(t, map[string]string{shared: markedUnit("one", false), only1: markedUnit("only", false)})
	u2 = servicesSession(t, map[string]string{shared: markedUnit("two", false)})
	both := client.UIDs(u1.UID, u2.UID)
	cl := client.New(client.Options{})
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()

	info, err := cl.SessionInfo(ctx, both)
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Outcomes) != 2 || info.Err() != nil {
		t.Fatalf("session info: %+v (%v)", info.Outcomes, info.Err())
	}
	for _, s := range []*usersessiontest.Session{u1, u2} {
		o := outcomeOf(t, info, s.UID)
		if o.Result.UID == nil || *o.Result.UID != s.UID || o.Result.PID != agentPID(t, s) {
			t.Errorf("uid %d was answered by %+v, not by its own agent (pid %d)", s.UID, o.Result, agentPID(t, s))
		}
	}

	start, err := cl.ServicesStart(ctx, both, []string{shared}, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := start.Err(); err != nil || len(start.Succeeded()) != 2 {
		t.Fatalf("start in both sessions: %v", err)
	}
	for _, s := range []*usersessiontest.Session{u1, u2} {
		if st := unitState(t, s, shared); st != "active" {
			t.Fatalf("%s of %s is %q after start", shared, s.User, st)
		}
		if pid := mainPID(t, s, shared); uidOf(t, pid) != s.UID {
			t.Errorf("%s of %s runs as uid %d", shared, s.User, uidOf(t, pid))
		}
	}
	if got := marks(readRuntimeFile(t, u1, "started")); !slices.Equal(got, []string{"one"}) {
		t.Errorf("%s's manager started %v", u1.User, got)
	}
	if got := marks(readRuntimeFile(t, u2, "started")); !slices.Equal(got, []string{"two"}) {
		t.Errorf("%s's manager started %v", u2.User, got)
	}

	// The unit only the first user has: it starts there, and the second user's outcome
	// fails naming it.
	res, err := cl.ServicesStart(ctx, both, []string{only1}, false)
	if err != nil {
		t.Fatal(err)
	}
	if o := outcomeOf(t, res, u1.UID); !o.OK() {
		t.Errorf("start %s for %s: %v", only1, u1.User, o.Err)
	}
	o2 := outcomeOf(t, res, u2.UID)
	ae, ok := client.AsAgentError(o2.Err)
	if o2.Kind() != client.KindAgentError || !ok || ae.AgentKind != wire.ErrorKindServiceControl ||
		!slices.Equal(ae.FailedUnits(), []string{only1}) || ae.Failures[wire.StartErrorsKey][only1] == "" {
		t.Fatalf("start %s for %s, who does not have it: %v (%+v)", only1, u2.User, o2.Err, ae)
	}
	if st := unitState(t, u1, only1); st != "active" {
		t.Errorf("%s of %s is %q", only1, u1.User, st)
	}
	if st := unitProp(t, u2, only1, "LoadState"); st != "not-found" {
		t.Errorf("%s appeared in %s's manager: load state %q", only1, u2.User, st)
	}

	// Stop in the first session only: the second one's unit keeps running.
	pid2 := mainPID(t, u2, shared)
	stop, err := cl.ServicesStop(ctx, client.UIDs(u1.UID), []string{shared, only1}, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(stop.Outcomes) != 1 || stop.Err() != nil {
		t.Fatalf("stop for %s: %+v (%v)", u1.User, stop.Outcomes, stop.Err())
	}
	for _, u := range []string{shared, only1} {
		if st := unitState(t, u1, u); st != "inactive" {
			t.Errorf("%s of %s is %q after stop", u, u1.User, st)
		}
	}
	if st := unitState(t, u2, shared); st != "active" || mainPID(t, u2, shared) != pid2 {
		t.Errorf("stopping %s's units touched %s's: %s is %q", u1.User, u2.User, shared, st)
	}

	// Status in both: each answers about its own manager.
	sts, err := cl.ServiceStatus(ctx, both, []string{shared, only1})
	if err != nil {
		t.Fatal(err)
	}
	if err := sts.Err(); err != nil {
		t.Fatal(err)
	}
	s1, s2 := outcomeOf(t, sts, u1.UID).Result, outcomeOf(t, sts, u2.UID).Result
	if len(s1) != 2 || len(s2) != 2 {
		t.Fatalf("statuses: %+v / %+v", s1, s2)
	}
	if s1[0].Active || !s1[1].Installed || s1[1].Active {
		t.Errorf("%s's statuses: %+v", u1.User, s1)
	}
	if !s2[0].Active || s2[0].MainPID != uint32(pid2) || s2[1].Installed {
		t.Errorf("%s's statuses: %+v", u2.User, s2)
	}

	// Stop in both: the second one stops too, the first has nothing left to stop.
	stop, err = cl.ServicesStop(ctx, both, []string{shared}, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := stop.Err(); err != nil || len(stop.Succeeded()) != 2 {
		t.Fatalf("stop in both sessions: %v", err)
	}
	if st := unitState(t, u2, shared); st != "inactive" {
		t.Errorf("%s of %s is %q after stop", shared, u2.User, st)
	}
}
