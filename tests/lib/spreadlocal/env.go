package main

import (
	"bytes"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Env is an ordered set of environment variables, as spread keeps them: setting a
// variable again moves it to the end, so later levels (project, backend, system,
// suite, task) come after earlier ones in the exported script. Keys may carry a
// variant suffix (NAME/variant1,variant2) until Variant picks one.
type Env struct {
	keys []string
	vals map[string]string
}

// NewEnv returns an Env of key, value pairs in order.
func NewEnv(pairs ...string) *Env {
	e := &Env{vals: map[string]string{}}
	for i := 0; i+1 < len(pairs); i += 2 {
		e.Set(pairs[i], pairs[i+1])
	}
	return e
}

// Keys returns the variable names in order.
func (e *Env) Keys() []string {
	if e == nil {
		return nil
	}
	return append([]string(nil), e.keys...)
}

// Get returns the value of key, or "".
func (e *Env) Get(key string) string { return e.vals[key] }

// Set sets key to value and moves it to the end.
func (e *Env) Set(key, value string) {
	e.Unset(key)
	e.keys = append(e.keys, key)
	e.vals[key] = value
}

// Unset removes key.
func (e *Env) Unset(key string) {
	if _, ok := e.vals[key]; !ok {
		return
	}
	delete(e.vals, key)
	for i, k := range e.keys {
		if k == key {
			e.keys = append(e.keys[:i], e.keys[i+1:]...)
			break
		}
	}
}

// Variant returns the environment of one variant: keys suffixed with that variant
// replace their bare key in place, keys suffixed with other variants are dropped
// (spread's Environment.Variant).
func (e *Env) Variant(variant string) *Env {
	out := &Env{keys: e.Keys(), vals: map[string]string{}}
	for k, v := range e.vals {
		out.vals[k] = v
	}
	for _, key := range e.keys {
		name, variants := splitVariants(key)
		if len(variants) == 0 {
			continue
		}
		if !slices.Contains(variants, variant) {
			out.Unset(key)
			continue
		}
		value := out.vals[key]
		out.Unset(name)
		for i, k := range out.keys {
			if k == key {
				out.keys[i] = name
			}
		}
		delete(out.vals, key)
		out.vals[name] = value
	}
	return out
}

func splitVariants(key string) (name string, variants []string) {
	if i := strings.LastIndex(key, "/"); i >= 0 {
		return key[:i], strings.Split(key[i+1:], ",")
	}
	return key, nil
}

func decodeEnv(n *yaml.Node, where string) (*Env, error) {
	e := NewEnv()
	err := eachKey(n, where, func(key string, v *yaml.Node) error {
		if !validVar.MatchString(key) || yaml11Bools[key] {
			return fmt.Errorf("invalid variable name %q", key)
		}
		if _, dup := e.vals[key]; dup {
			return fmt.Errorf("variable %q defined multiple times", key)
		}
		if v.Kind != yaml.ScalarNode {
			return fmt.Errorf("variable %q must be a string", key)
		}
		value := v.Value
		if v.Tag == "!!null" {
			// spread reads `KEY:` and `KEY: ~` as empty
			value = ""
		}
		e.Set(key, value)
		return nil
	})
	return e, err
}

// variantsOf lists the variants an environment defines, each with prefix (spread's
// evars: the project's replace the default empty variant, the others add with "+").
func variantsOf(e *Env, prefix string) []string {
	seen := map[string]bool{}
	for _, key := range e.Keys() {
		_, variants := splitVariants(key)
		for _, v := range variants {
			seen[v] = true
		}
	}
	var out []string
	for v := range seen {
		out = append(out, prefix+v)
	}
	if len(out) == 0 && prefix == "" {
		out = append(out, "")
	}
	sort.Strings(out)
	return out
}

// selector is one level's list of names for systems, backends or variants: plain
// names replace what earlier levels chose, "+name" adds and "-name" removes. Names
// may be shell patterns matched against names earlier levels (or this one) listed.
type selector struct {
	where string
	names []string
}

// cascade applies the levels in order (spread's evalstr) and returns the chosen
// names, sorted.
func cascade(what string, levels ...selector) ([]string, error) {
	final := map[string]bool{}
	for i, level := range levels {
		delta, plain := 0, 0
		for j, name := range level.names {
			add, remove := strings.HasPrefix(name, "+"), strings.HasPrefix(name, "-")
			if add || remove {
				name = name[1:]
				if i == 0 {
					return nil, fmt.Errorf("%s specifies %s in delta format", level.where, what)
				}
				delta++
			} else {
				plain++
			}
			if delta > 0 && plain > 0 {
				return nil, fmt.Errorf("%s specifies %s both in delta and plain format", level.where, what)
			}
			matched, err := matchNames(name, levels[:i+1])
			if err != nil {
				return nil, fmt.Errorf("%s: %w", level.where, err)
			}
			switch {
			case add:
				for _, m := range matched {
					final[m] = true
				}
			case remove:
				for _, m := range matched {
					delete(final, m)
				}
			default:
				if j == 0 {
					final = map[string]bool{}
				}
				for _, m := range matched {
					final[m] = true
				}
			}
		}
	}
	out := make([]string, 0, len(final))
	for name := range final {
		out = append(out, name)
	}
	sort.Strings(out)
	return out, nil
}

func matchNames(pattern string, levels []selector) ([]string, error) {
	var out []string
	for _, level := range levels {
		for _, name := range level.names {
			name = strings.TrimLeft(name, "+-")
			ok, err := filepath.Match(pattern, name)
			if err != nil {
				return nil, err
			}
			if ok {
				out = append(out, name)
			}
		}
	}
	return out, nil
}

var hostCmd = regexp.MustCompile(`\$\(HOST:.+?\)`)

// hostEvaluator runs the $(HOST:...) commands of environment values on the machine
// running the runner, once per command (spread caches them the same way). Every
// other reference is left for the test system's shell to expand.
type hostEvaluator struct {
	cache map[string]string
}

func (h *hostEvaluator) eval(e *Env) (*Env, error) {
	out := NewEnv()
	for _, key := range e.Keys() {
		var failed error
		value := hostCmd.ReplaceAllStringFunc(e.Get(key), func(ref string) string {
			cmd := ref[len("$(HOST:") : len(ref)-1]
			if v, ok := h.cache[cmd]; ok {
				return v
			}
			var stderr bytes.Buffer
			c := exec.Command("/bin/bash", "-c", cmd)
			c.Stderr = &stderr
			v, err := c.Output()
			if err != nil && failed == nil {
				failed = fmt.Errorf("%s in variable %s failed: %v: %s", ref, key, err, strings.TrimSpace(stderr.String()))
			}
			h.cache[cmd] = strings.TrimRight(string(v), "\n")
			return h.cache[cmd]
		})
		if failed != nil {
			return nil, failed
		}
		out.Set(key, value)
	}
	return out, nil
}
