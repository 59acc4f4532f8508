package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Project is spread.yaml with its suites and tasks, as far as this runner implements
// spread's format (https://github.com/canonical/spread, README and spread/project.go).
type Project struct {
	Name string
	// Path is spread's `path`: where the project lives on the test system.
	Path string
	// Dir is the local directory holding spread.yaml.
	Dir string

	Env         *Env
	Scripts     Scripts
	KillTimeout time.Duration

	Backends map[string]*Backend
	// Suites in name order.
	Suites []*Suite
}

// Scripts are the script slots project, backends and suites share; tasks use
// Prepare, Restore and Debug only (plus their own Execute).
type Scripts struct {
	Prepare, Restore, Debug             string
	PrepareEach, RestoreEach, DebugEach string
}

// Backend is one entry of `backends`. The runner runs only adhoc backends (it
// allocates with their script); the others are described for spread itself.
type Backend struct {
	Name     string
	Type     string
	Allocate string
	Discard  string
	Systems  map[string]*System
	// SystemNames in the order spread.yaml lists them.
	SystemNames []string
	Env         *Env
	Variants    []string
	Scripts     Scripts
	KillTimeout time.Duration
	Manual      bool
}

// System is one entry of a backend's `systems`.
type System struct {
	Name     string
	Env      *Env
	Variants []string
	Manual   bool
}

// Suite is one entry of `suites`: a directory of tasks.
type Suite struct {
	// Name ends with a slash, as in spread.yaml.
	Name        string
	Summary     string
	Systems     []string
	Backends    []string
	Variants    []string
	Env         *Env
	Scripts     Scripts
	KillTimeout time.Duration
	Manual      bool
	// Tasks in name order.
	Tasks []*Task
}

// Task is one task.yaml.
type Task struct {
	// Name is the suite's name followed by the task's directory.
	Name        string
	Summary     string
	Details     string
	Systems     []string
	Backends    []string
	Variants    []string
	Env         *Env
	Prepare     string
	Execute     string
	Restore     string
	Debug       string
	KillTimeout time.Duration
	Manual      bool
}

// NotImplementedError names a spread key this runner does not implement: a run never
// silently ignores part of a suite.
type NotImplementedError struct {
	Where, Key string
}

func (e *NotImplementedError) Error() string {
	return fmt.Sprintf("%s: spread key %q is not implemented by spreadlocal (run the suite with spread)", e.Where, e.Key)
}

var (
	validName  = regexp.MustCompile(`^[a-z0-9]+(?:[-._][a-z0-9]+)*$`)
	validSuite = regexp.MustCompile(`^(?:[a-z0-9]+(?:[-._][a-z0-9]+)*/)+$`)
	// validVar is spread's variable name: NAME or NAME/variant1,variant2.
	validVar = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*(?:/[a-zA-Z0-9_]+(?:,[a-zA-Z0-9_]+)*)?$`)
)

// provisioningKeys are backend and system keys that only say how spread obtains and
// reaches a machine; they do not change what runs on it.
var provisioningKeys = map[string]bool{
	"key": true, "location": true, "plan": true, "memory": true, "storage": true,
	"halt-timeout": true, "account": true, "endpoint": true, "networks": true,
	"groups": true, "username": true, "password": true, "image": true, "kernel": true,
	"workers": true, "secure-boot": true, "bios": true, "cpu-family": true,
}

// LoadProject reads dir/spread.yaml and every task.yaml of its suites.
func LoadProject(dir string) (*Project, error) {
	filename := filepath.Join(dir, "spread.yaml")
	root, err := readYAML(filename)
	if err != nil {
		return nil, err
	}
	p := &Project{Dir: dir, Backends: map[string]*Backend{}}
	var suites *yaml.Node
	err = eachKey(root, "spread.yaml", func(key string, v *yaml.Node) error {
		switch key {
		case "project":
			return v.Decode(&p.Name)
		case "path":
			return v.Decode(&p.Path)
		case "environment":
			p.Env, err = decodeEnv(v, "spread.yaml environment")
			return err
		case "kill-timeout":
			p.KillTimeout, err = decodeTimeout(v)
			return err
		case "backends":
			return p.decodeBackends(v)
		case "suites":
			suites = v
			return nil
		}
		if ok, err := p.Scripts.decode(key, v, true); ok || err != nil {
			return err
		}
		return &NotImplementedError{"spread.yaml", key}
	})
	if err != nil {
		return nil, err
	}
	if !validName.MatchString(p.Name) {
		return nil, fmt.Errorf("spread.yaml: invalid project name %q", p.Name)
	}
	if !filepath.IsAbs(p.Path) || filepath.Clean(p.Path) == "/" {
		return nil, fmt.Errorf("spread.yaml: path must be absolute and not /: %q", p.Path)
	}
	if len(p.Backends) == 0 {
		return nil, fmt.Errorf("spread.yaml: must define at least one backend")
	}
	if suites == nil {
		return nil, fmt.Errorf("spread.yaml: must define at least one task suite")
	}
	if err := p.decodeSuites(suites); err != nil {
		return nil, err
	}
	return p, nil
}

func (s *Scripts) decode(key string, v *yaml.Node, each bool) (bool, error) {
	var dst *string
	switch key {
	case "prepare":
		dst = &s.Prepare
	case "restore":
		dst = &s.Restore
	case "debug":
		dst = &s.Debug
	}
	if each {
		switch key {
		case "prepare-each":
			dst = &s.PrepareEach
		case "restore-each":
			dst = &s.RestoreEach
		case "debug-each":
			dst = &s.DebugEach
		}
	}
	if dst == nil {
		return false, nil
	}
	return true, decodeScript(v, dst)
}

func (p *Project) decodeBackends(n *yaml.Node) error {
	return eachKey(n, "spread.yaml backends", func(name string, v *yaml.Node) error {
		if !validName.MatchString(name) {
			return fmt.Errorf("spread.yaml: invalid backend name %q", name)
		}
		b := &Backend{Name: name, Type: name, Systems: map[string]*System{}}
		where := "backend " + name
		err := eachKey(v, where, func(key string, v *yaml.Node) (err error) {
			switch key {
			case "type":
				return v.Decode(&b.Type)
			case "allocate":
				return decodeScript(v, &b.Allocate)
			case "discard":
				return decodeScript(v, &b.Discard)
			case "systems":
				return b.decodeSystems(v)
			case "environment":
				b.Env, err = decodeEnv(v, where+" environment")
				return err
			case "variants":
				return v.Decode(&b.Variants)
			case "kill-timeout":
				b.KillTimeout, err = decodeTimeout(v)
				return err
			case "manual":
				return v.Decode(&b.Manual)
			}
			if ok, err := b.Scripts.decode(key, v, true); ok || err != nil {
				return err
			}
			if provisioningKeys[key] {
				return nil
			}
			return &NotImplementedError{where, key}
		})
		if err != nil {
			return err
		}
		if len(b.Systems) == 0 {
			return fmt.Errorf("no systems specified for backend %s", name)
		}
		p.Backends[name] = b
		return nil
	})
}

func (b *Backend) decodeSystems(n *yaml.Node) error {
	if n.Kind != yaml.SequenceNode {
		return fmt.Errorf("backend %s: systems must be a list", b.Name)
	}
	for _, item := range n.Content {
		sys := &System{}
		switch item.Kind {
		case yaml.ScalarNode:
			sys.Name = item.Value
		case yaml.MappingNode:
			if len(item.Content) != 2 {
				return fmt.Errorf("backend %s: a system entry must name one system", b.Name)
			}
			sys.Name = item.Content[0].Value
			where := "system " + b.Name + ":" + sys.Name
			err := eachKey(item.Content[1], where, func(key string, v *yaml.Node) (err error) {
				switch key {
				case "environment":
					sys.Env, err = decodeEnv(v, where+" environment")
					return err
				case "variants":
					return v.Decode(&sys.Variants)
				case "manual":
					return v.Decode(&sys.Manual)
				}
				if provisioningKeys[key] {
					return nil
				}
				return &NotImplementedError{where, key}
			})
			if err != nil {
				return err
			}
		default:
			return fmt.Errorf("backend %s: invalid system entry", b.Name)
		}
		if _, dup := b.Systems[sys.Name]; dup {
			return fmt.Errorf("backend %s lists system %s twice", b.Name, sys.Name)
		}
		b.Systems[sys.Name] = sys
		b.SystemNames = append(b.SystemNames, sys.Name)
	}
	return nil
}

func (p *Project) decodeSuites(n *yaml.Node) error {
	err := eachKey(n, "spread.yaml suites", func(name string, v *yaml.Node) error {
		if !validSuite.MatchString(name) {
			return fmt.Errorf("spread.yaml: invalid suite name %q (must end with /)", name)
		}
		s := &Suite{Name: name}
		where := "suite " + name
		err := eachKey(v, where, func(key string, v *yaml.Node) (err error) {
			switch key {
			case "summary":
				return v.Decode(&s.Summary)
			case "systems":
				return v.Decode(&s.Systems)
			case "backends":
				return v.Decode(&s.Backends)
			case "variants":
				return v.Decode(&s.Variants)
			case "environment":
				s.Env, err = decodeEnv(v, where+" environment")
				return err
			case "kill-timeout":
				s.KillTimeout, err = decodeTimeout(v)
				return err
			case "manual":
				return v.Decode(&s.Manual)
			}
			if ok, err := s.Scripts.decode(key, v, true); ok || err != nil {
				return err
			}
			return &NotImplementedError{where, key}
		})
		if err != nil {
			return err
		}
		if strings.TrimSpace(s.Summary) == "" {
			return fmt.Errorf("%s is missing a summary", where)
		}
		if err := s.loadTasks(p.Dir); err != nil {
			return err
		}
		p.Suites = append(p.Suites, s)
		return nil
	})
	sort.Slice(p.Suites, func(i, j int) bool { return p.Suites[i].Name < p.Suites[j].Name })
	return err
}

func (s *Suite) loadTasks(projectDir string) error {
	dir := filepath.Join(projectDir, s.Name)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("cannot list suite %s: %w", s.Name, err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		filename := filepath.Join(dir, e.Name(), "task.yaml")
		if _, err := os.Stat(filename); os.IsNotExist(err) {
			continue
		}
		t, err := loadTask(filename, s.Name+e.Name())
		if err != nil {
			return err
		}
		s.Tasks = append(s.Tasks, t)
	}
	sort.Slice(s.Tasks, func(i, j int) bool { return s.Tasks[i].Name < s.Tasks[j].Name })
	return nil
}

func loadTask(filename, name string) (*Task, error) {
	root, err := readYAML(filename)
	if err != nil {
		return nil, err
	}
	t := &Task{Name: name}
	where := name + "/task.yaml"
	err = eachKey(root, where, func(key string, v *yaml.Node) (err error) {
		switch key {
		case "summary":
			return v.Decode(&t.Summary)
		case "details":
			return v.Decode(&t.Details)
		case "systems":
			return v.Decode(&t.Systems)
		case "backends":
			return v.Decode(&t.Backends)
		case "variants":
			return v.Decode(&t.Variants)
		case "environment":
			t.Env, err = decodeEnv(v, where+" environment")
			return err
		case "prepare":
			return decodeScript(v, &t.Prepare)
		case "execute":
			return decodeScript(v, &t.Execute)
		case "restore":
			return decodeScript(v, &t.Restore)
		case "debug":
			return decodeScript(v, &t.Debug)
		case "kill-timeout":
			t.KillTimeout, err = decodeTimeout(v)
			return err
		case "manual":
			return v.Decode(&t.Manual)
		}
		return &NotImplementedError{where, key}
	})
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(t.Summary) == "" {
		return nil, fmt.Errorf("%s is missing a summary", where)
	}
	return t, nil
}

func readYAML(filename string) (*yaml.Node, error) {
	data, err := os.ReadFile(filename)
	if err != nil {
		return nil, fmt.Errorf("cannot read %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("cannot parse %s: %w", filename, err)
	}
	if len(doc.Content) == 0 {
		return nil, fmt.Errorf("cannot parse %s: empty document", filename)
	}
	return doc.Content[0], nil
}

// eachKey calls f for every key of a mapping node, in file order, and wraps f's
// errors with where they happened.
func eachKey(n *yaml.Node, where string, f func(key string, v *yaml.Node) error) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("%s: expected a mapping (line %d)", where, n.Line)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key := n.Content[i].Value
		if err := f(key, n.Content[i+1]); err != nil {
			var ni *NotImplementedError
			if errors.As(err, &ni) {
				return err
			}
			return fmt.Errorf("%s: %s (line %d): %w", where, key, n.Content[i].Line, err)
		}
	}
	return nil
}

func decodeScript(v *yaml.Node, dst *string) error {
	var s string
	if err := v.Decode(&s); err != nil {
		return err
	}
	*dst = strings.TrimSpace(s)
	return nil
}

// decodeTimeout reads spread's timeouts ("30s", "1m30s", "1.5h"; "-1" disables).
func decodeTimeout(v *yaml.Node) (time.Duration, error) {
	if v.Value == "-1" {
		return -1, nil
	}
	d, err := time.ParseDuration(v.Value)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("invalid timeout %q", v.Value)
	}
	return d, nil
}
