// Package procfs is the project's one reader of /proc: a process's status fields,
// stat line, owner, systemd cgroup, executable and command line, and the paths of this
// process's descriptors. Nothing else in the tree opens /proc, so that how each file
// is parsed (and which of its traps is avoided) is written once.
//
// A PID names a process only while it runs: one read after it exited may describe
// another process that was given the same PID. Callers that act on what they read
// pin the process first (a pidfd) or check afterwards that it is still the one they
// mean (the bus still has the caller's connection, say).
package procfs

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// Self names this process.
const Self = 0

// Path is the path of name in pid's /proc directory ("/proc/PID/name", or
// "/proc/self/name" for Self); an empty name is the directory itself.
func Path(pid int, name string) string {
	dir := "/proc/self"
	if pid != Self {
		dir = "/proc/" + strconv.Itoa(pid)
	}
	if name == "" {
		return dir
	}
	return dir + "/" + name
}

// Status is the content of one read of /proc/PID/status, so that several of its
// fields describe the same moment of the same process.
type Status struct {
	path, data string
}

// ReadStatus reads /proc/PID/status.
func ReadStatus(pid int) (Status, error) {
	path := Path(pid, "status")
	data, err := os.ReadFile(path)
	if err != nil {
		return Status{}, fmt.Errorf("cannot read %s: %w", path, err)
	}
	return Status{path: path, data: string(data)}, nil
}

// Values returns the whitespace-separated values of the line "Name:": for "Uid", the
// real, effective, saved and filesystem uids. A field the kernel does not give is an
// error.
func (s Status) Values(name string) ([]string, error) {
	for _, line := range strings.Split(s.data, "\n") {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			return strings.Fields(v), nil
		}
	}
	return nil, fmt.Errorf("no %s in %s", name, s.path)
}

// StatusValues returns the values of the line "Name:" of /proc/PID/status (see
// Status.Values).
func StatusValues(pid int, name string) ([]string, error) {
	st, err := ReadStatus(pid)
	if err != nil {
		return nil, err
	}
	return st.Values(name)
}

// StatusField returns the first number of the line "Name:" of /proc/PID/status (for
// VmRSS, in KiB; for Threads, a count).
func StatusField(pid int, name string) (int, error) {
	values, err := StatusValues(pid, name)
	if err != nil {
		return 0, err
	}
	if len(values) == 0 {
		return 0, fmt.Errorf("no value for %s in %s", name, Path(pid, "status"))
	}
	n, err := strconv.Atoi(values[0])
	if err != nil {
		return 0, fmt.Errorf("cannot parse %s of %s: %w", name, Path(pid, "status"), err)
	}
	return n, nil
}

// Stat is what this project reads of /proc/PID/stat (proc_pid_stat(5)).
type Stat struct {
	// State is the process state: 'R', 'S', 'D', 'Z' (a zombie), 'X' (dead), ...
	State byte
	PPID  int
	// UTime and STime are the CPU time used in user and kernel mode, in clock ticks
	// (sysconf(_SC_CLK_TCK), 100 on Linux).
	UTime, STime uint64
	// StartTime is when the process started, in clock ticks after boot: with the PID,
	// it names one process for the life of the system.
	StartTime uint64
}

// ReadStat reads /proc/PID/stat.
func ReadStat(pid int) (Stat, error) {
	path := Path(pid, "stat")
	data, err := os.ReadFile(path)
	if err != nil {
		return Stat{}, fmt.Errorf("cannot read %s: %w", path, err)
	}
	st, err := ParseStat(string(data))
	if err != nil {
		return Stat{}, fmt.Errorf("cannot parse %s: %w", path, err)
	}
	return st, nil
}

// ParseStat parses the content of a /proc/PID/stat file. The fields are read after
// the last ')': the command name before it may hold spaces and parentheses.
func ParseStat(data string) (Stat, error) {
	i := strings.LastIndexByte(data, ')')
	if i < 0 {
		return Stat{}, fmt.Errorf("no command name")
	}
	// Fields 3 on: state, ppid, ..., utime (14), stime (15), ..., starttime (22).
	f := strings.Fields(data[i+1:])
	if len(f) < 20 || len(f[0]) != 1 {
		return Stat{}, fmt.Errorf("%d fields after the command name, want at least 20", len(f))
	}
	var st Stat
	st.State = f[0][0]
	var err error
	if st.PPID, err = strconv.Atoi(f[1]); err != nil {
		return Stat{}, fmt.Errorf("bad parent: %w", err)
	}
	for _, v := range []struct {
		to    *uint64
		field int
	}{{&st.UTime, 11}, {&st.STime, 12}, {&st.StartTime, 19}} {
		if *v.to, err = strconv.ParseUint(f[v.field], 10, 64); err != nil {
			return Stat{}, fmt.Errorf("bad field %d: %w", v.field+3, err)
		}
	}
	return st, nil
}

// Owner is the uid that owns /proc/PID, the process's effective uid when it started
// (or last became dumpable).
func Owner(pid int) (uint32, error) {
	var st syscall.Stat_t
	path := Path(pid, "")
	if err := syscall.Stat(path, &st); err != nil {
		return 0, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	return st.Uid, nil
}

// Exe is the path of the executable pid runs (the link /proc/PID/exe). A file
// replaced or removed since the process started reads with " (deleted)" appended.
func Exe(pid int) (string, error) {
	return os.Readlink(Path(pid, "exe"))
}

// Cmdline is the argument list of pid (/proc/PID/cmdline), empty for a kernel thread,
// a zombie, or a process in the midst of execve.
func Cmdline(pid int) ([]string, error) {
	data, err := os.ReadFile(Path(pid, "cmdline"))
	if err != nil {
		return nil, err
	}
	s := strings.TrimSuffix(string(data), "\x00")
	if s == "" {
		return nil, nil
	}
	return strings.Split(s, "\x00"), nil
}

// FDPath is the path under which this process reaches the file of its descriptor fd
// again (/proc/self/fd/FD): opening or connecting to it reaches that very inode.
func FDPath(fd int) string { return Path(Self, "fd/"+strconv.Itoa(fd)) }

// FDTarget is the path fd was opened with, as the kernel has it now (the link
// /proc/self/fd/FD): " (deleted)" is appended for a removed file.
func FDTarget(fd int) (string, error) {
	return os.Readlink(FDPath(fd))
}
