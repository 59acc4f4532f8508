package integration_test

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/snapcore-ng/usersession-agent/testkit/testenv"
	"github.com/snapcore-ng/usersession-agent/testkit/usersessiontest"
)

// TestInstallAlongsideSnapd runs make install and make uninstall, with the default
// PREFIX and with /usr/local, next to Debian's snapd, in a private mount namespace
// whose /usr and /etc/systemd/user are throwaway overlays; tests/install/alongside-snapd
// says what it checks.
func TestInstallAlongsideSnapd(t *testing.T) {
	// Its own mount namespace and pool user: nothing it changes is seen by other tests.
	t.Parallel()
	user := usersessiontest.ClaimUser(t)
	if _, err := os.Stat("/usr/lib/systemd/user/snapd.session-agent.socket"); err != nil {
		testenv.SkipOrFail(t, "Debian's snapd is not installed (tests/lib/install-deps installs it)")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "../install/alongside-snapd", user, usersessiontest.SnapBinary(t), t.TempDir())
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	t.Logf("%s", out)
}
