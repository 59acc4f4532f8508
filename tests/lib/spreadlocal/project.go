package main

import (
	"fmt"
	"path/filepath"
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
		return refuseKey("project", "spread.yaml", key)
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
		if name == HostBackend {
			return fmt.Errorf("spread.yaml: backend name %q is the runner's own (this machine)", name)
		}
		if v.Tag == "!!null" {
			// spread drops a backend given no value
			return nil
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
			return refuseKey("backend", where, key)
		})
		if err != nil {
			return err
		}
		if !backendTypes[b.Type] {
			return fmt.Errorf("%s has unsupported type %q", where, b.Type)
		}
		if b.Type != "adhoc" && (b.Allocate != "" || b.Discard != "") {
			return fmt.Errorf("%s cannot use allocate and discard fields (not an adhoc backend)", where)
		}
		if b.Type == "adhoc" && b.Allocate == "" {
			return fmt.Errorf("%s requires an allocate field", where)
		}
		if err := checkSystems(where, b.SystemNames); err != nil {
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
				return refuseKey("system", where, key)
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
