// Command spreadlocal runs this project's spread suite (spread.yaml and the
// task.yaml files) without spread: on this machine, or on a system that an adhoc
// backend of spread.yaml allocates (such as the booted Debian container), reached
// through a command instead of ssh. It follows spread's order of scripts, its
// environment and variant cascade, reports each job, fails when any job fails, and
// refuses spread keys it does not implement rather than skipping them.
//
// Usage:
//
//	spreadlocal [-C DIR] [-list | -list-all] [-v] [FILTER...]
//	    run on this machine as backend "host", system from /etc/os-release; the
//	    project is copied to a fresh directory instead of spread.yaml's path (the
//	    machine is shared), and one host run at a time holds /run/spreadlocal.lock
//	spreadlocal -backend NAME [-system NAME] -exec 'CMD ARGS' [...]
//	    allocate with the adhoc backend's script, send the project to its path,
//	    run every script as CMD ARGS /bin/bash -s (with $SPREAD_SYSTEM_ADDRESS
//	    expanded in ARGS), discard at the end
//
// -list prints the jobs a run would run on its target; -list-all every job of every
// backend and system, the host's included, as `spread -list` prints them for the
// project with the host added as one more adhoc backend. docs/spread.md says what the
// runner implements of spread and what it refuses.
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "spreadlocal: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("spreadlocal", flag.ContinueOnError)
	dir := fs.String("C", ".", "directory of spread.yaml")
	backendName := fs.String("backend", HostBackend, "adhoc backend of spread.yaml to run on, or host")
	systemName := fs.String("system", "", "system of the backend (default: the host's, or the backend's only system)")
	execCmd := fs.String("exec", "", "command that runs its arguments on the allocated system (adhoc backends)")
	list := fs.Bool("list", false, "list the jobs and exit")
	listAll := fs.Bool("list-all", false, "list the jobs of every backend and system (the host's included) and exit")
	verbose := fs.Bool("v", false, "show the output of every script")
	if err := fs.Parse(args); err != nil {
		return err
	}
	projectDir, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	p, err := LoadProject(projectDir)
	if err != nil {
		return err
	}
	if *listAll && *backendName != HostBackend {
		return fmt.Errorf("cannot use -backend with -list-all, which lists every backend (-system names this machine's system)")
	}
	target, err := pickTarget(p, *backendName, *systemName)
	if err != nil {
		return err
	}
	if *listAll {
		jobs, err := p.ListJobs(target.Host, fs.Args())
		if err != nil {
			return err
		}
		for _, j := range jobs {
			fmt.Fprintln(stdout, j.Name)
		}
		return nil
	}
	if target.Backend != nil && *execCmd == "" && !*list {
		return fmt.Errorf("backend %s: -exec must say how to run commands on its systems", target.Backend.Name)
	}
	if target.Backend == nil {
		// Jobs name the path the scripts will see.
		tmp, err := os.MkdirTemp("", "spreadlocal-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		// The tasks' users must reach the project (the agent binary is installed from it).
		if err := os.Chmod(tmp, 0o755); err != nil {
			return err
		}
		p.Path = filepath.Join(tmp, "project")
	}
	jobs, err := p.Jobs(target, fs.Args())
	if err != nil {
		return err
	}
	if len(jobs) == 0 && *list {
		return nil
	}
	if len(jobs) == 0 {
		fmt.Fprintf(stdout, "nothing to run on %s:%s: the jobs %q selects run elsewhere (-list-all shows them)\n",
			target.backend(), target.System.Name, strings.Join(fs.Args(), " "))
		return nil
	}
	if *list {
		for _, j := range jobs {
			fmt.Fprintln(stdout, j.Name)
		}
		return nil
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ex := &CommandExecutor{}
	if target.Backend == nil {
		unlock, err := lockHost()
		if err != nil {
			return err
		}
		defer unlock()
	} else {
		addr, err := allocate(ctx, p, target, stdout)
		if err != nil {
			return err
		}
		defer discard(p, target, addr, stdout)
		for _, f := range strings.Fields(*execCmd) {
			ex.Prefix = append(ex.Prefix, os.Expand(f, func(k string) string {
				if k == "SPREAD_SYSTEM_ADDRESS" {
					return addr
				}
				return "$" + k
			}))
		}
	}
	if err := send(ctx, ex, projectDir, p.Path); err != nil {
		return err
	}
	r := &Runner{Project: p, Target: target, Exec: ex, Log: stdout, Verbose: *verbose}
	res := r.Run(ctx, jobs)
	fmt.Fprintf(stdout, "Successful tasks: %d\n", len(res.Passed))
	for _, group := range []struct {
		name  string
		items []string
	}{{"Failed tasks", res.Failed}, {"Aborted tasks", res.Aborted}, {"Broken scripts", res.Broken}} {
		fmt.Fprintf(stdout, "%s: %d\n", group.name, len(group.items))
		for _, it := range group.items {
			fmt.Fprintf(stdout, "    - %s\n", it)
		}
	}
	if !res.OK() {
		return fmt.Errorf("the suite failed on %s", jobs[0].Env.Get("SPREAD_BACKEND")+":"+jobs[0].Env.Get("SPREAD_SYSTEM"))
	}
	return nil
}

// pickTarget returns the target the flags name. The host's system is named from
// /etc/os-release unless -system names it; when the target is another backend and
// this machine cannot be named, the jobs are listed in spread's own view.
func pickTarget(p *Project, backendName, systemName string) (Target, error) {
	if backendName == HostBackend {
		if systemName == "" {
			var err error
			if systemName, err = hostSystem("/etc/os-release"); err != nil {
				return Target{}, err
			}
		}
		if !validSystem.MatchString(systemName) {
			return Target{}, fmt.Errorf("invalid system name for this machine: %q", systemName)
		}
		return Target{System: &System{Name: systemName}, Host: systemName}, nil
	}
	b := p.Backends[backendName]
	if b == nil {
		return Target{}, fmt.Errorf("spread.yaml has no backend %q", backendName)
	}
	if b.Type != "adhoc" {
		return Target{}, fmt.Errorf("backend %s is of type %s: spreadlocal runs adhoc backends only (run spread for it)", b.Name, b.Type)
	}
	if systemName == "" {
		if len(b.SystemNames) != 1 {
			return Target{}, fmt.Errorf("backend %s has %d systems: choose one with -system", b.Name, len(b.SystemNames))
		}
		systemName = b.SystemNames[0]
	}
	sys := b.Systems[systemName]
	if sys == nil {
		return Target{}, fmt.Errorf("backend %s has no system %q", b.Name, systemName)
	}
	host, _ := hostSystem("/etc/os-release")
	if !validSystem.MatchString(host) {
		host = ""
	}
	return Target{Backend: b, System: sys, Host: host}, nil
}

// hostSystem names this machine as spread's systems do: ID-VERSION_ID-64 on amd64
// (ubuntu-18.04-64, debian-12-64).
func hostSystem(osRelease string) (string, error) {
	f, err := os.Open(osRelease)
	if err != nil {
		return "", fmt.Errorf("cannot name this system: %w", err)
	}
	defer f.Close()
	vals := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if ok {
			vals[k] = strings.Trim(v, `"'`)
		}
	}
	if vals["ID"] == "" || vals["VERSION_ID"] == "" {
		return "", fmt.Errorf("cannot name this system: %s has no ID or VERSION_ID", osRelease)
	}
	bits := "64"
	if runtime.GOARCH == "386" || runtime.GOARCH == "arm" {
		bits = "32"
	}
	return vals["ID"] + "-" + vals["VERSION_ID"] + "-" + bits, nil
}

// lockHost lets one host run at a time on this machine: tasks use fixed user names.
func lockHost() (func(), error) {
	f, err := os.OpenFile("/run/spreadlocal.lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("cannot open the host lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("cannot take the host lock: %w", err)
	}
	return func() { f.Close() }, nil
}

// send copies the project, without .git, to path on the test system, replacing what
// was there (spread sends it the same way, as a tar stream).
func send(ctx context.Context, ex Executor, from, to string) error {
	pack := exec.CommandContext(ctx, "tar", "-C", from, "--exclude=./.git", "-cf", "-", ".")
	stream, err := pack.StdoutPipe()
	if err != nil {
		return err
	}
	pack.Stderr = os.Stderr
	if err := pack.Start(); err != nil {
		return fmt.Errorf("cannot pack the project: %w", err)
	}
	var out strings.Builder
	unpack := fmt.Sprintf("rm -rf %q && mkdir -p %q && tar -xf - -C %q", to, to, to)
	runErr := ex.Run(ctx, []string{"/bin/bash", "-c", unpack}, stream, &out)
	packErr := pack.Wait()
	if runErr != nil || packErr != nil {
		return fmt.Errorf("cannot send the project to %s: %v %v: %s", to, runErr, packErr, out.String())
	}
	return nil
}

// adhocHelpers are the functions spread gives allocate and discard scripts.
const adhocHelpers = `set -eu
ADDRESS() { echo "$1" >"$SPREADLOCAL_ADDRESS_FILE"; }
ERROR() { echo "error: $*" >&2; exit 1; }
FATAL() { echo "fatal: $*" >&2; exit 1; }
`

func allocate(ctx context.Context, p *Project, t Target, log io.Writer) (string, error) {
	if t.Backend.Allocate == "" {
		return "", fmt.Errorf("backend %s has no allocate script", t.Backend.Name)
	}
	f, err := os.CreateTemp("", "spreadlocal-address-")
	if err != nil {
		return "", err
	}
	f.Close()
	defer os.Remove(f.Name())
	pass := make([]byte, 8)
	if _, err := rand.Read(pass); err != nil {
		return "", err
	}
	fmt.Fprintf(log, "allocating %s:%s ...\n", t.Backend.Name, t.System.Name)
	env := append(os.Environ(), "SPREADLOCAL_ADDRESS_FILE="+f.Name(),
		"SPREAD_BACKEND="+t.Backend.Name, "SPREAD_SYSTEM="+t.System.Name,
		"SPREAD_PASSWORD="+hex.EncodeToString(pass))
	if err := adhocScript(ctx, t.Backend, p.Dir, env, t.Backend.Allocate, log); err != nil {
		return "", fmt.Errorf("cannot allocate %s:%s: %w", t.Backend.Name, t.System.Name, err)
	}
	addr, err := os.ReadFile(f.Name())
	if err != nil || strings.TrimSpace(string(addr)) == "" {
		return "", fmt.Errorf("cannot allocate %s:%s: the allocate script called no ADDRESS", t.Backend.Name, t.System.Name)
	}
	return strings.TrimSpace(string(addr)), nil
}

func discard(p *Project, t Target, addr string, log io.Writer) {
	if t.Backend.Discard == "" {
		return
	}
	fmt.Fprintf(log, "discarding %s:%s (%s) ...\n", t.Backend.Name, t.System.Name, addr)
	env := append(os.Environ(), "SPREAD_BACKEND="+t.Backend.Name, "SPREAD_SYSTEM="+t.System.Name,
		"SPREAD_SYSTEM_ADDRESS="+addr)
	if err := adhocScript(context.Background(), t.Backend, p.Dir, env, t.Backend.Discard, log); err != nil {
		fmt.Fprintf(log, "cannot discard %s:%s: %v\n", t.Backend.Name, t.System.Name, err)
	}
}

// adhocScript runs allocate or discard on this machine, killed after the backend's
// kill-timeout (spread's adhoc provider).
func adhocScript(ctx context.Context, b *Backend, dir string, env []string, script string, log io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, killTimeout(b.KillTimeout))
	defer cancel()
	cmd := exec.CommandContext(ctx, "/bin/bash", "-c", adhocHelpers+script)
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = dir, env, log, log
	return cmd.Run()
}
