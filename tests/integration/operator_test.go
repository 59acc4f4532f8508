package integration_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/snapcore-ng/usersession-agent/testkit/testenv"
	"github.com/snapcore-ng/usersession-agent/testkit/usersessiontest"
)

// TestCLIControlTableSaysWhatWasDonePerUnit: after start, restart, stop and
// daemon-reload the table has a row per unit saying what happened to it in that
// user's session, a unit that ignored SIGTERM showing as killed.
func TestCLIControlTableSaysWhatWasDonePerUnit(t *testing.T) {
	t.Parallel()
	const (
		stubborn = "snap.op.stubborn.service"
		polite   = "snap.op.polite.service"
	)
	s := servicesSession(t, map[string]string{stubborn: stubbornUnit, polite: markedUnit("p", false)})
	users := "--users=" + s.User

	for _, step := range []struct {
		args []string
		want [][2]string // unit, state
	}{
		{[]string{"start", stubborn, polite}, [][2]string{{stubborn, "started"}, {polite, "started"}}},
		{[]string{"restart", polite}, [][2]string{{polite, "restarted"}}},
		{[]string{"stop", polite, stubborn}, [][2]string{{polite, "stopped"}, {stubborn, "killed"}}},
		{[]string{"daemon-reload"}, [][2]string{{"reloaded"}}},
	} {
		r := runSnap(t, append([]string{"sessions", step.args[0], users}, step.args[1:]...)...)
		if r.code != 0 {
			t.Fatalf("%v: exit %d\n%s%s", step.args, r.code, r.stdout, r.stderr)
		}
		var got [][2]string
		for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) < 3 || f[1] != s.User {
				t.Fatalf("%v: row %q is not %s's", step.args, line, s.User)
			}
			got = append(got, [2]string{f[2], strings.Join(f[3:], " ")})
		}
		if !slices.Equal(got, step.want) {
			t.Errorf("%v: rows %q, want %q\n%s", step.args, got, step.want, r.stdout)
		}
	}
	for _, u := range []string{stubborn, polite} {
		if st := unitState(t, s, u); st == "active" || st == "deactivating" {
			t.Errorf("%s is %q after stop", u, st)
		}
	}
}

// TestInstalledManualPageAndCompletion: `make install` installs snap(8), which the
// units name as their documentation, written by `snap help --man` and rendered by man
// without warnings; and the installed bash completion completes snap's commands and
// options in a real bash.
func TestInstalledManualPageAndCompletion(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"make", "man", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.SkipOrFail(t, tool+" is not installed (tests/lib/install-deps installs it)")
		}
	}
	build, root := t.TempDir(), t.TempDir()
	bin := filepath.Join(build, "snap")
	mustRun(t, "", "cp", usersessiontest.SnapBinary(t), bin)
	mustRun(t, "../..", "make", "install", "DESTDIR="+root, "BUILDDIR="+build, "PREFIX=/usr")

	page := filepath.Join(root, "usr/share/man/man8/snap.8")
	unit, err := os.ReadFile(filepath.Join(root, "etc/systemd/user/snapd.session-agent.service"))
	if err != nil || !bytes.Contains(unit, []byte("Documentation=man:snap(8)")) {
		t.Errorf("the installed unit does not point at man:snap(8) (%v)", err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command("man", "--warnings", "-l", page)
	cmd.Env = append(os.Environ(), "MANWIDTH=200", "MANPAGER=cat", "LC_ALL=C.UTF-8")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("man -l %s: %v\n%s", page, err, stderr.String())
	}
	text := string(out)
	if !strings.HasPrefix(text, "snap(8)") {
		t.Errorf("the manual page is not snap(8): %q", strings.SplitN(text, "\n", 2)[0])
	}
	for _, want := range []string{
		"snap - Tool to interact with snap user sessions",
		"Usage: snap [OPTIONS] sessions stop [stop-OPTIONS]",
		"Usage: snap [OPTIONS] sessions kill [kill-OPTIONS]",
		"--disable", "--users",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the manual page does not have %q:\n%s", want, text)
		}
	}

	// `snap help CMD...` is `snap CMD... --help`.
	if h, help := runSnap(t, "help", "sessions", "stop"), runSnap(t, "sessions", "stop", "--help"); h.code != 0 || h.stdout != help.stdout || !strings.Contains(h.stdout, "--disable") {
		t.Errorf("snap help sessions stop (exit %d):\n%s\nsnap sessions stop --help:\n%s", h.code, h.stdout, help.stdout)
	}

	completion := filepath.Join(root, "usr/share/bash-completion/completions/snap-sessions")
	for _, tc := range []struct {
		words []string
		want  []string
	}{
		{[]string{"sessions", "st"}, []string{"start", "status", "stop"}},
		{[]string{"sessions", "stop", "--d"}, []string{"--disable"}},
		{[]string{"he"}, []string{"help"}},
	} {
		script := `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _snap_sessions; printf '%s\n' "${COMPREPLY[@]}"`
		got := strings.Fields(mustRun(t, "", "bash", append([]string{"-c", script, "bash", completion, bin}, tc.words...)...))
		if !slices.Equal(got, tc.want) {
			t.Errorf("completing %q: %q, want %q", tc.words, got, tc.want)
		}
	}
}

// mustRun runs a command (in dir, if not empty) for at most a minute and returns its
// standard output.
func mustRun(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}
