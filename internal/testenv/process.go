package testenv

import (
	"os"
	"strconv"
	"strings"
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
