package testenv

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ProcessGone reports whether pid no longer runs: absent, or a zombie (or dead) task
// awaiting its parent, from the state field of /proc/PID/stat.
func ProcessGone(pid int) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	// "pid (comm) S ...": the state follows the last ')', as comm may hold one.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] == 'Z' || s[i+2] == 'X'
}

// WaitIgnoresTERM waits until pid is a sleep that ignores SIGTERM, as the main process
// of usersessiontest.StubbornUnit comes to be once its shell has set its trap and
// exec'd: a stop before that would race with the trap.
func WaitIgnoresTERM(t testing.TB, pid int) {
	t.Helper()
	for range 500 {
		comm, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
		st, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
		for _, line := range strings.Split(string(st), "\n") {
			if v, ok := strings.CutPrefix(line, "SigIgn:"); ok && strings.TrimSpace(string(comm)) == "sleep" {
				if mask, _ := strconv.ParseUint(strings.TrimSpace(v), 16, 64); mask&(1<<(syscall.SIGTERM-1)) != 0 {
					return
				}
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("process %d does not come to ignore SIGTERM", pid)
}
