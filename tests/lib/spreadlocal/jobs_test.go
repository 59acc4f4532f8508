package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// The job lists below (jobs_cases_test.go, testdata/spread-jobs.golden) are what
// spread's own `spread -list` printed for the same files: spread at
// github.com/canonical/spread commit 32cad07bfd7fffb395f6c6134b68b1c24f9490c0
// (2026-07-03). CI cannot install spread (the Go module proxy does not serve it), so
// these tests compare spreadlocal with those recorded lists; with a spread binary,
//
//	SPREAD=/path/to/spread go test -run 'TestJobLists|TestProjectJobs' ./tests/lib/spreadlocal/
//
// also runs `spread -list` on every fixture and on this project and compares it with
// the same lists. spread has no host backend: where a list has one (host set), spread
// is given spread.yaml with the host added as the adhoc backend spreadlocal takes it
// for (hostBackendYAML).

// update rewrites the golden job list of this project from spreadlocal's own list:
//
//	go test ./tests/lib/spreadlocal/ -run TestProjectJobs -update
var update = flag.Bool("update", false, "rewrite testdata/spread-jobs.golden from spreadlocal's job list")

// jobsCase is one spread.yaml fixture and the job lists spread gives for it.
type jobsCase struct {
	name string
	// yaml is spread.yaml; its backends start at a top-level "backends:" line.
	yaml string
	// tasks maps task directories to the task.yaml lines besides summary and execute.
	tasks map[string]string
	lists []jobsList
}

type jobsList struct {
	// host is the host's system ("": spread's own view, without the host).
	host string
	args []string
	// want is the job names, one a line; err a part of spreadlocal's error when the
	// list is refused (spread refuses it too).
	want string
	err  string
}

// hostBackendYAML is the backend spread is given for the host.
func hostBackendYAML(system string) string {
	return "    host:\n        type: adhoc\n        allocate: ADDRESS localhost\n        systems: [" + system + "]\n"
}

// writeFixture writes the case's files; withHost adds the host backend for spread.
func writeFixture(t *testing.T, c jobsCase, withHost string) string {
	t.Helper()
	spreadYAML := c.yaml
	if withHost != "" {
		if !strings.Contains(spreadYAML, "\nbackends:\n") {
			t.Fatalf("%s: no top-level backends: line to add the host to", c.name)
		}
		spreadYAML = strings.Replace(spreadYAML, "\nbackends:\n", "\nbackends:\n"+hostBackendYAML(withHost), 1)
	}
	files := map[string]string{"spread.yaml": spreadYAML}
	for task, extra := range c.tasks {
		files[task+"/task.yaml"] = "summary: " + task + "\nexecute: true\n" + extra
	}
	return writeProject(t, files)
}

func spreadlocalList(dir, host string, args []string) ([]string, error) {
	p, err := LoadProject(dir)
	if err != nil {
		return nil, err
	}
	jobs, err := p.ListJobs(host, args)
	var names []string
	for _, j := range jobs {
		names = append(names, j.Name)
	}
	return names, err
}

// spreadList runs spread -list in dir (which holds spread.yaml).
func spreadList(spread, dir string, args []string) ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, spread, append([]string{"-list"}, args...)...)
	cmd.Dir = dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%v: %s", err, strings.TrimSpace(stderr.String()))
	}
	return strings.Fields(string(out)), nil
}

func checkList(t *testing.T, who string, l jobsList, got []string, err error) {
	t.Helper()
	what := fmt.Sprintf("%s -list %q (host %q)", who, l.args, l.host)
	if l.err != "" {
		if err == nil {
			t.Errorf("%s: want an error, got %q", what, got)
		} else if who == "spreadlocal" && !strings.Contains(err.Error(), l.err) {
			t.Errorf("%s: want an error with %q, got %v", what, l.err, err)
		}
		return
	}
	if err != nil {
		t.Errorf("%s: %v", what, err)
		return
	}
	// spread's list is in name order but for the variants of one task, which come in
	// no set order (its sort compares their samples only): spreadlocal's is sorted.
	got = slices.Sorted(slices.Values(got))
	if want := strings.Fields(l.want); !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %s\nwant %s", what, strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
}

func TestJobListsFollowSpread(t *testing.T) {
	spread := os.Getenv("SPREAD")
	for _, c := range slices.Concat(cascadeCases, selectionCases, refusalCases) {
		t.Run(c.name, func(t *testing.T) {
			dir := writeFixture(t, c, "")
			for _, l := range c.lists {
				got, err := spreadlocalList(dir, l.host, l.args)
				checkList(t, "spreadlocal", l, got, err)
				if spread != "" {
					got, err := spreadList(spread, writeFixture(t, c, l.host), l.args)
					checkList(t, "spread", l, got, err)
				}
			}
		})
	}
}

// goldenHost is the host's system in the golden list (CI's machines run Debian 12).
const goldenHost = "debian-12-64"

// TestProjectJobs compares the job list of this project's spread.yaml, on every
// backend and system, with testdata/spread-jobs.golden: a change to what the suite
// runs shows in that file's diff. Rewrite it with -update, and check it against
// spread itself with SPREAD set (see above).
func TestProjectJobs(t *testing.T) {
	top, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "spread-jobs.golden")
	got, err := spreadlocalList(top, goldenHost, nil)
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(golden, []byte(strings.Join(got, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	l := jobsList{host: goldenHost, want: string(data)}
	checkList(t, "spreadlocal", l, got, nil)
	if t.Failed() {
		t.Logf("if spread.yaml or a task changed on purpose: go test ./tests/lib/spreadlocal/ -run TestProjectJobs -update, then check the diff (and against spread, with SPREAD set)")
	}
	if spread := os.Getenv("SPREAD"); spread != "" {
		got, err := spreadList(spread, copyForSpread(t, top, goldenHost), nil)
		checkList(t, "spread", l, got, err)
	}
}

// copyForSpread copies spread.yaml, with the host backend added, and the task.yaml
// of every task of the project to a new directory.
func copyForSpread(t *testing.T, top, host string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(top, "spread.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dir := writeFixture(t, jobsCase{name: "spread.yaml", yaml: string(data)}, host)
	for _, suite := range load(t, top).Suites {
		for _, task := range suite.Tasks {
			content, err := os.ReadFile(filepath.Join(top, task.Name, "task.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(filepath.Join(dir, task.Name), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, task.Name, "task.yaml"), content, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

// A run takes the jobs of the whole list that are on its target, suite by suite: the
// host's selection counts for the manual rule, and a selection with no job on the
// target runs nothing there and is no error.
func TestJobsOnATarget(t *testing.T) {
	dir := writeProject(t, map[string]string{
		"spread.yaml": strings.Replace(minimalSpread, "        summary: demo suite\n",
			"        summary: demo suite\n    tests/sub/:\n        summary: nested\n", 1),
		"tests/x/task.yaml":      "summary: x\nexecute: true\n",
		"tests/z/task.yaml":      "summary: z\nexecute: true\n",
		"tests/sub/y/task.yaml":  "summary: y\nexecute: true\n",
		"tests/nohost/task.yaml": "summary: n\nbackends: [-host]\nexecute: true\n",
	})
	p := load(t, dir)
	names := func(target Target, args ...string) []string {
		t.Helper()
		jobs, err := p.Jobs(target, args)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, j := range jobs {
			out = append(out, j.Name)
		}
		return out
	}
	want := []string{"host:debian-12-64:tests/x", "host:debian-12-64:tests/z", "host:debian-12-64:tests/sub/y"}
	if got := names(hostTarget("debian-12-64")); !reflect.DeepEqual(got, want) {
		t.Errorf("host jobs, suite by suite:\n got %v\nwant %v", got, want)
	}
	if got := names(hostTarget("debian-12-64"), "/nohost"); len(got) != 0 {
		t.Errorf("a selection of jobs elsewhere runs nothing here: %v", got)
	}
	other := load(t, writeProject(t, map[string]string{
		"spread.yaml":       minimalSpread,
		"tests/a/task.yaml": "summary: a\nsystems: [debian-12-64]\nexecute: true\n",
	}))
	if _, err := other.Jobs(hostTarget("ubuntu-18.04-64"), nil); err == nil || !strings.Contains(err.Error(), "cannot find any tasks for host:ubuntu-18.04-64") {
		t.Errorf("a target without jobs: %v", err)
	}
	var out bytes.Buffer
	if err := run([]string{"-C", dir, "-system", "debian-12-64", "/nohost"}, &out); err != nil || !strings.Contains(out.String(), "nothing to run on host:debian-12-64") {
		t.Errorf("run: %v\n%s", err, out.String())
	}
	out.Reset()
	if err := run([]string{"-C", dir, "-list-all", "-system", "ubuntu-16.04-64", "/nohost", "host:"}, &out); err != nil {
		t.Fatal(err)
	}
	want = []string{"adhoc:debian-12-64:tests/nohost", "adhoc:ubuntu-16.04-64:tests/nohost",
		"host:ubuntu-16.04-64:tests/sub/y", "host:ubuntu-16.04-64:tests/x", "host:ubuntu-16.04-64:tests/z"}
	if got := strings.Fields(out.String()); !reflect.DeepEqual(got, want) {
		t.Errorf("-list-all:\n got %v\nwant %v", got, want)
	}
}
