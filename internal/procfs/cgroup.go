package procfs

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// maxCgroupFile bounds how much of /proc/PID/cgroup is read: a line per hierarchy
// (a dozen on cgroup v1), each a path of a few hundred bytes at most.
const maxCgroupFile = 64 << 10

// SystemdCgroups returns the cgroups of pid in the hierarchies systemd manages, which
// name the unit the process runs in: the unified hierarchy's ("0::PATH", cgroup v2 and
// hybrid systems) and the named v1 one ("ID:name=systemd:PATH", cgroup v1 and hybrid).
// On a hybrid system both are given, and both name the same unit.
func SystemdCgroups(pid int) ([]string, error) {
	data, err := readCgroups(pid)
	if err != nil {
		return nil, err
	}
	return ParseSystemdCgroups(data), nil
}

// UnifiedCgroup returns pid's cgroup in the unified hierarchy (its "0::PATH" line);
// ok is false on a host that has none (cgroup v1 only).
func UnifiedCgroup(pid int) (path string, ok bool, err error) {
	data, err := readCgroups(pid)
	if err != nil {
		return "", false, err
	}
	for _, line := range strings.Split(data, "\n") {
		if path, ok := strings.CutPrefix(line, "0::"); ok {
			return path, true, nil
		}
	}
	return "", false, nil
}

// readCgroups reads /proc/PID/cgroup, at most maxCgroupFile of it.
func readCgroups(pid int) (string, error) {
	path := Path(pid, "cgroup")
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("cannot read %s: %w", path, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxCgroupFile))
	if err != nil {
		return "", fmt.Errorf("cannot read %s: %w", path, err)
	}
	return string(data), nil
}

// ParseSystemdCgroups returns the systemd cgroups of the content of a
// /proc/PID/cgroup file (see SystemdCgroups), in the order given.
func ParseSystemdCgroups(content string) []string {
	var paths []string
	for _, line := range strings.Split(content, "\n") {
		id, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		controllers, path, ok := strings.Cut(rest, ":")
		if ok && (id == "0" && controllers == "" || controllers == "name=systemd") {
			paths = append(paths, path)
		}
	}
	return paths
}

// InSystemdCgroup reports whether pid is in one of cgroups (paths from the root of
// the hierarchy, "/user.slice/user-1000.slice/user@1000.service") in a hierarchy
// systemd manages. Only the cgroup the process is in counts, not those above it.
func InSystemdCgroup(pid int, cgroups ...string) (bool, error) {
	paths, err := SystemdCgroups(pid)
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(paths, func(p string) bool { return slices.Contains(cgroups, p) }), nil
}
