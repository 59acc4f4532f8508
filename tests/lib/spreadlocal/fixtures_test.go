package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeProject writes files (path relative to a new directory: content) and returns
// the directory. spread.yaml's path is set to that directory, so scripts run there.
func writeProject(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		content = strings.ReplaceAll(content, "@DIR@", dir)
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const minimalSpread = `
project: demo
path: @DIR@
backends:
    adhoc:
        allocate: ADDRESS localhost
        systems: [debian-12-64, ubuntu-16.04-64]
suites:
    tests/:
        summary: demo suite
`

// oneSystemSpread is a project of one adhoc backend, one system and one suite, t/.
const oneSystemSpread = `
project: fixture
path: /fixture
backends:
    alpha:
        type: adhoc
        allocate: ADDRESS a
        systems: [debian-12-64]
suites:
    t/:
        summary: tasks
`

func hostTarget(system string) Target { return Target{System: &System{Name: system}, Host: system} }

func load(t *testing.T, dir string) *Project {
	t.Helper()
	p, err := LoadProject(dir)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func runJobs(t *testing.T, p *Project, target Target, filters ...string) (*Result, string) {
	t.Helper()
	jobs, err := p.Jobs(target, filters)
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	r := &Runner{Project: p, Target: target, Exec: &CommandExecutor{}, Log: &log}
	return r.Run(context.Background(), jobs), log.String()
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(data))
}

const orderSpread = `
project: demo
path: @DIR@
environment:
    LOG: @DIR@/log
prepare: echo project-prepare >>$LOG
restore: echo project-restore >>$LOG
prepare-each: echo project-prepare-each >>$LOG
restore-each: echo project-restore-each >>$LOG
debug-each: echo project-debug-each >>$LOG
backends:
    nspawn:
        type: adhoc
        allocate: ADDRESS localhost
        prepare: echo backend-prepare >>$LOG
        restore: echo backend-restore >>$LOG
        prepare-each: echo backend-prepare-each >>$LOG
        restore-each: echo backend-restore-each >>$LOG
        systems: [debian-12-64]
suites:
    one/:
        summary: first
        prepare: echo one-prepare $(basename $PWD) >>$LOG
        restore: echo one-restore >>$LOG
        prepare-each: echo one-prepare-each >>$LOG
        restore-each: echo one-restore-each >>$LOG
        debug-each: echo one-debug-each >>$LOG
    two/:
        summary: second
        prepare: echo two-prepare >>$LOG
        restore: echo two-restore >>$LOG
`

func orderTask(name string, fail bool) string {
	execute := "echo " + name + "-execute >>$LOG"
	if fail {
		execute += "\nfalse\necho not-reached >>$LOG"
	}
	return "summary: " + name + "\nprepare: echo " + name + "-prepare >>$LOG\nexecute: |\n" +
		indent(execute) + "restore: echo " + name + "-restore >>$LOG\ndebug: echo " + name + "-debug >>$LOG\n"
}

func indent(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		b.WriteString("    " + l + "\n")
	}
	return b.String()
}

func nspawnTarget(p *Project) Target {
	b := p.Backends["nspawn"]
	return Target{Backend: b, System: b.Systems["debian-12-64"]}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
