package main

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// Keys of spread's the runner does not act on are refused as not implemented; keys
// spread does not know (it ignores them) as unknown.
func TestUnimplementedKeysAreRefused(t *testing.T) {
	cases := []struct {
		files   map[string]string
		where   string
		key     string
		unknown bool
	}{
		{map[string]string{"spread.yaml": minimalSpread + "include: [src/*]\n"}, "spread.yaml", "include", false},
		{map[string]string{"spread.yaml": minimalSpread + "        priority: 10\n"}, "suite tests/", "priority", false},
		{map[string]string{"spread.yaml": minimalSpread, "tests/a/task.yaml": "summary: a\nexecute: true\nartifacts: [x]\n"}, "tests/a/task.yaml", "artifacts", false},
		{map[string]string{"spread.yaml": minimalSpread, "tests/a/task.yaml": "summary: a\nexecute: true\nwarn-timeout: 1m\n"}, "tests/a/task.yaml", "warn-timeout", false},
		{map[string]string{"spread.yaml": minimalSpread, "tests/a/task.yaml": "summary: a\nexecute: true\nsamples: 2\n"}, "tests/a/task.yaml", "samples", false},
		{map[string]string{"spread.yaml": strings.Replace(minimalSpread, "allocate: ADDRESS localhost", "allocate: x\n        repack: y", 1)}, "backend adhoc", "repack", true},
		{map[string]string{"spread.yaml": minimalSpread, "tests/a/task.yaml": "summary: a\nexecute: true\nsytems: [x]\n"}, "tests/a/task.yaml", "sytems", true},
	}
	for _, c := range cases {
		_, err := LoadProject(writeProject(t, c.files))
		var ni *NotImplementedError
		if !errors.As(err, &ni) || ni.Where != c.where || ni.Key != c.key || ni.Unknown != c.unknown {
			t.Errorf("want key %q refused in %s (unknown to spread: %v), got %v", c.key, c.where, c.unknown, err)
		}
	}
}

// spread reads a variable given no value as empty (YAML's null).
func TestNullVariableIsEmpty(t *testing.T) {
	dir := writeProject(t, map[string]string{
		"spread.yaml":       minimalSpread,
		"tests/a/task.yaml": "summary: a\nexecute: true\nenvironment:\n    A:\n    B: ~\n    C: \"~\"\n",
	})
	env := load(t, dir).Suites[0].Tasks[0].Env
	if env.Get("A") != "" || env.Get("B") != "" || env.Get("C") != "~" {
		t.Errorf("A=%q B=%q C=%q", env.Get("A"), env.Get("B"), env.Get("C"))
	}
}

func TestProvisioningKeysAreAccepted(t *testing.T) {
	dir := writeProject(t, map[string]string{
		"spread.yaml": strings.Replace(minimalSpread, "systems: [debian-12-64, ubuntu-16.04-64]",
			"key: \"$(HOST: echo k)\"\n        location: x/y\n        systems:\n            - ubuntu-16.04-64:\n                username: ubuntu\n                password: ubuntu\n                workers: 2", 1),
		"tests/a/task.yaml": "summary: a\nexecute: true\n",
	})
	p := load(t, dir)
	if got := p.Backends["adhoc"].SystemNames; !reflect.DeepEqual(got, []string{"ubuntu-16.04-64"}) {
		t.Errorf("systems: %v", got)
	}
}

func TestHostSystem(t *testing.T) {
	f := filepath.Join(t.TempDir(), "os-release")
	os.WriteFile(f, []byte("PRETTY_NAME=\"Ubuntu 18.04.6 LTS\"\nID=ubuntu\nVERSION_ID=\"18.04\"\n"), 0o644)
	if got, err := hostSystem(f); err != nil || got != "ubuntu-18.04-64" {
		t.Errorf("got %q, %v", got, err)
	}
}

func refusal(name, from, to string, tasks map[string]string, err string) jobsCase {
	if tasks == nil {
		tasks = map[string]string{"t/a": ""}
	}
	return jobsCase{name: name, yaml: strings.Replace(oneSystemSpread, from, to, 1), tasks: tasks,
		lists: []jobsList{{err: err}}}
}

// refusalCases are files spread refuses too (checked against spread as the other
// fixtures are, jobs_test.go); where spread crashes, spreadlocal says why.
var refusalCases = []jobsCase{
	refusal("invalid task name", "", "", map[string]string{"t/Bad": ""}, `invalid task name: "t/Bad"`),
	refusal("invalid system in a task", "", "", map[string]string{"t/a": "systems: [Debian]\n"}, `invalid system name: "Debian"`),
	refusal("invalid system in a backend", "[debian-12-64]", "[debian_12]", nil, `invalid system name: "debian_12"`),
	refusal("unknown backend type", "type: adhoc", "type: docker", nil, `unsupported type "docker"`),
	refusal("adhoc without allocate", "        allocate: ADDRESS a\n", "", nil, "requires an allocate field"),
	refusal("allocate on qemu", "type: adhoc", "type: qemu", nil, "cannot use allocate"),
	refusal("YAML 1.1 boolean as a variable", "", "", map[string]string{"t/a": "environment:\n    Y: 1\n"}, `invalid variable name "Y"`),
	refusal("timeout -1", "", "", map[string]string{"t/a": "kill-timeout: -1\n"}, "timeout must look like"),
	refusal("backend spread.yaml lacks", "", "", map[string]string{"t/a": "backends: [nosuch]\n"}, `selects backend "nosuch"`),
	refusal("backend pattern", "", "", map[string]string{"t/a": "backends: [al*]\n"}, `selects backend "al*"`),
	refusal("host selected", "", "", map[string]string{"t/a": "backends: [+host]\n"}, `selects backend "host"`),
	refusal("delta and plain", "", "", map[string]string{"t/a": "systems: [-debian-12-64, debian-13-64]\n"}, "both in delta and plain format"),
	refusal("delta variants in the project", "        summary: tasks\n", "        summary: tasks\n        variants: [+a, b]\n", nil, "both in delta and plain format"),
}
