package main

import (
	"fmt"
	"regexp"
)

// The keys spread reads at each level of spread.yaml and in task.yaml (the yaml
// names of the fields of Project, Backend, System, Suite and Task in spread's
// spread/project.go). A key of spread's that the runner does not act on is refused
// as not implemented; a key spread does not know (spread ignores it: a typo there
// silently changes what runs) is refused as unknown.
var spreadKeys = map[string][]string{
	"project": {"project", "backends", "environment", "repack", "reroot", "prepare", "restore",
		"debug", "prepare-each", "restore-each", "debug-each", "suites", "path", "include",
		"exclude", "rename", "warn-timeout", "kill-timeout"},
	"backend": {"type", "key", "allocate", "discard", "memory", "plan", "location", "storage",
		"account", "endpoint", "networks", "groups", "systems", "prepare", "restore", "debug",
		"prepare-each", "restore-each", "debug-each", "environment", "variants",
		"warn-timeout", "kill-timeout", "halt-timeout", "priority", "manual"},
	"system": {"image", "kernel", "username", "password", "workers", "storage", "networks",
		"groups", "secure-boot", "bios", "cpu-family", "plan", "environment", "variants",
		"priority", "manual"},
	"suite": {"summary", "systems", "backends", "variants", "environment", "prepare", "restore",
		"debug", "prepare-each", "restore-each", "debug-each", "warn-timeout", "kill-timeout",
		"priority", "manual"},
	"task": {"summary", "details", "systems", "backends", "variants", "environment", "samples",
		"prepare", "restore", "execute", "debug", "artifacts", "warn-timeout", "kill-timeout",
		"priority", "manual"},
}

// provisioningKeys are backend and system keys that only say how spread obtains and
// reaches a machine; they do not change what runs on it, so the runner accepts them.
var provisioningKeys = map[string]map[string]bool{
	"backend": {"key": true, "location": true, "plan": true, "memory": true, "storage": true,
		"halt-timeout": true, "account": true, "endpoint": true, "networks": true, "groups": true},
	"system": {"image": true, "kernel": true, "username": true, "password": true, "workers": true,
		"storage": true, "networks": true, "groups": true, "secure-boot": true, "bios": true,
		"cpu-family": true, "plan": true},
}

// backendTypes are the backend types spread knows.
var backendTypes = map[string]bool{
	"google": true, "openstack": true, "linode": true, "lxd": true, "qemu": true, "adhoc": true, "humbox": true,
}

// Spread's name rules (spread/project.go).
var (
	validName   = regexp.MustCompile(`^[a-z0-9]+(?:[-._][a-z0-9]+)*$`)
	validSystem = regexp.MustCompile(`^[a-z*]+-[a-z0-9*]+(?:[-.][a-z0-9*]+)*$`)
	validSuite  = regexp.MustCompile(`^(?:[a-z0-9]+(?:[-._][a-z0-9]+)*/)+$`)
	validTask   = regexp.MustCompile(`^(?:[a-z0-9]+(?:[-._][a-z0-9]+)*/)+[a-z0-9]+(?:[-._][a-z0-9]+)*$`)
	// validVar is spread's variable name: NAME or NAME/variant1,variant2.
	validVar = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*(?:/[a-zA-Z0-9_]+(?:,[a-zA-Z0-9_]+)*)?$`)
)

// yaml11Bools are the plain scalars YAML 1.1 (spread's yaml.v2) reads as booleans:
// as variable names spread refuses them, where yaml.v3 would read a string.
var yaml11Bools = map[string]bool{
	"y": true, "Y": true, "yes": true, "Yes": true, "YES": true, "n": true, "N": true,
	"no": true, "No": true, "NO": true, "true": true, "True": true, "TRUE": true,
	"false": true, "False": true, "FALSE": true, "on": true, "On": true, "ON": true,
	"off": true, "Off": true, "OFF": true,
}

// NotImplementedError names a key this runner does not act on: a run never silently
// ignores part of a suite.
type NotImplementedError struct {
	Where, Key string
	// Unknown is set for a key spread does not know either (spread ignores it).
	Unknown bool
}

func (e *NotImplementedError) Error() string {
	if e.Unknown {
		return fmt.Sprintf("%s: %q is not a spread key (spread would ignore it; spreadlocal refuses it)", e.Where, e.Key)
	}
	return fmt.Sprintf("%s: spread key %q is not implemented by spreadlocal (run the suite with spread)", e.Where, e.Key)
}

// refuseKey is the error for a key of level (a key of spreadKeys) that the decoder did
// not handle: nil for the provisioning keys, which the runner accepts and ignores.
func refuseKey(level, where, key string) error {
	if provisioningKeys[level][key] {
		return nil
	}
	for _, k := range spreadKeys[level] {
		if k == key {
			return &NotImplementedError{Where: where, Key: key}
		}
	}
	return &NotImplementedError{Where: where, Key: key, Unknown: true}
}

// checkSystems refuses system names that spread refuses in a backend's, suite's or
// task's systems.
func checkSystems(where string, systems []string) error {
	for _, s := range systems {
		if len(s) > 0 && (s[0] == '+' || s[0] == '-') {
			s = s[1:]
		}
		if !validSystem.MatchString(s) {
			return fmt.Errorf("%s refers to invalid system name: %q", where, s)
		}
	}
	return nil
}
