// Package procfs reads the numbers the tests and benchmarks watch in a process's
// /proc/PID/status: its thread count and its resident memory.
package procfs

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Self names this process for StatusField.
const Self = 0

// StatusField returns the first number of the line "Name:" of /proc/PID/status (for
// VmRSS, in KiB).
func StatusField(pid int, name string) (int, error) {
	which := "self"
	if pid != Self {
		which = strconv.Itoa(pid)
	}
	path := "/proc/" + which + "/status"
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("cannot read %s: %w", path, err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			fields := strings.Fields(v)
			if len(fields) == 0 {
				break
			}
			n, err := strconv.Atoi(fields[0])
			if err != nil {
				return 0, fmt.Errorf("cannot parse %q of %s: %w", line, path, err)
			}
			return n, nil
		}
	}
	return 0, fmt.Errorf("no %s in %s", name, path)
}
