package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path"
	"strings"
	"syscall"
	"time"
)

// Executor runs commands on the test system: argv with stdin, output to out.
type Executor interface {
	Run(ctx context.Context, argv []string, stdin io.Reader, out io.Writer) error
}

// CommandExecutor runs argv behind Prefix (nothing: on this machine; otherwise a
// command that enters the test system, such as tests/lib/nspawn-debian exec). The
// whole process group is killed when ctx ends.
type CommandExecutor struct {
	Prefix []string
	Env    []string
}

// Run runs argv through the prefix.
func (c *CommandExecutor) Run(ctx context.Context, argv []string, stdin io.Reader, out io.Writer) error {
	full := append(append([]string(nil), c.Prefix...), argv...)
	cmd := exec.Command(full[0], full[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, out, out
	if c.Env != nil {
		cmd.Env = c.Env
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("cannot run %s: %w", full[0], err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return errors.New("killed after timeout")
		}
		return errors.New("interrupted")
	}
}

// scriptHelpers are the functions spread defines in every script it runs on a test
// system (spread/client.go): ERROR and MATCH/NOMATCH as spread's (MATCH: grep -q -E
// over all of stdin, its arguments passed to grep; on failure the input on stderr),
// REBOOT failing the script: a local run cannot reboot its system.
const scriptHelpers = `REBOOT() { { set +xu; } 2>/dev/null; echo "spreadlocal: REBOOT is not implemented by the local runner" >&2; exit 1; }
ERROR() { { set +xu; } 2>/dev/null; [ -z "${1:-}" ] && echo '<ERROR>' || echo "<ERROR $*>"; exit 213; }
MATCH() ( { set +xu; } 2>/dev/null; [ ${#@} -gt 0 ] || { echo "error: missing regexp argument"; return 1; }; local stdin="$(cat)"; grep -q -E "$@" <<< "$stdin" || { res=$?; echo "grep error: pattern not found, got:
$stdin" >&2; if [ $res != 1 ]; then echo "unexpected grep exit status: $res"; fi; return 1; }; )
NOMATCH() ( { set +xu; } 2>/dev/null; [ ${#@} -gt 0 ] || { echo "error: missing regexp argument"; return 1; }; local stdin="$(cat)"; if echo "$stdin" | grep -q -E "$@"; then echo "NOMATCH pattern='$@' found in:
$stdin" >&2; return 1; fi; )
`

// scriptText wraps a spread script as spread does on the test system: `set -eu`, the
// working directory, spread's helper functions, the job's environment exported in
// order (values expanded there by the shell), tracing, and the script in a subshell
// with stdin from /dev/null.
func scriptText(script, dir string, env *Env) string {
	var b strings.Builder
	b.WriteString("set -eu\n")
	fmt.Fprintf(&b, "cd %q\n", dir)
	b.WriteString(scriptHelpers)
	b.WriteString("export DEBIAN_FRONTEND=noninteractive\nexport DEBIAN_PRIORITY=critical\n")
	b.WriteString("export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/snap/bin\n")
	for _, k := range env.Keys() {
		v := env.Get(k)
		// spread's quoting: values already quoted are taken as they are.
		if v == "" || v[0] == '"' || v[0] == '\'' {
			fmt.Fprintf(&b, "export %s=%s\n", k, v)
		} else {
			fmt.Fprintf(&b, "export %s=\"%s\"\n", k, v)
		}
	}
	b.WriteString("set -x\n")
	fmt.Fprintf(&b, "(\n%s\n) </dev/null\n", script)
	return b.String()
}

// joinScripts joins the "-each" scripts and a task's own, each in a subshell, as
// spread runs them in one go.
func joinScripts(scripts ...string) string {
	var parts []string
	for _, s := range scripts {
		if s != "" {
			parts = append(parts, "(\n"+s+"\n)")
		}
	}
	return strings.Join(parts, "\n\n")
}

// Runner executes jobs in spread's order on one target.
type Runner struct {
	Project *Project
	Target  Target
	Exec    Executor
	// Log gets progress lines; Verbose adds every script's output, which is otherwise
	// shown for failures only.
	Log     io.Writer
	Verbose bool
}

// Result counts what happened to the jobs.
type Result struct {
	Passed, Failed, Aborted []string
	// Broken lists project, backend or suite scripts that failed.
	Broken []string
}

// OK reports whether every job passed and nothing broke.
func (r *Result) OK() bool {
	return len(r.Failed) == 0 && len(r.Aborted) == 0 && len(r.Broken) == 0
}

// Run runs the jobs: project and backend prepare once, suite prepare when a suite
// starts, per job the joined prepare-each and task prepare, execute, then the joined
// task restore and restore-each (always, after a started prepare), debug scripts after
// a failure, suite restore when a suite ends, backend and project restore at the end.
// A failing restore aborts the remaining jobs, as spread considers the system broken.
func (r *Runner) Run(ctx context.Context, jobs []*Job) *Result {
	p, b := r.Project, r.Target.Backend
	res := &Result{}
	var bs Scripts
	var bkill time.Duration
	if b != nil {
		bs, bkill = b.Scripts, b.KillTimeout
	}
	first, last := jobs[0], jobs[len(jobs)-1]
	// An interrupted run still restores what it prepared.
	restoreCtx := context.WithoutCancel(ctx)
	// A script's kill-timeout is the first one set from its own level up to the
	// project's (spread's Job.KillTimeoutFor): the project's scripts take pkill, the
	// others the levels below the backend (timeouts), then bkill and pkill.
	pkill := p.KillTimeout
	runIn := func(ctx context.Context, what string, job *Job, dir, script, debug string, timeouts ...time.Duration) bool {
		return r.script(ctx, what, job, dir, script, debug, killTimeout(append(timeouts, bkill, pkill)...))
	}
	run := func(what string, job *Job, dir, script, debug string, timeouts ...time.Duration) bool {
		return runIn(ctx, what, job, dir, script, debug, timeouts...)
	}
	restore := func(what string, job *Job, dir, script, debug string, timeouts ...time.Duration) bool {
		return runIn(restoreCtx, what, job, dir, script, debug, timeouts...)
	}
	root := p.Path
	broken := false
	if !r.script(ctx, "prepare project", first, root, p.Scripts.Prepare, p.Scripts.Debug, killTimeout(pkill)) ||
		!run("prepare backend", first, root, bs.Prepare, bs.Debug) {
		res.Broken = append(res.Broken, "project prepare")
		broken = true
	}
	var suite *Suite
	var suiteJob *Job
	badSuite := false
	endSuite := func() {
		if suite != nil && !restore("restore suite "+suite.Name, suiteJob, r.taskDir(suiteJob), suite.Scripts.Restore, suite.Scripts.Debug, suite.KillTimeout) {
			res.Broken = append(res.Broken, "suite "+suite.Name+" restore")
			broken = true
		}
		suite = nil
	}
	for _, job := range jobs {
		if broken || ctx.Err() != nil {
			res.Aborted = append(res.Aborted, job.Name)
			continue
		}
		if suite != job.Suite {
			endSuite()
			if broken {
				res.Aborted = append(res.Aborted, job.Name)
				continue
			}
			suite, suiteJob, badSuite = job.Suite, job, false
			if !run("prepare suite "+suite.Name, job, r.taskDir(job), suite.Scripts.Prepare, suite.Scripts.Debug, suite.KillTimeout) {
				res.Broken = append(res.Broken, "suite "+suite.Name+" prepare")
				badSuite = true
			}
		}
		suiteJob = job
		if badSuite {
			res.Aborted = append(res.Aborted, job.Name)
			continue
		}
		dir := r.taskDir(job)
		s, t := job.Suite.Scripts, job.Task
		debug := joinScripts(t.Debug, s.DebugEach, bs.DebugEach, p.Scripts.DebugEach)
		prepare := joinScripts(p.Scripts.PrepareEach, bs.PrepareEach, s.PrepareEach, t.Prepare)
		restoreScript := joinScripts(t.Restore, s.RestoreEach, bs.RestoreEach, p.Scripts.RestoreEach)
		switch {
		case !run("prepare", job, dir, prepare, debug, t.KillTimeout, job.Suite.KillTimeout):
			res.Failed = append(res.Failed, job.Name)
			debug = ""
		case !run("execute", job, dir, t.Execute, debug, t.KillTimeout, job.Suite.KillTimeout):
			res.Failed = append(res.Failed, job.Name)
			debug = ""
		default:
			res.Passed = append(res.Passed, job.Name)
			fmt.Fprintf(r.Log, "PASS %s\n", job.Name)
		}
		if !restore("restore", job, dir, restoreScript, debug, t.KillTimeout, job.Suite.KillTimeout) {
			res.Broken = append(res.Broken, job.Name+" restore")
			broken = true
		}
	}
	endSuite()
	if !restore("restore backend", last, root, bs.Restore, bs.Debug) ||
		!r.script(restoreCtx, "restore project", last, root, p.Scripts.Restore, p.Scripts.Debug, killTimeout(pkill)) {
		res.Broken = append(res.Broken, "project restore")
	}
	return res
}

// taskDir is where spread runs a job's scripts (suite scripts too): the task's
// directory under the project path.
func (r *Runner) taskDir(job *Job) string {
	return path.Join(r.Project.Path, job.Task.Name)
}

// script runs one script in the job's environment; on failure it prints the output
// and runs debug (whose failure changes nothing).
func (r *Runner) script(ctx context.Context, what string, job *Job, dir, script, debug string, timeout time.Duration) bool {
	if script == "" {
		return true
	}
	start := time.Now()
	fmt.Fprintf(r.Log, "%s %s ...\n", what, job.Name)
	out, err := r.runScript(ctx, script, dir, job.Env, timeout)
	if r.Verbose {
		r.Log.Write(out)
	}
	if err == nil {
		return true
	}
	fmt.Fprintf(r.Log, "FAIL %s %s (after %s): %v\n-----\n", what, job.Name, time.Since(start).Round(time.Millisecond), err)
	if !r.Verbose {
		r.Log.Write(out)
	}
	fmt.Fprintf(r.Log, "-----\n")
	if debug != "" {
		dout, derr := r.runScript(ctx, debug, dir, job.Env, timeout)
		fmt.Fprintf(r.Log, "debug %s:\n-----\n%s-----\n", job.Name, dout)
		if derr != nil {
			fmt.Fprintf(r.Log, "debug script failed: %v\n", derr)
		}
	}
	return false
}

func (r *Runner) runScript(ctx context.Context, script, dir string, env *Env, timeout time.Duration) ([]byte, error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	var out bytes.Buffer
	err := r.Exec.Run(ctx, []string{"/bin/bash", "-s"}, strings.NewReader(scriptText(script, dir, env)), &out)
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		err = fmt.Errorf("exit status %d", exitErr.ExitCode())
	}
	return out.Bytes(), err
}
