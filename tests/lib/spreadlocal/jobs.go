package main

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// HostBackend names this machine in job names and in `backends:` selections. It is
// not one of spread.yaml's backends: the runner sees the project as spread would with
// one more adhoc backend of that name, whose one system is this machine's.
const HostBackend = "host"

// Target is the one backend and system a run executes on.
type Target struct {
	// Backend is nil for this machine (HostBackend).
	Backend *Backend
	System  *System
	// Host is this machine's system name, the one system of the host backend; empty
	// leaves the host out (spread's own view of the project).
	Host string
}

func (t Target) backend() string {
	if t.Backend == nil {
		return HostBackend
	}
	return t.Backend.Name
}

// Job is one task in one variant on one backend and system (spread's job).
type Job struct {
	// Name is BACKEND:SYSTEM:TASK, with :VARIANT when the task has variants.
	Name    string
	Backend string
	System  string
	Suite   *Suite
	Task    *Task
	Variant string
	// Env is the job's environment, $(HOST:...) run and the variant's keys picked;
	// Jobs sets it for the jobs of its target only.
	Env *Env
	// raw is the environment before that, in spread's cascading order.
	raw *Env
	// manual says whether the job's backend, system, suite and task are manual.
	manual [4]bool
}

// hostBackend is the host as spread would see it: an adhoc backend with one system.
func hostBackend(system string) *Backend {
	return &Backend{Name: HostBackend, Type: "adhoc", Systems: map[string]*System{system: {Name: system}},
		SystemNames: []string{system}}
}

// ListJobs lists every job of the project, on every backend and system (and on the
// host, unless host is empty), in name order, as `spread -list ARGS` does (spread's
// Project.Jobs): per task the backends cascade from the project (all of them) through
// the suite to the task, the systems from the backend through the suite and the task,
// the variants from the project, backend, system, suite and task environments'
// NAME/variant keys and `variants:` lists; filters select by name, and a manual
// backend, system, suite or task is left out unless every job the filters select is
// manual at that level.
func (p *Project) ListJobs(host string, args []string) ([]*Job, error) {
	filter, err := NewFilter(args)
	if err != nil {
		return nil, err
	}
	backends := map[string]*Backend{}
	var spreadNames []string
	for name, b := range p.Backends {
		backends[name] = b
		spreadNames = append(spreadNames, name)
	}
	allNames := spreadNames
	if host != "" {
		backends[HostBackend] = hostBackend(host)
		allNames = append(allNames[:len(allNames):len(allNames)], HostBackend)
	}
	var jobs []*Job
	onlyManual := [4]bool{filter != nil, filter != nil, filter != nil, filter != nil}
	for _, suite := range p.Suites {
		for _, task := range suite.Tasks {
			sbke, tbke := selector{"suite " + suite.Name, suite.Backends}, selector{"task " + task.Name, task.Backends}
			// In spread's own view a backend spread.yaml does not define crashes spread.
			names, err := cascade("backends", selector{"project", spreadNames}, sbke, tbke)
			if err != nil {
				return nil, err
			}
			for _, name := range names {
				if p.Backends[name] == nil {
					return nil, fmt.Errorf("%s selects backend %q, which spread.yaml does not define (spread would crash)", task.Name, name)
				}
			}
			if names, err = cascade("backends", selector{"project", allNames}, sbke, tbke); err != nil {
				return nil, err
			}
			for _, bname := range names {
				b := backends[bname]
				systems, err := cascade("systems", selector{"backend " + bname, b.SystemNames},
					selector{"suite " + suite.Name, suite.Systems}, selector{"task " + task.Name, task.Systems})
				if err != nil {
					return nil, err
				}
				for _, sname := range systems {
					sys := b.Systems[sname]
					if sys == nil {
						continue
					}
					variants, err := cascade("variants",
						selector{"project", variantsOf(p.Env, "")},
						selector{"backend " + bname, variantsOf(b.Env, "+")}, selector{"backend " + bname, b.Variants},
						selector{"system " + sname, variantsOf(sys.Env, "+")}, selector{"system " + sname, sys.Variants},
						selector{"suite " + suite.Name, variantsOf(suite.Env, "+")}, selector{"suite " + suite.Name, suite.Variants},
						selector{"task " + task.Name, variantsOf(task.Env, "+")}, selector{"task " + task.Name, task.Variants})
					if err != nil {
						return nil, err
					}
					for _, variant := range variants {
						if variant == "" && len(variants) > 1 {
							continue
						}
						job := p.newJob(b, sys, suite, task, variant)
						if !filter.Pass(job.Name, 1) {
							continue
						}
						job.manual = [4]bool{b.Manual, sys.Manual, suite.Manual, task.Manual}
						for i, m := range job.manual {
							onlyManual[i] = onlyManual[i] && m
						}
						jobs = append(jobs, job)
					}
				}
			}
		}
	}
	var out []*Job
	for _, job := range jobs {
		keep := true
		for level, m := range job.manual {
			keep = keep && (!m || onlyManual[level])
		}
		if keep {
			out = append(out, job)
		}
	}
	if len(out) == 0 {
		if filter != nil {
			return nil, fmt.Errorf("nothing matches the selection %q", strings.Join(args, " "))
		}
		return nil, fmt.Errorf("cannot find any tasks")
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (p *Project) newJob(b *Backend, sys *System, suite *Suite, task *Task, variant string) *Job {
	name := b.Name + ":" + sys.Name + ":" + task.Name
	if variant != "" {
		name += ":" + variant
	}
	env := NewEnv(
		"SPREAD_JOB", name,
		"SPREAD_PROJECT", p.Name,
		"SPREAD_PATH", p.Path,
		"SPREAD_BACKEND", b.Name,
		"SPREAD_SYSTEM", sys.Name,
		"SPREAD_SUITE", suite.Name,
		"SPREAD_TASK", task.Name,
		"SPREAD_VARIANT", variant,
		"SPREAD_SAMPLE", "1",
	)
	for _, level := range []*Env{p.Env, b.Env, sys.Env, suite.Env, task.Env} {
		for _, k := range level.Keys() {
			env.Set(k, level.Get(k))
		}
	}
	return &Job{Name: name, Backend: b.Name, System: sys.Name, Suite: suite, Task: task, Variant: variant, raw: env}
}

// Jobs returns the jobs of ListJobs(t.Host, args) that run on the target, with their
// environment, suite by suite (spread's runner stays in a suite while it has jobs
// there; it shuffles them, this runner keeps name order). When args select jobs, none
// of them on the target, the list is empty and the error nil: spread would run nothing
// there either. With no args, a target without jobs is an error.
func (p *Project) Jobs(t Target, args []string) ([]*Job, error) {
	all, err := p.ListJobs(t.Host, args)
	if err != nil {
		return nil, err
	}
	host := &hostEvaluator{cache: map[string]string{}}
	var jobs []*Job
	for _, job := range all {
		if job.Backend != t.backend() || job.System != t.System.Name {
			continue
		}
		env, err := host.eval(job.raw)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", job.Name, err)
		}
		job.Env = env.Variant(job.Variant)
		jobs = append(jobs, job)
	}
	if len(jobs) == 0 && len(args) == 0 {
		return nil, fmt.Errorf("cannot find any tasks for %s:%s", t.backend(), t.System.Name)
	}
	sort.SliceStable(jobs, func(i, j int) bool { return jobs[i].Suite.Name < jobs[j].Suite.Name })
	return jobs, nil
}

// killTimeout is the first timeout set, from the script's own level up to the
// project, spread's default of 15 minutes otherwise.
func killTimeout(timeouts ...time.Duration) time.Duration {
	for _, t := range timeouts {
		if t != 0 {
			return t
		}
	}
	return 15 * time.Minute
}
