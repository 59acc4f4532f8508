package sessionagent_test

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/snapcore-ng/usersession-agent/sessionagent"
	"github.com/snapcore-ng/usersession-agent/testkit/testenv"
	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

const nobody = 65534

// agentOthersCanReach runs an agent whose socket another user can connect to, and
// returns it with a copy of this test binary that other user can run as a client.
func agentOthersCanReach(t *testing.T) (ta *testAgent, client string) {
	t.Helper()
	// Everything the other user needs must be reachable by them: a directory they
	// can enter, a copy of this test binary they can run, and a socket they can
	// connect to. Its mode only shows that the peer check is the second line of
	// defence after the socket's 0600.
	dir, err := os.MkdirTemp("", "sessionagent-peer-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	client = filepath.Join(dir, "client")
	copyExecutable(t, client)
	path := filepath.Join(dir, "agent.socket")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o666); err != nil {
		t.Fatal(err)
	}
	// No idle exit: each client is a process started as another user, which on a busy
	// machine can take longer, all told, than the default idle timeout.
	return runAgent(t, path, sessionagent.Config{Listener: l, IdleTimeout: -1}), client
}

// clientAs runs the test client as uid against ta, sending raw (or, if empty, a
// session-info request), and returns what it printed.
func clientAs(t *testing.T, uid uint32, client string, ta *testAgent, raw string) (out string, pid int) {
	t.Helper()
	cmd := exec.Command(client)
	cmd.Env = []string{clientModeEnv + "=" + ta.path, rawRequestEnv + "=" + raw}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}}
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("client as uid %d: %v: %s", uid, err, stderrOf(err))
	}
	return string(b), cmd.Process.Pid
}

func TestAnotherUserIsRefused(t *testing.T) {
	t.Parallel()
	testenv.RequireRoot(t, "connecting as another user")
	ta, client := agentOthersCanReach(t)

	out, pid := clientAs(t, nobody, client, ta, "")
	want := fmt.Sprintf(`403 {"type":"error","status-code":403,"status":"Forbidden","result":{"message":"uid %d is not allowed to use the session agent of uid %d","kind":%q}}`,
		nobody, os.Getuid(), wire.ErrorKindForbidden)
	if out != want {
		t.Errorf("client as nobody got\n%s\nwant\n%s", out, want)
	}
	if !strings.Contains(ta.logs.String(), fmt.Sprintf(`msg="refused request from another user" uid=%d pid=%d`, nobody, pid)) {
		t.Errorf("refusal not logged with uid and pid:\n%s", ta.logs)
	}
	ta.sessionInfo()
}

// No method or request-target form gets past the peer check: Go's server answers
// "OPTIONS *" itself unless told not to.
func TestEveryRequestFormIsRefusedToAnotherUser(t *testing.T) {
	t.Parallel()
	testenv.RequireRoot(t, "connecting as another user")
	ta, client := agentOthersCanReach(t)

	for _, raw := range []string{
		"OPTIONS * HTTP/1.1\r\nHost: agent\r\n\r\n",
		"OPTIONS /v1/session-info HTTP/1.1\r\nHost: agent\r\n\r\n",
		"CONNECT agent:80 HTTP/1.1\r\nHost: agent:80\r\n\r\n",
		"GET http://agent/v1/session-info HTTP/1.1\r\nHost: agent\r\n\r\n",
		"GET /v1/session-info HTTP/1.0\r\n\r\n",
		"TRACE / HTTP/1.1\r\nHost: agent\r\n\r\n",
		"BREW /v1/session-info HTTP/1.1\r\nHost: agent\r\n\r\n",
	} {
		line, _, _ := strings.Cut(raw, "\r\n")
		out, pid := clientAs(t, nobody, client, ta, raw)
		if !strings.HasPrefix(out, "403 ") {
			t.Errorf("%s: got %q, want a 403", line, out)
		}
		if !strings.Contains(ta.logs.String(), fmt.Sprintf(`msg="refused request from another user" uid=%d pid=%d`, nobody, pid)) {
			t.Errorf("%s: refusal not logged", line)
		}
	}
	ta.sessionInfo()
}

func copyExecutable(t *testing.T, dst string) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(self)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

func stderrOf(err error) string {
	if exitErr, ok := err.(*exec.ExitError); ok {
		return string(exitErr.Stderr)
	}
	return ""
}
