package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// The example of spread's README: variants cascade from the suite and the task, and a
// variant value wins over the bare one.
func TestVariantsAndEnvironment(t *testing.T) {
	dir := writeProject(t, map[string]string{
		"spread.yaml": minimalSpread + `        environment:
            SUBJECT/foo: sanity
            SUBJECT/bar: lunacy
`,
		"tests/hello/task.yaml": `summary: greet
environment:
    GREETING: Hello
    GREETING/bar: Goodbye
    SUBJECT/baz: world
    LINE: $GREETING $SUBJECT from $SPREAD_VARIANT
execute: echo "$LINE" >>@DIR@/out
`,
	})
	p := load(t, dir)
	res, log := runJobs(t, p, hostTarget("debian-12-64"))
	if !res.OK() {
		t.Fatalf("run failed: %+v\n%s", res, log)
	}
	want := []string{
		"host:debian-12-64:tests/hello:bar",
		"host:debian-12-64:tests/hello:baz",
		"host:debian-12-64:tests/hello:foo",
	}
	if !reflect.DeepEqual(res.Passed, want) {
		t.Errorf("jobs: %v, want %v", res.Passed, want)
	}
	out, _ := os.ReadFile(filepath.Join(dir, "out"))
	if string(out) != "Goodbye lunacy from bar\nHello world from baz\nHello sanity from foo\n" {
		t.Errorf("output:\n%s", out)
	}
}

func TestHostCommandsRunOnTheHost(t *testing.T) {
	dir := writeProject(t, map[string]string{
		"spread.yaml":       minimalSpread + "environment:\n    FROM_HOST: \"$(HOST: echo from-host)\"\n",
		"tests/a/task.yaml": "summary: a\nexecute: test \"$FROM_HOST\" = from-host\n",
	})
	if res, log := runJobs(t, load(t, dir), hostTarget("debian-12-64")); !res.OK() {
		t.Fatalf("run failed: %+v\n%s", res, log)
	}
}

func TestScriptsRunInSpreadsOrder(t *testing.T) {
	dir := writeProject(t, map[string]string{
		"spread.yaml":        orderSpread,
		"one/a/task.yaml":    orderTask("a", false),
		"one/b/task.yaml":    orderTask("b", true),
		"two/c/task.yaml":    orderTask("c", false),
		"two/notask/README":  "not a task",
		"one/a/unrelated.sh": "",
	})
	p := load(t, dir)
	res, log := runJobs(t, p, nspawnTarget(p))
	if res.OK() {
		t.Fatalf("a failing task must fail the run:\n%s", log)
	}
	if want := []string{"nspawn:debian-12-64:one/b"}; !reflect.DeepEqual(res.Failed, want) {
		t.Errorf("failed: %v", res.Failed)
	}
	if want := []string{"nspawn:debian-12-64:one/a", "nspawn:debian-12-64:two/c"}; !reflect.DeepEqual(res.Passed, want) {
		t.Errorf("passed: %v", res.Passed)
	}
	each := func(suite, task string, restoreEach bool) []string {
		s := []string{"project-prepare-each", "backend-prepare-each"}
		if suite == "one" {
			s = append(s, "one-prepare-each")
		}
		s = append(s, task+"-prepare", task+"-execute")
		if task == "b" {
			// after a failure: the debug scripts, the task's first
			s = append(s, "b-debug", "one-debug-each", "project-debug-each")
		}
		s = append(s, task+"-restore")
		if suite == "one" {
			s = append(s, "one-restore-each")
		}
		return append(s, "backend-restore-each", "project-restore-each")
	}
	want := []string{"project-prepare", "backend-prepare", "one-prepare", "a"}
	want = append(want, each("one", "a", true)...)
	want = append(want, each("one", "b", true)...)
	want = append(want, "one-restore", "two-prepare")
	want = append(want, each("two", "c", true)...)
	want = append(want, "two-restore", "backend-restore", "project-restore")
	if got := readLines(t, filepath.Join(dir, "log")); !reflect.DeepEqual(got, want) {
		t.Errorf("order:\n got %v\nwant %v", got, want)
	}
	if !strings.Contains(log, "FAIL execute nspawn:debian-12-64:one/b") || !strings.Contains(log, "+ false") {
		t.Errorf("a failure shows its trace:\n%s", log)
	}
}

func TestFailingRestoreAbortsTheRest(t *testing.T) {
	dir := writeProject(t, map[string]string{
		"spread.yaml":     orderSpread,
		"one/a/task.yaml": "summary: a\nexecute: true\nrestore: exit 3\n",
		"one/b/task.yaml": "summary: b\nexecute: echo b-execute >>$LOG\n",
		"two/c/task.yaml": "summary: c\nexecute: echo c-execute >>$LOG\n",
	})
	p := load(t, dir)
	res, _ := runJobs(t, p, nspawnTarget(p))
	if want := []string{"nspawn:debian-12-64:one/b", "nspawn:debian-12-64:two/c"}; !reflect.DeepEqual(res.Aborted, want) {
		t.Errorf("aborted: %v", res.Aborted)
	}
	got := readLines(t, filepath.Join(dir, "log"))
	for _, l := range got {
		if l == "b-execute" || l == "c-execute" || l == "two-prepare" {
			t.Errorf("b ran on a broken system: %v", got)
		}
	}
	if got[len(got)-1] != "project-restore" {
		t.Errorf("the project is restored after a broken task: %v", got)
	}
}

func TestFailingSuitePrepareAbortsItsTasksOnly(t *testing.T) {
	dir := writeProject(t, map[string]string{
		"spread.yaml":     strings.Replace(orderSpread, "prepare: echo one-prepare $(basename $PWD) >>$LOG", "prepare: exit 1", 1),
		"one/a/task.yaml": orderTask("a", false),
		"two/c/task.yaml": orderTask("c", false),
	})
	p := load(t, dir)
	res, _ := runJobs(t, p, nspawnTarget(p))
	if !reflect.DeepEqual(res.Aborted, []string{"nspawn:debian-12-64:one/a"}) ||
		!reflect.DeepEqual(res.Passed, []string{"nspawn:debian-12-64:two/c"}) || res.OK() {
		t.Errorf("result: %+v", res)
	}
	if got := readLines(t, filepath.Join(dir, "log")); !slices.Contains(got, "one-restore") {
		t.Errorf("a suite whose prepare failed is restored: %v", got)
	}
}

func TestKillTimeout(t *testing.T) {
	dir := writeProject(t, map[string]string{
		"spread.yaml":       minimalSpread,
		"tests/a/task.yaml": "summary: a\nkill-timeout: 2s\nexecute: |\n    sleep 60 &\n    echo $! >@DIR@/child\n    wait\n",
	})
	res, log := runJobs(t, load(t, dir), hostTarget("debian-12-64"))
	if len(res.Failed) != 1 || !strings.Contains(log, "killed after timeout") {
		t.Fatalf("result %+v\n%s", res, log)
	}
	data, err := os.ReadFile(filepath.Join(dir, "child"))
	if err != nil {
		// On a loaded machine the kill may come before the script started its child.
		t.Logf("the script was killed before it started its child: %v", err)
		return
	}
	child := strings.TrimSpace(string(data))
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := os.Stat("/proc/" + child); os.IsNotExist(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the task's child %s outlived the kill", child)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The runner's entry point: the adhoc backend's allocate script gives an address,
// the project is sent to spread.yaml's path through -exec, and discard runs.
func TestAdhocBackendThroughExec(t *testing.T) {
	remote := filepath.Join(t.TempDir(), "remote")
	dir := writeProject(t, map[string]string{
		"spread.yaml": strings.Replace(strings.Replace(minimalSpread, "path: @DIR@", "path: "+remote, 1),
			"allocate: ADDRESS localhost", "allocate: ADDRESS box-$SPREAD_SYSTEM\n        discard: echo \"$SPREAD_SYSTEM_ADDRESS\" >@DIR@/discarded", 1),
		"tests/a/task.yaml": "summary: a\nexecute: |\n    test \"$PWD\" = \"$SPREAD_PATH/tests/a\"\n    test -f task.yaml\n    echo \"$ADDR\" >@DIR@/addr\n",
	})
	// The exec command here is env, which runs the script on this machine with the
	// address in its environment.
	var out bytes.Buffer
	err := run([]string{"-C", dir, "-backend", "adhoc", "-system", "debian-12-64", "-exec", "env ADDR=$SPREAD_SYSTEM_ADDRESS"}, &out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if got := strings.TrimSpace(string(must(os.ReadFile(filepath.Join(dir, "addr"))))); got != "box-debian-12-64" {
		t.Errorf("exec got address %q", got)
	}
	if got := strings.TrimSpace(string(must(os.ReadFile(filepath.Join(dir, "discarded"))))); got != "box-debian-12-64" {
		t.Errorf("discard got address %q", got)
	}
	if !strings.Contains(out.String(), "Successful tasks: 1") {
		t.Errorf("summary:\n%s", out.String())
	}
}

func TestFailingRunReturnsAnError(t *testing.T) {
	dir := writeProject(t, map[string]string{
		"spread.yaml":       minimalSpread,
		"tests/a/task.yaml": "summary: a\nexecute: echo nope | MATCH yes\n",
	})
	var out bytes.Buffer
	err := run([]string{"-C", dir, "-backend", "adhoc", "-system", "debian-12-64", "-exec", "env"}, &out)
	if err == nil || !strings.Contains(out.String(), "Failed tasks: 1") || !strings.Contains(out.String(), "pattern not found") {
		t.Fatalf("err %v\n%s", err, out.String())
	}
}

// An interrupted run (Ctrl-C, SIGTERM) kills the running script, aborts the other
// jobs and still restores what it prepared.
func TestInterruptedRunStillRestores(t *testing.T) {
	dir := writeProject(t, map[string]string{
		"spread.yaml":     orderSpread,
		"one/a/task.yaml": "summary: a\nexecute: |\n    touch @DIR@/started\n    sleep 60\nrestore: echo a-restore >>$LOG\n",
		"one/b/task.yaml": "summary: b\nexecute: echo b-execute >>$LOG\n",
		"two/c/task.yaml": "summary: c\nexecute: echo c-execute >>$LOG\n",
	})
	p := load(t, dir)
	jobs, err := p.Jobs(nspawnTarget(p), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for {
			if _, err := os.Stat(filepath.Join(dir, "started")); err == nil {
				cancel()
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	var log bytes.Buffer
	res := (&Runner{Project: p, Target: nspawnTarget(p), Exec: &CommandExecutor{}, Log: &log}).Run(ctx, jobs)
	if !reflect.DeepEqual(res.Failed, []string{"nspawn:debian-12-64:one/a"}) || !reflect.DeepEqual(res.Aborted, []string{"nspawn:debian-12-64:one/b", "nspawn:debian-12-64:two/c"}) {
		t.Errorf("result: %+v\n%s", res, log.String())
	}
	got := readLines(t, filepath.Join(dir, "log"))
	for _, want := range []string{"a-restore", "one-restore", "backend-restore", "project-restore"} {
		if !slices.Contains(got, want) {
			t.Errorf("%s did not run after the interruption: %v", want, got)
		}
	}
}

// The project's scripts take the project's kill-timeout only, not the backend's
// (spread's Job.KillTimeoutFor).
func TestProjectScriptsIgnoreTheBackendsKillTimeout(t *testing.T) {
	spreadYAML := strings.Replace(orderSpread, "prepare: echo project-prepare >>$LOG\n", "prepare: sleep 1.5\n", 1)
	spreadYAML = strings.Replace(spreadYAML, "        prepare: echo backend-prepare >>$LOG\n",
		"        prepare: echo backend-prepare >>$LOG\n        kill-timeout: 1s\n", 1)
	dir := writeProject(t, map[string]string{"spread.yaml": spreadYAML, "one/a/task.yaml": "summary: a\nexecute: true\n", "two/b/task.yaml": "summary: b\nexecute: true\n"})
	p := load(t, dir)
	if res, log := runJobs(t, p, nspawnTarget(p)); !res.OK() {
		t.Errorf("the project prepare was killed after the backend's timeout: %+v\n%s", res, log)
	}
}
