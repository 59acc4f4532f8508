package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

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
			return refuseKey("suite", where, key)
		})
		if err != nil {
			return err
		}
		if strings.TrimSpace(s.Summary) == "" {
			return fmt.Errorf("%s is missing a summary", where)
		}
		if err := checkSystems(where, s.Systems); err != nil {
			return err
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
		// spread follows symbolic links to task directories
		if fi, err := os.Stat(filepath.Join(dir, e.Name())); err != nil || !fi.IsDir() {
			continue
		}
		filename := filepath.Join(dir, e.Name(), "task.yaml")
		if _, err := os.Stat(filename); os.IsNotExist(err) {
			continue
		}
		if !validTask.MatchString(s.Name + e.Name()) {
			return fmt.Errorf("invalid task name: %q", s.Name+e.Name())
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
		return refuseKey("task", where, key)
	})
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(t.Summary) == "" {
		return nil, fmt.Errorf("%s is missing a summary", where)
	}
	if err := checkSystems(where, t.Systems); err != nil {
		return nil, err
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

// decodeTimeout reads spread's timeouts (Go durations: "30s", "1m30s", "1.5h"). Zero
// means the default, as in spread; a negative one, which spread takes as already
// expired, is refused.
func decodeTimeout(v *yaml.Node) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(v.Value))
	if err != nil {
		return 0, fmt.Errorf("timeout must look like 10s or 15m or 1.5h, not %q", v.Value)
	}
	if d < 0 {
		return 0, fmt.Errorf("timeout must not be negative: %q", v.Value)
	}
	return d, nil
}
