package testenv

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// StartAnnouncing starts cmd in a process group of its own with a pipe as its file
// descriptor 3, and returns the first line the daemon writes there, trimmed: the way
// dbus-daemon (--print-address=3) and Xvfb (-displayfd 3) say they are ready, which
// the socket or display appearing does not. It fails t if no line comes within 20 s,
// and kills the whole group at t's cleanup.
func StartAnnouncing(t testing.TB, cmd *exec.Cmd, what string) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		w.Close()
		t.Fatalf("cannot start %s: %v", what, err)
	}
	w.Close()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	})
	r.SetReadDeadline(time.Now().Add(20 * time.Second))
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil {
		t.Fatalf("%s did not say it is ready: %v", what, err)
	}
	return strings.TrimSpace(line)
}
