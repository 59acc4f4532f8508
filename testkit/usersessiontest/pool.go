package usersessiontest

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"syscall"
	"testing"
)

// poolSize bounds how many throwaway users tests may use at once on one machine.
const poolSize = 64

// ClaimUser takes a user from the pool for a test that starts the user's session
// itself (through tests/lib/user-session); the user is free again when the test ends.
func ClaimUser(t testing.TB) string {
	t.Helper()
	RequireRoot(t)
	name, lock := claimUser(t)
	t.Cleanup(func() { lock.Close() })
	return name
}

// claimUser takes the first pool user that no other test process holds.
func claimUser(t testing.TB) (string, *os.File) {
	t.Helper()
	name, lock, _ := claimFrom(t, "sat-u", poolSize)
	return name, lock
}

// claimFrom takes the first of the users prefix01..prefixNN that no other test
// process holds, and returns its name, lock and number. The lock is an flock, so a
// crashed test process frees its user.
func claimFrom(t testing.TB, prefix string, size int) (string, *os.File, int) {
	t.Helper()
	for i := 1; i <= size; i++ {
		name := fmt.Sprintf("%s%02d", prefix, i)
		f := openLock(t, name)
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err == nil {
			clearUnits(t, name)
			return name, f, i
		}
		f.Close()
	}
	t.Fatalf("cannot find a free test user: all %d %sNN are in use", size, prefix)
	return "", nil, 0
}

// clearUnits removes the user units and drop-ins an earlier test left in name's
// configuration (~/.config/systemd), which would otherwise start with the user's next
// manager whoever claims the user: an agent drop-in of one test once made another's
// session run a test binary where it wanted the distribution's agent. A user not yet
// created has none.
func clearUnits(t testing.TB, name string) {
	t.Helper()
	u, err := user.Lookup(name)
	if err != nil {
		return
	}
	if err := os.RemoveAll(filepath.Join(u.HomeDir, ".config", "systemd")); err != nil {
		t.Fatalf("cannot clear the unit configuration of %s: %v", name, err)
	}
}

// openLock opens the harness's lock file called name, shared by all test processes.
func openLock(t testing.TB, name string) *os.File {
	t.Helper()
	dir := "/run/snapd-agent-harness/locks"
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatalf("cannot create %s: %v", dir, err)
	}
	f, err := os.OpenFile(filepath.Join(dir, name+".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatalf("cannot open lock %s: %v", name, err)
	}
	return f
}
