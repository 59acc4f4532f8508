package main

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Target is the one backend and system this run executes on. The host target is not
// one of spread.yaml's backends: it is the machine running the runner.
type Target struct {
	Backend *Backend
	System  *System
}

// HostBackend names the host target in job names and in `backends:` selections.
const HostBackend = "host"

// Job is one task in one variant on the target (spread's job).
type Job struct {
	Name    string
	Suite   *Suite
	Task    *Task
	Variant string
	Env     *Env
}

// Jobs expands the project into the target's jobs in spread's cascading order
// (project, backend, system, suite, task) for backends, systems, variants and
// environment. Filters select jobs by name as spread's command-line arguments do.
// Jobs come in suite order, then task order, then variant order: spread shuffles
// them, this runner keeps one reproducible order.
func (p *Project) Jobs(t Target, filters []string) ([]*Job, error) {
	backendNames := []string{HostBackend}
	for name := range p.Backends {
		backendNames = append(backendNames, name)
	}
	host := &hostEvaluator{cache: map[string]string{}}
	var jobs []*Job
	manual := map[string]bool{"backend": len(filters) > 0, "system": len(filters) > 0, "suite": len(filters) > 0, "task": len(filters) > 0}
	bname, sname := HostBackend, t.System.Name
	var benv *Env
	var bvars, bsys []string
	if t.Backend != nil {
		bname, benv, bvars, bsys = t.Backend.Name, t.Backend.Env, t.Backend.Variants, t.Backend.SystemNames
	} else {
		bsys = []string{sname}
	}
	for _, suite := range p.Suites {
		for _, task := range suite.Tasks {
			backends, err := cascade("backends",
				selector{"project", backendNames}, selector{"suite " + suite.Name, suite.Backends}, selector{"task " + task.Name, task.Backends})
			if err != nil {
				return nil, err
			}
			if !slices.Contains(backends, bname) {
				continue
			}
			systems, err := cascade("systems",
				selector{"backend " + bname, bsys}, selector{"suite " + suite.Name, suite.Systems}, selector{"task " + task.Name, task.Systems})
			if err != nil {
				return nil, err
			}
			if !slices.Contains(systems, sname) {
				continue
			}
			variants, err := cascade("variants",
				selector{"project", variantsOf(p.Env, "")},
				selector{"backend " + bname, variantsOf(benv, "+")}, selector{"backend " + bname, bvars},
				selector{"system " + sname, variantsOf(t.System.Env, "+")}, selector{"system " + sname, t.System.Variants},
				selector{"suite " + suite.Name, variantsOf(suite.Env, "+")}, selector{"suite " + suite.Name, suite.Variants},
				selector{"task " + task.Name, variantsOf(task.Env, "+")}, selector{"task " + task.Name, task.Variants})
			if err != nil {
				return nil, err
			}
			for _, variant := range variants {
				if variant == "" && len(variants) > 1 {
					continue
				}
				name := bname + ":" + sname + ":" + task.Name
				if variant != "" {
					name += ":" + variant
				}
				env := NewEnv(
					"SPREAD_JOB", name,
					"SPREAD_PROJECT", p.Name,
					"SPREAD_PATH", p.Path,
					"SPREAD_BACKEND", bname,
					"SPREAD_SYSTEM", sname,
					"SPREAD_SUITE", suite.Name,
					"SPREAD_TASK", task.Name,
					"SPREAD_VARIANT", variant,
					"SPREAD_SAMPLE", "1",
				)
				for _, level := range []*Env{p.Env, benv, t.System.Env, suite.Env, task.Env} {
					for _, k := range level.Keys() {
						env.Set(k, level.Get(k))
					}
				}
				env, err := host.eval(env)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", name, err)
				}
				job := &Job{Name: name, Suite: suite, Task: task, Variant: variant, Env: env.Variant(variant)}
				if len(filters) > 0 && !matchAny(filters, bname, sname, task.Name, variant) {
					continue
				}
				jobs = append(jobs, job)
				if t.Backend == nil || !t.Backend.Manual {
					manual["backend"] = false
				}
				if !t.System.Manual {
					manual["system"] = false
				}
				if !suite.Manual {
					manual["suite"] = false
				}
				if !task.Manual {
					manual["task"] = false
				}
			}
		}
	}
	// A manual backend, system, suite or task runs only when selected and when the
	// selection matches nothing that is not manual (spread's rule).
	var out []*Job
	for _, job := range jobs {
		if (!manual["backend"] && t.Backend != nil && t.Backend.Manual) ||
			(!manual["system"] && t.System.Manual) ||
			(!manual["suite"] && job.Suite.Manual) ||
			(!manual["task"] && job.Task.Manual) {
			continue
		}
		out = append(out, job)
	}
	if len(out) == 0 {
		if len(filters) > 0 {
			return nil, fmt.Errorf("nothing matches the selection %q on %s:%s", strings.Join(filters, " "), bname, sname)
		}
		return nil, fmt.Errorf("cannot find any tasks for %s:%s", bname, sname)
	}
	return out, nil
}

// matchAny reports whether any filter selects the job with these name components.
// A filter is one or more colon-separated parts, each matching a later component
// than the previous one: exactly, with "..." as a wildcard, or, for the task, a
// part of its name that starts or ends with a slash.
func matchAny(filters []string, backend, system, task, variant string) bool {
	components := []string{backend, system, task, variant}
	for _, f := range filters {
		next := 0
		ok := true
		for _, part := range strings.Split(f, ":") {
			found := false
			for next < len(components) {
				c := components[next]
				next++
				if matchComponent(part, c, next-1 == 2) {
					found = true
					break
				}
			}
			if !found {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func matchComponent(part, component string, isTask bool) bool {
	if part == component {
		return true
	}
	if strings.Contains(part, "...") {
		re := "^" + strings.ReplaceAll(regexp.QuoteMeta(part), regexp.QuoteMeta("..."), ".*") + "$"
		if regexp.MustCompile(re).MatchString(component) {
			return true
		}
	}
	if isTask && (strings.HasPrefix(part, "/") || strings.HasSuffix(part, "/")) {
		return strings.Contains(component, part)
	}
	return false
}

// killTimeout is the first timeout set from the task up to the project, spread's
// default of 15 minutes otherwise; -1 means none.
func killTimeout(timeouts ...time.Duration) time.Duration {
	for _, t := range timeouts {
		if t != 0 {
			return t
		}
	}
	return 15 * time.Minute
}
