package integration_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/snapcore-ng/usersession-agent/testkit/testenv"
)

// floodCalls makes n D-Bus calls at once as an app of snap, each from a dbus-send of
// its own (its own connection), each answer in a file of dir named by its number; the
// channel is closed once every call has been answered.
func (s *userdSession) floodCalls(t *testing.T, snap, dir string, n int, call ...string) <-chan struct{} {
	t.Helper()
	s.mkdir(t, dir)
	script := fmt.Sprintf(`i=0; while [ $i -lt %d ]; do i=$((i+1)); dbus-send --session --print-reply --reply-timeout=60000 "$@" >%s/$i 2>&1 & done; wait`, n, dir)
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.asSnap(t, snap, append([]string{"/bin/sh", "-c", script, "sh"}, call...)...)
	}()
	return done
}

// answers are the answers of a flood so far, by file.
func answers(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if data, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil && len(data) > 0 {
			out = append(out, strings.TrimSpace(string(data)))
		}
	}
	return out
}

// A confined app floods OpenURL (30 calls at once, each on its own connection) while
// the stand-in xdg-open keeps running until the test releases it: userd runs four
// xdg-opens for the snap (maxCommandsPerSnap) and refuses the other calls at once
// with a clear LimitsExceeded; another snap's Settings.Get is answered meanwhile;
// three more snaps' Settings.Check calls fill the sixteen commands userd runs in all
// (maxCommands), and the next snap's call past them is refused; once released, the
// calls that ran are answered.
func TestUserdBoundsTheCommandsItRuns(t *testing.T) {
	t.Parallel()
	s := startUserdSession(t, time.Minute)
	work := s.workDir(t)
	release, opened, checked := filepath.Join(work, "release"), filepath.Join(work, "opened"), filepath.Join(work, "checked")
	wait := "i=0; while [ ! -e " + release + " ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done"
	s.standIn(t, "xdg-open", `echo "$1" >>`+opened+"\n"+wait)
	s.standIn(t, "xdg-settings", `case "$1" in
get) echo firefox.desktop ;;
check) echo "$*" >>`+checked+"\n"+wait+"\necho no ;;\nesac")
	t.Cleanup(func() { os.WriteFile(release, nil, 0o644) })
	openURL := []string{"--dest=io.snapcraft.Launcher", "/io/snapcraft/Launcher", "io.snapcraft.Launcher.OpenURL", "string:https://example.com/"}
	check := []string{"--dest=io.snapcraft.Settings", "/io/snapcraft/Settings", "io.snapcraft.Settings.Check", "string:default-web-browser", "string:browser.desktop"}

	const floodCalls, perSnap, inAll = 30, 4, 16
	floodDir := filepath.Join(work, "flood")
	flood := s.floodCalls(t, "flooder", floodDir, floodCalls, openURL...)
	testenv.WaitFor(t, 60*time.Second, "every flooding call answered or running xdg-open", func() bool {
		return len(answers(t, floodDir))+len(lines(t, opened)) >= floodCalls
	})
	if n := len(lines(t, opened)); n != perSnap {
		t.Fatalf("%d xdg-opens run at once for one snap, want %d", n, perSnap)
	}
	for _, a := range answers(t, floodDir) {
		if !strings.Contains(a, "org.freedesktop.DBus.Error.LimitsExceeded") || !strings.Contains(a, `commands are running for snap "flooder"`) {
			t.Errorf("a flooding call past the snap's bound got %q, want LimitsExceeded naming the snap", a)
		}
	}

	if out, ok := s.asSnap(t, "getter", "dbus-send", "--session", "--print-reply", "--reply-timeout=30000",
		"--dest=io.snapcraft.Settings", "/io/snapcraft/Settings", "io.snapcraft.Settings.Get", "string:default-web-browser"); !ok || !strings.Contains(out, "NOT-THIS-SNAP.desktop") {
		t.Errorf("another snap's Get during the flood = %v %s, want it answered", ok, out)
	}

	var checks []<-chan struct{}
	for i := 1; i <= (inAll-perSnap)/perSnap; i++ {
		checks = append(checks, s.floodCalls(t, fmt.Sprintf("checker%d", i), filepath.Join(work, fmt.Sprintf("check%d", i)), perSnap, check...))
	}
	testenv.WaitFor(t, 60*time.Second, "the checkers' xdg-settings running", func() bool { return len(lines(t, checked)) >= inAll-perSnap })
	out, ok := s.asSnap(t, "late", "dbus-send", "--session", "--print-reply", "--reply-timeout=30000", check[0], check[1], check[2], check[3], check[4])
	if ok || !strings.Contains(out, "LimitsExceeded") || !strings.Contains(out, "16 commands are running, the most userd runs at once") {
		t.Errorf("a call with %d commands running = %v %s, want it refused over the bound in all", inAll, ok, out)
	}
	if n := len(lines(t, checked)); n != inAll-perSnap {
		t.Errorf("%d xdg-settings checks ran, want %d", n, inAll-perSnap)
	}

	if err := os.WriteFile(release, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	<-flood
	for _, c := range checks {
		<-c
	}
	answered := 0
	for _, a := range answers(t, floodDir) {
		if strings.HasPrefix(a, "method return") {
			answered++
		}
	}
	if answered != perSnap {
		t.Errorf("%d flooding calls answered OK once released, want %d", answered, perSnap)
	}
	for i := 1; i <= (inAll-perSnap)/perSnap; i++ {
		for _, a := range answers(t, filepath.Join(work, fmt.Sprintf("check%d", i))) {
			if !strings.Contains(a, `"no"`) {
				t.Errorf("checker%d's Check once released = %q, want no", i, a)
			}
		}
	}
}
