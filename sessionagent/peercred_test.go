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

	"github.com/snapcore-ng/usersession-agent/internal/testenv"
	"github.com/snapcore-ng/usersession-agent/sessionagent"
	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

const nobody = 65534

// requireRoot skips the test without root, unless CI=true, where a skip would count as
// a pass.
func requireRoot(t *testing.T, why string) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	testenv.SkipOrFail(t, why+" needs root")
}

func TestAnotherUserIsRefused(t *testing.T) {
	t.Parallel()
	requireRoot(t, "connecting as another user")

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
	client := filepath.Join(dir, "client")
	copyExecutable(t, client)
	path := filepath.Join(dir, "agent.socket")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o666); err != nil {
		t.Fatal(err)
	}
	ta := runAgent(t, path, sessionagent.Config{Listener: l})

	cmd := exec.Command(client)
	cmd.Env = []string{clientModeEnv + "=" + path}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("client as nobody: %v: %s", err, stderrOf(err))
	}
	want := fmt.Sprintf(`403 {"type":"error","status-code":403,"status":"Forbidden","result":{"message":"uid %d is not allowed to use the session agent of uid %d","kind":%q}}`,
		nobody, os.Getuid(), wire.ErrorKindForbidden)
	if string(out) != want {
		t.Errorf("client as nobody got\n%s\nwant\n%s", out, want)
	}
	if !strings.Contains(ta.logs.String(), fmt.Sprintf(`msg="refused request from another user" uid=%d pid=%d`, nobody, cmd.Process.Pid)) {
		t.Errorf("refusal not logged with uid and pid:\n%s", ta.logs)
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
