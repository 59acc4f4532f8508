package client

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

// An answer's size cap bounds the bytes root reads, not what it builds from them:
// 1 MiB of "{}," decodes into 350,000 status entries, hundreds of megabytes once
// shown. Before an answer is decoded, its JSON may hold at most
// membersBase + membersPerName × (names asked) members (array elements and object
// keys, at any depth): a status entry has a dozen fields and a name or two, a kill
// a scope per running app.
const (
	membersBase    = 256
	membersPerName = 64
)

// memberBudget is how many members an answer to a request naming asked units or
// snaps may hold.
func memberBudget(asked int) int { return membersBase + membersPerName*asked }

// checkMembers returns an error if the JSON in data holds more than budget members.
// It reads tokens without building the values, so a refused answer costs no more
// than its bytes. Syntax errors are left to the decoding that follows.
func checkMembers(data []byte, budget int) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	// The innermost open containers: whether each is an object, whose keys and
	// values alternate.
	var objects []bool
	var keyNext []bool
	members := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			// The end, or a syntax error that decoding reports.
			return nil
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			objects, keyNext = objects[:len(objects)-1], keyNext[:len(keyNext)-1]
			continue
		}
		if n := len(objects); n > 0 {
			// An array's elements and an object's keys count; an object's values
			// are counted with their keys.
			if !objects[n-1] || keyNext[n-1] {
				members++
				if members > budget {
					return fmt.Errorf("answer holds more than %d entries", budget)
				}
			}
			if objects[n-1] {
				keyNext[n-1] = !keyNext[n-1]
			}
		}
		if d, ok := tok.(json.Delim); ok {
			objects = append(objects, d == '{')
			keyNext = append(keyNext, true)
		}
	}
}

// checkStatuses refuses a service-status answer with more entries than units asked,
// or with an entry for a unit that was not asked for, or two for one unit: root
// builds tables and JSON from it, which must cost what was asked, not what an agent
// chose to send. An entry names its unit as asked (Name, as this project's agents
// and snapd's do) or by its unit id.
func checkStatuses(asked []string) func(any) error {
	return func(result any) error {
		statuses := result.([]wire.ServiceUnitStatus)
		if len(statuses) > len(asked) {
			return fmt.Errorf("%d status entries for %d units asked", len(statuses), len(asked))
		}
		names := make([]string, len(statuses))
		for i, st := range statuses {
			switch {
			case slices.Contains(asked, st.Name):
				names[i] = st.Name
			case slices.Contains(asked, st.ID):
				names[i] = st.ID
			default:
				return fmt.Errorf("status entry for %q, which was not asked for", st.Name)
			}
		}
		return checkOnce("status entries", names)
	}
}

// checkKilled refuses a service-control answer reporting killed (or not loaded) units
// that were not asked for, or one twice.
func checkKilled(asked []string) func(any) error {
	return func(result any) error {
		res := result.(wire.ServiceControlResult)
		for _, l := range []struct {
			what  string
			units []string
		}{{"killed", res.Killed}, {"not loaded", res.NotLoaded}} {
			for _, u := range l.units {
				if !slices.Contains(asked, u) {
					return fmt.Errorf("reports %q %s, which was not asked for", u, l.what)
				}
			}
			if err := checkOnce(l.what+" units", l.units); err != nil {
				return err
			}
		}
		return nil
	}
}

// checkScopes refuses an app-control answer with scopes of snaps that were not asked
// for.
func checkScopes(asked []string) func(any) error {
	return func(result any) error {
		for snap := range result.(wire.AppControlResult).Scopes {
			if !slices.Contains(asked, snap) {
				return fmt.Errorf("reports scopes of snap %q, which was not asked for", snap)
			}
		}
		return nil
	}
}

func checkOnce(what string, names []string) error {
	seen := make(map[string]bool, len(names))
	for _, n := range names {
		if seen[n] {
			return fmt.Errorf("%s name %q twice", what, n)
		}
		seen[n] = true
	}
	return nil
}
