package testenv

import (
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/snapcore-ng/usersession-agent/internal/procfs"
)

// ProcessGone reports whether pid no longer runs: absent, or a zombie (or dead) task
// awaiting its parent, from the state field of /proc/PID/stat.
func ProcessGone(pid int) bool {
	st, err := procfs.ReadStat(pid)
	return err != nil || st.State == 'Z' || st.State == 'X'
}

// WaitIgnoresTERM waits until pid is a sleep that ignores SIGTERM, as the main process
// of usersessiontest.StubbornUnit comes to be once its shell has set its trap and
// exec'd: a stop before that would race with the trap.
func WaitIgnoresTERM(t testing.TB, pid int) {
	t.Helper()
	for range 500 {
		name, _ := procfs.StatusValues(pid, "Name")
		ignored, _ := procfs.StatusValues(pid, "SigIgn")
		if len(name) == 1 && name[0] == "sleep" && len(ignored) == 1 {
			if mask, _ := strconv.ParseUint(ignored[0], 16, 64); mask&(1<<(syscall.SIGTERM-1)) != 0 {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("process %d does not come to ignore SIGTERM", pid)
}
