package systemd_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/snapcore-ng/usersession-agent/systemd"
	"github.com/snapcore-ng/usersession-agent/testkit/testenv"
	"github.com/snapcore-ng/usersession-agent/testkit/usersessiontest"
)

// fixtures are the units the tests install, by name, one of each kind.
var fixtures = map[string]string{
	"snap.foo.svc.service":      usersessiontest.SimpleUnit,
	"snap.foo.tmpl@.service":    usersessiontest.TemplateUnit,
	"snap.foo.fail.service":     usersessiontest.FailingUnit,
	"snap.foo.stubborn.service": usersessiontest.StubbornUnit,
	"snap.foo.slowstop.service": usersessiontest.SlowStopUnit,
}

// session starts a real user manager, installs the named fixtures into the user's
// unit directory, reloads the manager and returns a Manager connected to it.
func session(t *testing.T, names ...string) (*usersessiontest.Session, *systemd.Manager) {
	t.Helper()
	s := usersessiontest.Start(t, usersessiontest.Options{})
	for _, name := range names {
		s.WriteUserUnit(name, fixtures[name])
	}
	return s, s.Manager()
}

func status(t *testing.T, m *systemd.Manager, unit string) systemd.UnitStatus {
	t.Helper()
	sts, err := m.Status(t.Context(), []string{unit})
	if err != nil {
		t.Fatal(err)
	}
	return sts[0]
}

func TestStartAndStopFollowJobsToTheirEnd(t *testing.T) {
	t.Parallel()
	_, m := session(t, "snap.foo.svc.service")
	// The job results arrive as JobRemoved signals, which the manager sends on its
	// private socket without Subscribe: were they not delivered, Start would wait out
	// its deadline.
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	t0 := time.Now()
	if err := m.Start(ctx, "snap.foo.svc.service"); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(t0); d > 2*time.Second {
		t.Errorf("start took %v", d)
	}
	if st := status(t, m, "snap.foo.svc.service"); st.ActiveState != "active" || st.SubState != "running" || st.MainPID == 0 {
		t.Fatalf("after start: %+v", st)
	}
	if err := m.Stop(ctx, "snap.foo.svc.service"); err != nil {
		t.Fatal(err)
	}
	if st := status(t, m, "snap.foo.svc.service"); st.ActiveState != "inactive" {
		t.Fatalf("after stop: %+v", st)
	}
}

func TestFailedStartSaysWhy(t *testing.T) {
	t.Parallel()
	_, m := session(t, "snap.foo.fail.service")
	err := m.Start(t.Context(), "snap.foo.fail.service")
	var jerr *systemd.JobError
	if !errors.As(err, &jerr) {
		t.Fatalf("want a *JobError, got %v", err)
	}
	if jerr.Result != "failed" || jerr.UnitResult != "exit-code" || jerr.ExecMainStatus != 3 || jerr.ActiveState != "failed" {
		t.Errorf("unexpected job error %+v", jerr)
	}
	want := `cannot start "snap.foo.fail.service": job failed (unit result: exit-code, status 3)`
	if err.Error() != want {
		t.Errorf("got message %q, want %q", err, want)
	}
}

// A unit that is not loaded, or has no file, is ErrNoSuchUnit for every call:
// callers tell "nothing to stop or disable" from a failure by it.
func TestMissingUnitIsErrNoSuchUnit(t *testing.T) {
	t.Parallel()
	_, m := session(t, "snap.foo.svc.service")
	_, stopErr := m.StopOrKill(t.Context(), "snap.foo.missing.service", 0)
	for name, err := range map[string]error{
		"start":   m.Start(t.Context(), "snap.foo.missing.service"),
		"enable":  m.Enable(t.Context(), []string{"snap.foo.missing.service"}),
		"stop":    stopErr,
		"disable": m.Disable(t.Context(), []string{"snap.foo.svc.service", "snap.foo.missing.service"}),
	} {
		if !errors.Is(err, systemd.ErrNoSuchUnit) {
			t.Errorf("%s: want ErrNoSuchUnit, got %v", name, err)
		}
	}
}

func TestTemplateInstance(t *testing.T) {
	t.Parallel()
	_, m := session(t, "snap.foo.tmpl@.service")
	for _, inst := range []string{"snap.foo.tmpl@1.service", "snap.foo.tmpl@2.service"} {
		if err := m.Start(t.Context(), inst); err != nil {
			t.Fatal(err)
		}
	}
	sts, err := m.Status(t.Context(), []string{"snap.foo.tmpl@1.service", "snap.foo.tmpl@2.service"})
	if err != nil {
		t.Fatal(err)
	}
	if sts[0].ActiveState != "active" || sts[1].ActiveState != "active" || sts[0].MainPID == sts[1].MainPID {
		t.Fatalf("instances: %+v", sts)
	}
	if err := m.Stop(t.Context(), "snap.foo.tmpl@1.service"); err != nil {
		t.Fatal(err)
	}
	if st := status(t, m, "snap.foo.tmpl@2.service"); st.ActiveState != "active" {
		t.Fatalf("stopping one instance touched the other: %+v", st)
	}
}

func TestEnableAndDisable(t *testing.T) {
	t.Parallel()
	s, m := session(t, "snap.foo.svc.service")
	link := filepath.Join(s.Home, ".config/systemd/user/default.target.wants/snap.foo.svc.service")
	if err := m.Enable(t.Context(), []string{"snap.foo.svc.service"}); err != nil {
		t.Fatal(err)
	}
	if err := m.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(link); err != nil {
		t.Fatalf("enable made no link: %v", err)
	}
	if st := status(t, m, "snap.foo.svc.service"); st.UnitFileState != "enabled" {
		t.Fatalf("after enable: %+v", st)
	}
	if err := m.Disable(t.Context(), []string{"snap.foo.svc.service"}); err != nil {
		t.Fatal(err)
	}
	if err := m.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(link); !os.IsNotExist(err) {
		t.Fatalf("disable left the link: %v", err)
	}
	if st := status(t, m, "snap.foo.svc.service"); st.UnitFileState != "disabled" {
		t.Fatalf("after disable: %+v", st)
	}
}

func TestDaemonReloadPicksUpNewAndChangedUnits(t *testing.T) {
	t.Parallel()
	s, m := session(t, "snap.foo.svc.service")
	// A started unit stays loaded, so the manager compares its files with what it
	// loaded; a unit not loaded would simply be read afresh.
	if err := m.Start(t.Context(), "snap.foo.svc.service"); err != nil {
		t.Fatal(err)
	}
	if st := status(t, m, "snap.foo.new.service"); st.Installed() {
		t.Fatalf("unit exists before it is written: %+v", st)
	}
	s.WriteUserUnit("snap.foo.new.service", "[Service]\nExecStart=/bin/sleep infinity\n")
	s.WriteUserUnit("snap.foo.svc.service", "[Unit]\nDescription=changed\n[Service]\nType=exec\nExecStart=/bin/sleep infinity\n")
	if st := status(t, m, "snap.foo.svc.service"); !st.NeedDaemonReload || st.Type != "simple" {
		t.Fatalf("changed unit before reload: %+v", st)
	}
	if err := m.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	sts, err := m.Status(t.Context(), []string{"snap.foo.new.service", "snap.foo.svc.service"})
	if err != nil {
		t.Fatal(err)
	}
	if !sts[0].Installed() || sts[0].LoadState != "loaded" {
		t.Errorf("new unit after reload: %+v", sts[0])
	}
	if sts[1].NeedDaemonReload || sts[1].Type != "exec" {
		t.Errorf("changed unit after reload: %+v", sts[1])
	}
	if err := m.Start(t.Context(), "snap.foo.new.service"); err != nil {
		t.Fatal(err)
	}
}

func TestStatusOfLoadedMissingAndFailedUnits(t *testing.T) {
	t.Parallel()
	_, m := session(t, "snap.foo.svc.service", "snap.foo.fail.service")
	if err := m.Start(t.Context(), "snap.foo.svc.service"); err != nil {
		t.Fatal(err)
	}
	_ = m.Start(t.Context(), "snap.foo.fail.service")
	sts, err := m.Status(t.Context(), []string{"snap.foo.svc.service", "snap.foo.missing.service", "snap.foo.fail.service"})
	if err != nil {
		t.Fatal(err)
	}
	loaded, missing, failed := sts[0], sts[1], sts[2]
	if loaded.ID != "snap.foo.svc.service" || loaded.LoadState != "loaded" || loaded.ActiveState != "active" ||
		loaded.Type != "simple" || loaded.MainPID == 0 || loaded.UnitFileState != "disabled" || len(loaded.Names) != 1 {
		t.Errorf("loaded: %+v", loaded)
	}
	if missing.Installed() || missing.LoadState != "not-found" || missing.ActiveState != "inactive" || missing.Name != "snap.foo.missing.service" {
		t.Errorf("missing: %+v", missing)
	}
	if !failed.Installed() || failed.ActiveState != "failed" || failed.Type != "oneshot" || failed.UnitFileState != "disabled" {
		t.Errorf("failed: %+v", failed)
	}
}

// The manager, told SendSIGKILL=no, leaves a process that ignores SIGTERM running
// after its stop timeout and reports the unit stopped. StopOrKill kills it instead:
// the first subtest shows what the manager alone does, so that the second shows our
// kill, not the manager's.
func TestUnitIgnoringTERMIsKilled(t *testing.T) {
	t.Parallel()
	_, m := session(t, "snap.foo.stubborn.service")
	const unit = "snap.foo.stubborn.service"
	startStubborn := func(t *testing.T) uint32 {
		if err := m.Start(t.Context(), unit); err != nil {
			t.Fatal(err)
		}
		pid := status(t, m, unit).MainPID
		testenv.WaitIgnoresTERM(t, int(pid))
		return pid
	}

	t.Run("the manager alone leaves it running", func(t *testing.T) {
		pid := startStubborn(t)
		if err := m.Stop(t.Context(), unit); err != nil {
			t.Fatal(err)
		}
		if testenv.ProcessGone(int(pid)) {
			t.Fatal("the manager killed the process: this fixture does not test our kill")
		}
		syscall.Kill(int(pid), syscall.SIGKILL)
		// Until the manager has reaped it, the process is still in the unit's
		// cgroup, and the next start fails (unit result: resources).
		for i := 0; ; i++ {
			if _, err := os.Stat("/proc/" + strconv.Itoa(int(pid))); errors.Is(err, fs.ErrNotExist) {
				break
			}
			if i == 500 {
				t.Fatalf("the manager does not reap process %d", pid)
			}
			time.Sleep(10 * time.Millisecond)
		}
		if err := m.Stop(t.Context(), unit); err != nil { // let the manager notice
			t.Fatal(err)
		}
	})

	t.Run("StopOrKill kills it", func(t *testing.T) {
		pid := startStubborn(t)
		t0 := time.Now()
		res, err := m.StopOrKill(t.Context(), unit, 300*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		took := time.Since(t0)
		if !res.Killed || res.KillAfter != 1300*time.Millisecond {
			t.Errorf("got %+v, want killed after 1.3s", res)
		}
		// The first subtest shows the manager leaves the process running: it is
		// gone because of our SIGKILL. The time is logged, not asserted.
		t.Logf("stopped and killed in %v", took.Round(time.Millisecond))
		if !testenv.ProcessGone(int(pid)) {
			t.Errorf("process %d survived", pid)
		}
		if st := status(t, m, unit); st.ActiveState == "active" {
			t.Errorf("after kill: %+v", st)
		}
	})
}

// A unit whose stop timeout exceeds the caller's deadline is killed before the
// deadline, so that the caller gets an answer in time.
func TestStopOrKillRespectsTheDeadline(t *testing.T) {
	t.Parallel()
	_, m := session(t, "snap.foo.slowstop.service")
	const unit = "snap.foo.slowstop.service"
	if err := m.Start(t.Context(), unit); err != nil {
		t.Fatal(err)
	}
	pid := status(t, m, unit).MainPID
	testenv.WaitIgnoresTERM(t, int(pid))
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	t0 := time.Now()
	res, err := m.StopOrKill(ctx, unit, 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Killed || time.Since(t0) > 2*time.Second {
		t.Errorf("got %+v after %v", res, time.Since(t0))
	}
	if !testenv.ProcessGone(int(pid)) {
		t.Errorf("process %d survived", pid)
	}
}

func TestTwoUsersEachTouchOnlyTheirOwnUnits(t *testing.T) {
	t.Parallel()
	sa, a := session(t, "snap.foo.svc.service")
	sb, b := session(t, "snap.foo.svc.service")
	if sa.UID == sb.UID {
		t.Fatal("both sessions have the same user")
	}
	if err := a.Start(t.Context(), "snap.foo.svc.service"); err != nil {
		t.Fatal(err)
	}
	if st := status(t, b, "snap.foo.svc.service"); st.ActiveState != "inactive" {
		t.Fatalf("starting in A's session started B's unit: %+v", st)
	}
	if err := b.Start(t.Context(), "snap.foo.svc.service"); err != nil {
		t.Fatal(err)
	}
	pa, pb := status(t, a, "snap.foo.svc.service").MainPID, status(t, b, "snap.foo.svc.service").MainPID
	if err := b.Stop(t.Context(), "snap.foo.svc.service"); err != nil {
		t.Fatal(err)
	}
	if testenv.ProcessGone(int(pa)) || !testenv.ProcessGone(int(pb)) {
		t.Fatalf("stopping in B's session: A's process alive %v, B's %v", !testenv.ProcessGone(int(pa)), !testenv.ProcessGone(int(pb)))
	}
	for pid, uid := range map[uint32]int{pa: sa.UID} {
		var st syscall.Stat_t
		if err := syscall.Stat("/proc/"+strconv.Itoa(int(pid)), &st); err != nil || int(st.Uid) != uid {
			t.Errorf("process %d runs as %d, want %d (%v)", pid, st.Uid, uid, err)
		}
	}
}

// A manager that does not answer (stopped with SIGSTOP) makes calls and connects fail
// at their deadline with an error wrapping context.DeadlineExceeded, and the
// connection works again once the manager resumes.
func TestHungManagerTimesOut(t *testing.T) {
	t.Parallel()
	s, m := session(t, "snap.foo.svc.service")
	pid := s.ManagerPID()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(pid, syscall.SIGCONT)

	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	err := m.Start(ctx, "snap.foo.svc.service")
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(t0) > time.Second {
		t.Errorf("start on a hung manager: %v after %v", err, time.Since(t0))
	}
	ctx, cancel = context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	if _, err := systemd.ConnectPrivate(ctx, s.PrivateSocket()); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("connect to a hung manager: %v", err)
	}

	syscall.Kill(pid, syscall.SIGCONT)
	if err := m.Start(t.Context(), "snap.foo.svc.service"); err != nil {
		t.Fatalf("after the manager resumed: %v", err)
	}
}

func TestKillSignalsEveryProcessOfTheUnit(t *testing.T) {
	t.Parallel()
	s, m := session(t)
	s.WriteUserUnit("snap.foo.two.service", "[Service]\nExecStart=/bin/sh -c 'sleep infinity & exec sleep infinity'\n")
	if err := m.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := m.Start(t.Context(), "snap.foo.two.service"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // let the shell fork and exec
	procs := cgroupProcs(t, s.UID, "snap.foo.two.service")
	if len(procs) != 2 {
		t.Fatalf("want 2 processes, got %v", procs)
	}
	if err := m.Kill(t.Context(), "snap.foo.two.service", syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for _, p := range procs {
		for !testenv.ProcessGone(p) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if !testenv.ProcessGone(p) {
			t.Errorf("process %d survived", p)
		}
	}
}

// cgroupProcs lists the processes of a unit of the user's manager, from the cgroup2
// hierarchy.
func cgroupProcs(t *testing.T, uid int, unit string) []int {
	t.Helper()
	base := "/sys/fs/cgroup/unified/user.slice/user-" + strconv.Itoa(uid) + ".slice/user@" + strconv.Itoa(uid) + ".service"
	var procs []int
	filepath.WalkDir(base, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() || d.Name() != unit {
			return nil
		}
		data, _ := os.ReadFile(filepath.Join(p, "cgroup.procs"))
		for _, f := range strings.Fields(string(data)) {
			n, _ := strconv.Atoi(f)
			procs = append(procs, n)
		}
		return filepath.SkipDir
	})
	return procs
}

// ResetFailed brings a failed unit back to inactive (the agent calls it on its own
// unit after every clean exit, to reset its start counter). UnitOfPID finds the unit
// of a process.
func TestResetFailedAndUnitOfPID(t *testing.T) {
	t.Parallel()
	_, m := session(t, "snap.foo.fail.service", "snap.foo.svc.service")
	if err := m.Start(t.Context(), "snap.foo.fail.service"); err == nil {
		t.Fatal("snap.foo.fail.service started")
	}
	if st := status(t, m, "snap.foo.fail.service"); st.ActiveState != "failed" {
		t.Fatalf("after a failed start: %+v", st)
	}
	if err := m.ResetFailed(t.Context(), "snap.foo.fail.service"); err != nil {
		t.Fatal(err)
	}
	if st := status(t, m, "snap.foo.fail.service"); st.ActiveState != "inactive" {
		t.Errorf("after ResetFailed: %+v", st)
	}
	if err := m.Start(t.Context(), "snap.foo.svc.service"); err != nil {
		t.Fatal(err)
	}
	pid := status(t, m, "snap.foo.svc.service").MainPID
	if got, err := m.UnitOfPID(t.Context(), pid); err != nil || got != "snap.foo.svc.service" {
		t.Errorf("UnitOfPID(%d) = %q, %v; want snap.foo.svc.service", pid, got, err)
	}
}
