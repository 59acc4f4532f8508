package sessionagent_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/snapcore-ng/usersession-agent/sessionagent"
	"github.com/snapcore-ng/usersession-agent/testkit/testenv"
	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

// curl sends a body over 1 MiB with "Expect: 100-continue" and waits for the agent's
// word before sending it. An agent that said "100 Continue" to a body it then refused
// closed the connection on curl's upload: about 1 in 20 (1 in 4 on a busy machine)
// of these requests got a broken pipe instead of the 413.
func TestOversizedBodyWithExpectContinueIsAlways413ToCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		testenv.SkipOrFail(t, "curl is not installed")
	}
	ta := startAgent(t, sessionagent.Config{IdleTimeout: -1})
	body := filepath.Join(t.TempDir(), "body.json")
	if err := os.WriteFile(body, bytes.Repeat([]byte(" "), 10<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	const requests = 100
	bad := 0
	for range requests {
		cmd := exec.Command(curl, "--silent", "--show-error", "--max-time", "20",
			"--unix-socket", ta.path, "--output", "/dev/null", "--write-out", "%{http_code}",
			"--header", "Content-Type: application/json", "--header", "Expect: 100-continue",
			"--data-binary", "@"+body, "http://agent"+wire.PathServiceControl)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil || stdout.String() != "413" {
			if bad == 0 {
				t.Logf("first bad answer: %q, %v: %s", stdout.String(), err, strings.TrimSpace(stderr.String()))
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d oversized requests with Expect: 100-continue got no 413", bad, requests)
	}
}
