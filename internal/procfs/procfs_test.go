package procfs_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/snapcore-ng/usersession-agent/internal/procfs"
)

func TestStatusFieldOfThisProcess(t *testing.T) {
	threads, err := procfs.StatusField(procfs.Self, "Threads")
	if err != nil || threads < 1 {
		t.Fatalf("threads %d, %v", threads, err)
	}
	rss, err := procfs.StatusField(os.Getpid(), "VmRSS")
	if err != nil || rss < 1 {
		t.Fatalf("VmRSS %d KiB, %v", rss, err)
	}
	if _, err := procfs.StatusField(procfs.Self, "NoSuchField"); err == nil || !strings.Contains(err.Error(), "no NoSuchField") {
		t.Fatalf("missing field gave %v", err)
	}
	uids, err := procfs.StatusValues(procfs.Self, "Uid")
	me := strconv.Itoa(os.Getuid())
	if err != nil || !reflect.DeepEqual(uids, []string{me, me, me, me}) {
		t.Fatalf("Uid values %q, %v; want %s four times", uids, err, me)
	}
	if _, err := procfs.StatusValues(1<<30, "Uid"); err == nil || !strings.Contains(err.Error(), "/proc/1073741824/status") {
		t.Fatalf("a process that does not exist gave %v", err)
	}
}

// startOddlyNamed runs sleep under a name with spaces and parentheses, which
// /proc/PID/stat shows in its command name field.
func startOddlyNamed(t *testing.T) *exec.Cmd {
	t.Helper()
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep")
	}
	link := filepath.Join(t.TempDir(), "a) (b c")
	if err := os.Symlink(sleep, link); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(link, "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	// Until it has exec'd sleep, the child is a copy of this process, and until exec
	// has set up its arguments, its command line is empty.
	want, err := filepath.EvalSymlinks(sleep)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		exe, _ := procfs.Exe(cmd.Process.Pid)
		if args, _ := procfs.Cmdline(cmd.Process.Pid); exe == want && len(args) > 0 {
			return cmd
		}
		if time.Now().After(deadline) {
			t.Fatalf("the child does not come to run %s", want)
		}
	}
}

func TestStatOfAChild(t *testing.T) {
	self, err := procfs.ReadStat(procfs.Self)
	// The state is the main thread's, which may be asleep while this one reads.
	if err != nil || self.PPID != os.Getppid() || !strings.ContainsRune("RSD", rune(self.State)) {
		t.Fatalf("own stat %+v, %v; want running or asleep, parent %d", self, err, os.Getppid())
	}
	cmd := startOddlyNamed(t)
	child, err := procfs.ReadStat(cmd.Process.Pid)
	if err != nil || child.PPID != os.Getpid() || child.StartTime < self.StartTime {
		t.Fatalf("child's stat %+v, %v; want parent %d, started after %d", child, err, os.Getpid(), self.StartTime)
	}
	if name, err := procfs.StatusValues(cmd.Process.Pid, "Name"); err != nil || strings.Join(name, " ") != "a) (b c" {
		t.Errorf("child's name %q, %v", name, err)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	// Not waited for: a zombie until then.
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := procfs.ReadStat(cmd.Process.Pid)
		if err != nil {
			t.Fatal(err)
		}
		if st.State == 'Z' {
			if st.StartTime != child.StartTime {
				t.Errorf("the zombie's start time %d, was %d", st.StartTime, child.StartTime)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the killed child is in state %c, not a zombie", st.State)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestParseStatRefusesWhatItCannotRead(t *testing.T) {
	tail := " 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19"
	if st, err := procfs.ParseStat("42 (x) y) S" + tail); err != nil || st.State != 'S' || st.PPID != 1 || st.UTime != 11 || st.STime != 12 || st.StartTime != 19 {
		t.Errorf("ParseStat = %+v, %v", st, err)
	}
	for _, bad := range []string{"", "42 x S" + tail, "42 (x) S 1 2", "42 (x) S x" + tail[2:], "42 (x) SS" + tail} {
		if st, err := procfs.ParseStat(bad); err == nil {
			t.Errorf("ParseStat(%q) = %+v, want an error", bad, st)
		}
	}
}

func TestOwnerExeAndCmdline(t *testing.T) {
	if uid, err := procfs.Owner(procfs.Self); err != nil || int(uid) != os.Getuid() {
		t.Errorf("Owner = %d, %v; want %d", uid, err, os.Getuid())
	}
	cmd := startOddlyNamed(t)
	want, err := filepath.EvalSymlinks(cmd.Path)
	if err != nil {
		t.Fatal(err)
	}
	if exe, err := procfs.Exe(cmd.Process.Pid); err != nil || exe != want {
		t.Errorf("Exe = %q, %v; want %q", exe, err, want)
	}
	if args, err := procfs.Cmdline(cmd.Process.Pid); err != nil || !reflect.DeepEqual(args, []string{cmd.Path, "60"}) {
		t.Errorf("Cmdline = %q, %v; want %q", args, err, []string{cmd.Path, "60"})
	}
	if _, err := procfs.Exe(1 << 30); err == nil {
		t.Errorf("Exe of no process gave no error")
	}
}

func TestFDTargetAndPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(path, []byte("content"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got, err := procfs.FDTarget(int(f.Fd())); err != nil || got != path {
		t.Errorf("FDTarget = %q, %v; want %q", got, err, path)
	}
	// The descriptor's path reaches the file after it is renamed.
	if err := os.Rename(path, path+".moved"); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(procfs.FDPath(int(f.Fd()))); err != nil || string(data) != "content" {
		t.Errorf("reading %s = %q, %v", procfs.FDPath(int(f.Fd())), data, err)
	}
}

func TestParseSystemdCgroups(t *testing.T) {
	for content, want := range map[string][]string{
		// cgroup v2
		"0::/user.slice/user-1000.slice/user@1000.service/init.scope\n": {"/user.slice/user-1000.slice/user@1000.service/init.scope"},
		// cgroup v1: only systemd's named hierarchy
		"12:pids:/user.slice/x\n1:name=systemd:/user.slice/snap.foo.daemon.service\n": {"/user.slice/snap.foo.daemon.service"},
		// hybrid: both, in order
		"1:name=systemd:/a.scope\n0::/a.scope\n": {"/a.scope", "/a.scope"},
		// a v1 controller line, a bad line, a path holding colons
		"4:memory:/x\nnonsense\n3::/not-v2\n0::/with:colon": {"/with:colon"},
		"": nil,
	} {
		if got := procfs.ParseSystemdCgroups(content); !reflect.DeepEqual(got, want) {
			t.Errorf("ParseSystemdCgroups(%q) = %q, want %q", content, got, want)
		}
	}
}

func TestSystemdCgroupsOfThisProcess(t *testing.T) {
	paths, err := procfs.SystemdCgroups(procfs.Self)
	if err != nil || len(paths) == 0 || !strings.HasPrefix(paths[0], "/") {
		t.Fatalf("SystemdCgroups = %q, %v; want at least one path", paths, err)
	}
	if in, err := procfs.InSystemdCgroup(procfs.Self, "/elsewhere.slice", paths[len(paths)-1]); err != nil || !in {
		t.Errorf("InSystemdCgroup(own cgroup) = %v, %v", in, err)
	}
	if in, err := procfs.InSystemdCgroup(procfs.Self, "/elsewhere.slice"); err != nil || in {
		t.Errorf("InSystemdCgroup(another cgroup) = %v, %v", in, err)
	}
	if _, err := procfs.InSystemdCgroup(1<<30, "/"); err == nil {
		t.Errorf("InSystemdCgroup of no process gave no error")
	}
}
