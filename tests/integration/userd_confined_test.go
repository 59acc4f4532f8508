package integration_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/snapcore-ng/usersession-agent/testkit/testenv"
)

// What confined apps ask of snap userd, and what they must not get: each test runs
// snap userd as snapd.userd.service in a real user session (D-Bus activated), with
// the callers in scopes named as `snap run` names them and recording stand-ins for
// the desktop tools on the user manager's PATH.

// snapDesktopDir is snapd's desktop files directory, which userd reads; the tests
// name their files after the session's uid, as tests run in parallel.
const snapDesktopDir = "/var/lib/snapd/desktop/applications"

var (
	openfileOnce sync.Once
	openfilePath string
	openfileErr  error
)

// openfileClient is tests/lib/openfile, built once per test process into a
// directory every user may read.
func openfileClient(t *testing.T) string {
	t.Helper()
	openfileOnce.Do(func() {
		var dir string
		if dir, openfileErr = os.MkdirTemp("", "userd-test-openfile-"); openfileErr != nil {
			return
		}
		if openfileErr = os.Chmod(dir, 0o755); openfileErr != nil {
			return
		}
		openfilePath = filepath.Join(dir, "openfile")
		cmd := exec.Command("go", "build", "-o", openfilePath, "./tests/lib/openfile")
		cmd.Dir = repoRoot(t)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			openfileErr = fmt.Errorf("cannot build openfile: %v\n%s", err, out)
		}
	})
	if openfileErr != nil {
		t.Fatal(openfileErr)
	}
	return openfilePath
}

// standIn replaces the stand-in tool on the user manager's PATH with a shell script.
func (s *userdSession) standIn(t *testing.T, tool, body string) {
	t.Helper()
	writeOwned(t, s.Session, filepath.Join(s.standIns, tool), "#!/bin/sh\n"+body+"\n", 0o755)
}

// workDir is an empty directory of the user's for one test's files.
func (s *userdSession) workDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(s.Home, "userd-work")
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	s.mkdir(t, dir)
	return dir
}

func (s *userdSession) mkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, s.UID, s.GID); err != nil {
		t.Fatal(err)
	}
}

var launchSeq atomic.Int64

// asSnap runs args as an app of snap: in a scope named as `snap run` names them
// (snap.SNAP.APP-ID.scope), from a transient service so that the scope is in the
// manager's cgroup tree. It returns the command's combined output and whether it
// exited 0.
func (s *userdSession) asSnap(t *testing.T, snap string, args ...string) (string, bool) {
	t.Helper()
	n := launchSeq.Add(1)
	// The stand-ins come first on the manager's PATH: the scope is made by the real
	// systemd-run. --pipe --wait gives the command's output and exit status.
	out, err := s.Run(append([]string{"systemd-run", "--user", "--quiet", "--collect", "--pipe", "--wait",
		fmt.Sprintf("--unit=launch-%s-%d", snap, n), "--",
		"/usr/bin/systemd-run", "--user", "--quiet", "--scope", fmt.Sprintf("--unit=snap.%s.app-%d.scope", snap, n), "--"},
		args...)...)
	return strings.TrimSpace(out), err == nil
}

// lines are the lines of a file the stand-ins write, none when it is missing.
func lines(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	if s := strings.TrimRight(string(data), "\n"); s != "" {
		return strings.Split(s, "\n")
	}
	return nil
}

// askingZenity is a zenity stand-in that notes each question as one line in asked
// (its text has lines of its own), then runs then.
func askingZenity(asked, then string) string {
	return `echo "$*" | tr '\n' ' ' >>` + asked + "\necho >>" + asked + "\n" + then
}

// An app swaps the file the user is asked about while the question is open (the
// stand-in zenity does the swap, then says yes): what xdg-open would open is no
// longer the file the user approved, and the call is refused without running it. The
// swaps: a symbolic link to another file put over it, another file renamed over it,
// and its directory replaced by a symbolic link to itself (the same file, reached
// through a link).
func TestUserdOpenFileRefusesAFileSwappedDuringTheQuestion(t *testing.T) {
	t.Parallel()
	s := startUserdSession(t, time.Minute)
	client := openfileClient(t)
	work := s.workDir(t)
	opened, asked := filepath.Join(work, "opened"), filepath.Join(work, "asked")
	// xdg-open notes its argument and what reading it gives.
	s.standIn(t, "xdg-open", `printf '%s|%s\n' "$1" "$(head -c 64 "$1" 2>/dev/null)" >>`+opened)
	docs := filepath.Join(work, "docs")
	report := filepath.Join(docs, "report.txt")
	swaps := []struct{ name, script string }{
		{"no swap", ""},
		{"symlink to another file", fmt.Sprintf("ln -s %s/secret.txt %s.new && mv -T %s.new %s", work, report, report, report)},
		{"another file renamed over it", fmt.Sprintf("echo other >%s/other.txt && mv %s/other.txt %s", work, work, report)},
		{"its directory a symlink to itself", fmt.Sprintf("mv %s %s.real && ln -s %s.real %s", docs, docs, docs, docs)},
	}
	for i, swap := range swaps {
		t.Run(swap.name, func(t *testing.T) {
			for _, p := range []string{docs, docs + ".real"} {
				if err := os.RemoveAll(p); err != nil {
					t.Fatal(err)
				}
			}
			s.mkdir(t, docs)
			writeOwned(t, s.Session, report, "report\n", 0o644)
			writeOwned(t, s.Session, filepath.Join(work, "secret.txt"), "secret\n", 0o600)
			s.standIn(t, "zenity", askingZenity(asked, swap.script))

			out, ok := s.asSnap(t, "swapper", client, report)
			if n := len(lines(t, asked)); n != i+1 {
				t.Fatalf("zenity ran %d times, want %d (one question per call)", n, i+1)
			}
			got := lines(t, opened)
			if swap.script == "" {
				if !ok || len(got) != 1 || got[0] != report+"|report" {
					t.Fatalf("OpenFile of an unchanged file: %v %s; xdg-open ran with %q, want %s once", ok, out, got, report)
				}
				return
			}
			if ok || !strings.Contains(out, "AccessDenied") || !strings.Contains(out, "changed since the user was asked") {
				t.Errorf("OpenFile of a file swapped during the question = %v %s, want it refused as changed", ok, out)
			}
			if len(got) != 1 {
				t.Errorf("xdg-open ran with %q after the swap, want only the first, unchanged file", got[1:])
			}
		})
	}
}

// One confined app floods OpenFile (300 calls at once on one connection) while the
// stand-in zenity keeps each question open until the test releases it: the snap gets
// one question and every other call is refused at once with a clear error; another
// caller's OpenURL is answered meanwhile, other snaps get questions of their own up to
// the global cap of four open at once, and the next snap past it is refused.
func TestUserdOpenFileFloodGetsOneQuestionAndOthersAreServed(t *testing.T) {
	t.Parallel()
	s := startUserdSession(t, time.Minute)
	client := openfileClient(t)
	work := s.workDir(t)
	asked, release, opened := filepath.Join(work, "asked"), filepath.Join(work, "release"), filepath.Join(work, "opened")
	s.standIn(t, "zenity", askingZenity(asked, "i=0; while [ ! -e "+release+" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done"))
	s.standIn(t, "xdg-open", `echo "$1" >>`+opened)
	file := filepath.Join(work, "report.txt")
	writeOwned(t, s.Session, file, "report\n", 0o644)
	t.Cleanup(func() { os.WriteFile(release, nil, 0o644) })

	type result struct {
		out string
		ok  bool
	}
	start := func(snap string, args ...string) <-chan result {
		done := make(chan result, 1)
		go func() {
			out, ok := s.asSnap(t, snap, args...)
			done <- result{out, ok}
		}()
		return done
	}
	const floodCalls = 300
	flood := start("flooder", client, "-n", strconv.Itoa(floodCalls), file)
	testenv.WaitFor(t, 60*time.Second, "the flooding snap's question", func() bool { return len(lines(t, asked)) >= 1 })

	s.openURL(t, "", "https://example.com/while-flooded")
	testenv.WaitFor(t, 10*time.Second, "another caller's URL opened", func() bool {
		return strings.Contains(strings.Join(lines(t, opened), "\n"), "https://example.com/while-flooded")
	})

	var others []<-chan result
	for i := 2; i <= 4; i++ {
		others = append(others, start(fmt.Sprintf("asker%d", i), client, file))
		testenv.WaitFor(t, 30*time.Second, fmt.Sprintf("question %d", i), func() bool { return len(lines(t, asked)) >= i })
	}
	// Past the cap: refused at once, or (without one) asked, which the test then
	// reports.
	over := start("asker5", client, file)
	var overRes result
	answered := false
	testenv.WaitFor(t, 30*time.Second, "the fifth snap's answer or question", func() bool {
		select {
		case overRes = <-over:
			answered = true
			return true
		default:
			return len(lines(t, asked)) >= 5
		}
	})
	if n := len(lines(t, asked)); n != 4 {
		t.Errorf("%d questions were asked, want 4: one for the flooding snap, one each for three others, none past the cap", n)
	}
	if err := os.WriteFile(release, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if !answered {
		overRes = <-over
	}
	if overRes.ok || !strings.Contains(overRes.out, "LimitsExceeded") || !strings.Contains(overRes.out, "questions are open") {
		t.Errorf("OpenFile of a fifth snap with four questions open = %v %s, want it refused over the cap", overRes.ok, overRes.out)
	}
	for i, c := range others {
		if r := <-c; !r.ok {
			t.Errorf("OpenFile of snap asker%d: %s", i+2, r.out)
		}
	}

	r := <-flood
	t.Logf("the flood's answers:\n%s", r.out)
	// The client prints "N OK" or "N ERROR-NAME: [MESSAGE]" per distinct answer, and
	// the time of all answers but the last.
	outcome := regexp.MustCompile(`^(\d+) (.*)$`)
	total, okCalls := 0, 0
	for _, line := range strings.Split(r.out, "\n") {
		if strings.Contains(line, "answers but the last took") {
			continue
		}
		m := outcome.FindStringSubmatch(line)
		if m == nil {
			t.Errorf("unexpected output of the flooding client: %q", line)
			continue
		}
		n, _ := strconv.Atoi(m[1])
		total += n
		switch {
		case m[2] == "OK":
			okCalls += n
		case strings.HasPrefix(m[2], "org.freedesktop.DBus.Error.LimitsExceeded: ") &&
			(strings.Contains(m[2], `a question for snap "flooder" is already open`) ||
				strings.Contains(m[2], "calls from this connection are being identified")):
		default:
			t.Errorf("%d flooding calls got %q, want a refusal over a limit", n, m[2])
		}
	}
	if total != floodCalls || okCalls != 1 {
		t.Errorf("the flood got %d answers, %d of them OK; want %d answers, 1 OK:\n%s", total, okCalls, floodCalls, r.out)
	}
}

// OpenDesktopEntry launches only what snapd itself writes into its desktop files
// directory, as snapd does: an Exec= of snapd's launcher prefix naming that very file
// (`env BAMF_DESKTOP_FILE_HINT=FILE /snap/bin/APP`), in a file with one [Desktop
// Entry] group; of a key given twice, the last counts (snapd's parser). A recording
// systemd-run stands in for the launch.
func TestUserdOpenDesktopEntryRunsOnlySnapdsLauncher(t *testing.T) {
	t.Parallel()
	s := startUserdSession(t, time.Minute)
	work := s.workDir(t)
	launched := filepath.Join(work, "launched")
	s.standIn(t, "systemd-run", `echo "$*" >>`+launched)
	if err := os.MkdirAll(snapDesktopDir, 0o755); err != nil {
		t.Fatal(err)
	}
	prefix := fmt.Sprintf("dt%d", s.UID)
	path := func(app string) string { return filepath.Join(snapDesktopDir, prefix+"_"+app+".desktop") }
	good := func(app string) string {
		return "Exec=env BAMF_DESKTOP_FILE_HINT=" + path(app) + " /snap/bin/" + prefix + "." + app + " --new %U\n"
	}
	for _, tc := range []struct {
		app, content string
		launches     bool
		why          string
	}{
		{"good", "[Desktop Entry]\nName=Good\n" + good("good"), true, ""},
		{"noprefix", "[Desktop Entry]\nExec=/usr/bin/id\n", false, "launcher"},
		{"otherhint", "[Desktop Entry]\nExec=env BAMF_DESKTOP_FILE_HINT=" + path("good") + " /snap/bin/" + prefix + ".x\n", false, "launcher"},
		{"notsnapbin", "[Desktop Entry]\nExec=env BAMF_DESKTOP_FILE_HINT=" + path("notsnapbin") + " /usr/bin/id\n", false, "launcher"},
		{"dotdot", "[Desktop Entry]\nExec=env BAMF_DESKTOP_FILE_HINT=" + path("dotdot") + " /snap/bin/../../usr/bin/id\n", false, "launcher"},
		{"morevars", "[Desktop Entry]\nExec=env BAMF_DESKTOP_FILE_HINT=" + path("morevars") + " LD_PRELOAD=/tmp/x.so /snap/bin/" + prefix + ".x\n", false, "launcher"},
		{"twogroups", "[Desktop Entry]\n" + good("twogroups") + "[Desktop Action new]\nExec=/usr/bin/id\n[Desktop Entry]\nName=Again\n", false, "more than one [Desktop Entry] group"},
		{"lastbad", "[Desktop Entry]\n" + good("lastbad") + "Exec=/usr/bin/id\n", false, "launcher"},
		{"lastgood", "[Desktop Entry]\nExec=/usr/bin/id\n" + good("lastgood"), true, ""},
	} {
		t.Run(tc.app, func(t *testing.T) {
			writeOwned(t, s.Session, path(tc.app), tc.content, 0o644)
			t.Cleanup(func() { os.Remove(path(tc.app)) })
			before := len(lines(t, launched))
			out, err := s.Run("dbus-send", "--session", "--print-reply", "--reply-timeout=30000",
				"--dest=io.snapcraft.PrivilegedDesktopLauncher", "/io/snapcraft/PrivilegedDesktopLauncher",
				"io.snapcraft.PrivilegedDesktopLauncher.OpenDesktopEntry", "string:"+filepath.Base(path(tc.app)))
			got := lines(t, launched)[before:]
			if tc.launches {
				want := "--user --collect --quiet -- env BAMF_DESKTOP_FILE_HINT=" + path(tc.app) + " /snap/bin/" + prefix + "." + tc.app + " --new"
				if err != nil || len(got) != 1 || got[0] != want {
					t.Errorf("OpenDesktopEntry: %v %s; systemd-run ran with %q, want %q", err, out, got, want)
				}
				return
			}
			if err == nil || !strings.Contains(out, "AccessDenied") || !strings.Contains(out, tc.why) {
				t.Errorf("OpenDesktopEntry = %v %s, want it refused (%s)", err, out, tc.why)
			}
			if len(got) != 0 {
				t.Errorf("systemd-run ran with %q for a refused entry", got)
			}
		})
	}
}

// A URL that cannot be parsed (here: long, with a control character) or has a long
// scheme is refused with an error that does not repeat it, and userd's log does not
// either (snapd answers "invalid argument" without the URL).
func TestUserdOpenURLErrorsDoNotEchoTheURL(t *testing.T) {
	t.Parallel()
	s := startUserdSession(t, time.Minute)
	work := s.workDir(t)
	log := filepath.Join(work, "userd.log")
	s.WriteUserUnit(userdService+".d/log.conf", "[Service]\nStandardOutput=append:"+log+"\nStandardError=append:"+log+"\n")
	runAs(t, s.Session, "systemctl", "--user", "daemon-reload")
	// userd writes the log: it must exist and be the user's before it starts.
	writeOwned(t, s.Session, log, "", 0o644)
	marker := strings.Repeat("x", 60000)
	for _, url := range []string{
		"https://example.com/" + marker + "\x01",
		marker + "://example.com/",
	} {
		out, err := s.Run("dbus-send", "--session", "--print-reply", "--reply-timeout=30000",
			"--dest=io.snapcraft.Launcher", "/io/snapcraft/Launcher", "io.snapcraft.Launcher.OpenURL", "string:"+url)
		if err == nil || strings.Contains(out, "xxxxxxxxxx") || len(out) > 1024 {
			t.Errorf("OpenURL of a bad URL = %v, %d bytes: %.300s; want an error without the URL", err, len(out), out)
		}
	}
	if lines(t, s.opened) != nil {
		t.Errorf("xdg-open ran for refused URLs")
	}
	// The log has the refusals, without the URLs.
	testenv.WaitFor(t, 10*time.Second, "userd's log of the refusals", func() bool {
		return strings.Count(strings.Join(lines(t, log), "\n"), "refused") >= 2
	})
	for _, line := range lines(t, log) {
		if strings.Contains(line, "xxxxxxxxxx") || len(line) > 1024 {
			t.Errorf("userd's log has the URL, %d bytes: %.300s", len(line), line)
		}
	}
}

// An instance of a snap (NAME_KEY) sets and reads the default web browser: its
// desktop files are the ones snapd names NAME+KEY_APP.desktop.
func TestUserdSettingsOfAnInstanceSnap(t *testing.T) {
	t.Parallel()
	s := startUserdSession(t, time.Minute)
	work := s.workDir(t)
	asked, browser := filepath.Join(work, "asked"), filepath.Join(work, "browser")
	s.standIn(t, "zenity", askingZenity(asked, ""))
	s.standIn(t, "xdg-settings", fmt.Sprintf(`case "$1" in
check) [ "$(cat %[1]s 2>/dev/null)" = "$3" ] && echo yes || echo no ;;
get) cat %[1]s 2>/dev/null || echo firefox-esr.desktop ;;
set) echo "$3" >%[1]s ;;
esac`, browser))
	name := fmt.Sprintf("st%d", s.UID)
	snap, desktopFile := name+"_key", filepath.Join(snapDesktopDir, name+"+key_browser.desktop")
	if err := os.MkdirAll(snapDesktopDir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeOwned(t, s.Session, desktopFile, "[Desktop Entry]\nName=Browser\nExec=env BAMF_DESKTOP_FILE_HINT="+desktopFile+" /snap/bin/"+snap+".browser %U\n", 0o644)
	t.Cleanup(func() { os.Remove(desktopFile) })
	settings := func(method string, args ...string) (string, bool) {
		return s.asSnap(t, snap, append([]string{"dbus-send", "--session", "--print-reply", "--reply-timeout=30000",
			"--dest=io.snapcraft.Settings", "/io/snapcraft/Settings", "io.snapcraft.Settings." + method}, args...)...)
	}

	if out, ok := settings("Set", "string:default-web-browser", "string:browser.desktop"); !ok {
		t.Fatalf("Set by instance %s: %s", snap, out)
	}
	if got := lines(t, browser); len(got) != 1 || got[0] != filepath.Base(desktopFile) {
		t.Errorf("the default browser is %q, want %s", got, filepath.Base(desktopFile))
	}
	if got := lines(t, asked); len(got) != 1 || !strings.Contains(got[0], snap) {
		t.Errorf("questions asked: %q, want one naming %s", got, snap)
	}
	if out, ok := settings("Get", "string:default-web-browser"); !ok || !strings.Contains(out, `"browser.desktop"`) {
		t.Errorf("Get by instance %s = %s, want browser.desktop", snap, out)
	}
	if out, ok := settings("Check", "string:default-web-browser", "string:browser.desktop"); !ok || !strings.Contains(out, `"yes"`) {
		t.Errorf("Check by instance %s = %s, want yes", snap, out)
	}
	// The snap without the key owns none of it.
	if out, ok := s.asSnap(t, name, "dbus-send", "--session", "--print-reply", "--reply-timeout=30000",
		"--dest=io.snapcraft.Settings", "/io/snapcraft/Settings", "io.snapcraft.Settings.Get", "string:default-web-browser"); !ok || !strings.Contains(out, "NOT-THIS-SNAP.desktop") {
		t.Errorf("Get by snap %s = %s, want NOT-THIS-SNAP.desktop", name, out)
	}
}
