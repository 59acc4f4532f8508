package systemd

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// unitNameMax is systemd's UNIT_NAME_MAX less the terminating NUL.
const unitNameMax = 255

// unitTypes are the unit type suffixes systemd knows (without the dot).
var unitTypes = map[string]bool{
	"service": true, "socket": true, "target": true, "device": true, "mount": true,
	"automount": true, "swap": true, "timer": true, "path": true, "slice": true,
	"scope": true,
}

// NameKind says what a valid unit name names.
type NameKind int

const (
	// PlainName is an ordinary unit ("foo.service").
	PlainName NameKind = iota
	// TemplateName is a template ("foo@.service"): it has unit files but cannot run.
	TemplateName
	// InstanceName is an instance of a template ("foo@bar.service").
	InstanceName
)

// ValidateUnitName checks name against systemd's unit name rules (unit_name_is_valid):
// at most 255 characters, a known unit type suffix, a non-empty prefix made of
// [A-Za-z0-9:_.\-\\] and, for templates and instances, one '@' that does not start the
// name (the instance may contain further '@'). It is stricter than systemd in one
// respect: a name may not start with '-' (systemd allows "-.mount", the root mount),
// because such a name reads as an option to every tool it is passed to. Names that
// contain '/' or the glob characters "*?[" are refused with a message saying so.
func ValidateUnitName(name string) error {
	_, err := ParseUnitName(name)
	return err
}

// ParseUnitName validates name as ValidateUnitName does and says what it names.
func ParseUnitName(name string) (NameKind, error) {
	switch {
	case name == "":
		return 0, fmt.Errorf("invalid unit name: empty")
	case len(name) > unitNameMax:
		return 0, fmt.Errorf("invalid unit name %q: %d characters long, at most %d are allowed", abbrev(name), len(name), unitNameMax)
	case strings.HasPrefix(name, "-"):
		return 0, fmt.Errorf("invalid unit name %q: starts with '-'", name)
	case strings.Contains(name, "/"):
		return 0, fmt.Errorf("invalid unit name %q: contains '/'", name)
	}
	if i := strings.IndexAny(name, "*?["); i >= 0 {
		return 0, fmt.Errorf("invalid unit name %q: contains the glob character %q", name, name[i])
	}
	dot := strings.LastIndexByte(name, '.')
	if dot < 0 {
		return 0, fmt.Errorf("invalid unit name %q: no unit type suffix (such as .service)", name)
	}
	suffix := name[dot+1:]
	if !unitTypes[suffix] {
		return 0, fmt.Errorf("invalid unit name %q: unknown unit type %q", name, suffix)
	}
	prefix := name[:dot]
	if prefix == "" {
		return 0, fmt.Errorf("invalid unit name %q: nothing before the unit type suffix", name)
	}
	at := -1
	for i, r := range prefix {
		if r == '@' {
			if at < 0 {
				at = i
			}
			continue
		}
		if r >= utf8.RuneSelf || !validUnitChar(byte(r)) {
			return 0, fmt.Errorf("invalid unit name %q: invalid character %q", name, r)
		}
	}
	switch {
	case at == 0:
		return 0, fmt.Errorf("invalid unit name %q: starts with '@' (no template name)", name)
	case at < 0:
		return PlainName, nil
	case at == len(prefix)-1:
		return TemplateName, nil
	default:
		return InstanceName, nil
	}
}

// validUnitChar reports whether c is in systemd's VALID_CHARS (letters, digits and
// ":-_.\").
func validUnitChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte(":-_.\\", c) >= 0
}

// UnitType returns the type suffix of a valid unit name ("service" for "a.service").
func UnitType(name string) string {
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		return name[i+1:]
	}
	return ""
}

func abbrev(s string) string {
	if len(s) <= 40 {
		return s
	}
	return s[:37] + "..."
}
