package integration_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/snapcore-ng/usersession-agent/testkit/testenv"
	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

// An open question keeps the agent past its idle timeout, so that the answer is not
// lost; once answered, the agent exits on idle as usual. After a restart the old id
// is unknown, and said to be.
func TestOpenQuestionKeepsTheAgentAndIDsDoNotOutliveIt(t *testing.T) {
	t.Parallel()
	d := startDesktopSession(t, time.Second)
	sock := d.AgentSocket()
	// dunst is started first: on a loaded machine its D-Bus activation can take
	// longer than the agent's deadline for one call.
	testenv.WaitFor(t, 60*time.Second, "dunst to start", func() bool {
		r, err := tryCall(sock, "POST", wire.PathNotifications, "application/json", []byte(`{"title":"warm-up"}`))
		return err == nil && r.status == 200
	})
	runAs(t, d.Session, "dunstctl", "close-all")
	r := call(t, sock, "POST", wire.PathNotifications, "application/json",
		[]byte(`{"title":"Still there?","actions":[{"id":"yes","label":"Yes"}]}`))
	var st wire.NotificationStatus
	if err := json.Unmarshal(r.env.Result, &st); err != nil || r.status != 200 {
		t.Fatalf("post: %d %s", r.status, r.raw)
	}
	pid := agentPID(t, d.Session)
	// Five idle timeouts later the agent still waits for the answer.
	time.Sleep(5 * time.Second)
	if now := agentPID(t, d.Session); now != pid {
		t.Fatalf("the agent (pid %d) exited with a question open (now %d)", pid, now)
	}
	runAs(t, d.Session, "dunstctl", "close")
	waitAgentGone(t, d.Session, 30*time.Second)

	// A new agent (started by this call) knows nothing of the old id.
	r = call(t, sock, "GET", wire.PathNotifications+"?id="+st.ID, "", nil)
	if r.status != 404 || r.errRes.Kind != wire.ErrorKindUnknownNotification || !strings.Contains(r.errRes.Message, st.ID) {
		t.Fatalf("old id after a restart: %d %s", r.status, r.raw)
	}
}

// `snap sessions list` is a one-shot call: the agent it socket-activated exits as soon
// as it is idle, well before its 30 s idle timeout (the unit's default, kept here), and
// the next call socket-activates a new agent that answers.
func TestAgentOfAOneShotCallDoesNotLinger(t *testing.T) {
	t.Parallel()
	s := agentSession(t, 0)
	r := runSnap(t, "sessions", "list", "--users="+s.User, "--json")
	listed := decodeSessionsJSON(t, r)[s.User]
	var first wire.SessionInfo
	if r.code != 0 || !listed.OK || json.Unmarshal(listed.Result, &first) != nil || first.PID == 0 {
		t.Fatalf("list: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	testenv.WaitFor(t, 15*time.Second, "the agent service to become inactive", func() bool {
		switch st := unitState(t, s, agentService); st {
		case "inactive":
			return true
		case "failed":
			t.Fatalf("the agent service failed on its exit")
		}
		return false
	})
	if second := sessionInfo(t, s.AgentSocket()); second.PID == first.PID {
		t.Fatalf("the next call was answered by the same agent (pid %d)", first.PID)
	}
}
