// Package snapname is snapd's naming rules for snaps, once for the whole project: snap
// names, instance keys and instance names (NAME or NAME_KEY), app and hook names, and
// the security tags (snap.INSTANCE.APP, snap.INSTANCE.hook.HOOK) that AppArmor labels
// and systemd units of snap apps carry.
//
// The rules are snapd's snap/naming (validate.go and tag.go), whose comments name the
// other copies that must follow them (snap-confine's and snap-update-ns's C
// validators); this package is this project's one copy. It checks with loops, not
// regular expressions: a compiled regexp costs every start of the session agent, which
// runs from the same binary, heap it would never use.
package snapname

import (
	"errors"
	"fmt"
	"strings"
)

// Bounds of snapd's rules, in bytes.
const (
	MinSnapLen = 2
	MaxSnapLen = 40
	MaxKeyLen  = 10
)

// ValidateSnap checks a snap name (snapd's ValidateSnap): 2 to 40 characters, each a
// lower-case letter, a digit or a dash, at least one of them a letter, and no dash at
// either end or next to another.
func ValidateSnap(name string) error {
	if len(name) < MinSnapLen || len(name) > MaxSnapLen {
		return fmt.Errorf("invalid snap name %q: must be %d to %d characters", name, MinSnapLen, MaxSnapLen)
	}
	letter := false
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case isLower(c):
			letter = true
		case isDigit(c):
		case c == '-':
			if i == 0 || i == len(name)-1 || name[i-1] == '-' {
				return fmt.Errorf("invalid snap name %q: dashes may not lead, trail or follow each other", name)
			}
		default:
			return fmt.Errorf("invalid snap name %q: only lowercase letters, digits and dashes are allowed", name)
		}
	}
	if !letter {
		return fmt.Errorf("invalid snap name %q: must contain a letter", name)
	}
	return nil
}

// ValidateInstanceKey checks the key of a parallel install (snapd's validInstanceKey):
// 1 to 10 lower-case letters and digits.
func ValidateInstanceKey(key string) error {
	if key == "" || len(key) > MaxKeyLen {
		return fmt.Errorf("invalid instance key %q: must be 1 to %d characters", key, MaxKeyLen)
	}
	for i := 0; i < len(key); i++ {
		if c := key[i]; !isLower(c) && !isDigit(c) {
			return fmt.Errorf("invalid instance key %q: only lowercase letters and digits are allowed", key)
		}
	}
	return nil
}

// ValidateInstance checks a snap instance name (snapd's ValidateInstance): a snap
// name, optionally followed by '_' and an instance key. The name is cut at its first
// '_', so "foo_a_b" has the key "a_b", which is refused.
func ValidateInstance(name string) error {
	snap, key, hasKey := strings.Cut(name, "_")
	if err := ValidateSnap(snap); err != nil {
		return err
	}
	if hasKey {
		return ValidateInstanceKey(key)
	}
	return nil
}

// Split cuts an instance name into its snap name and instance key (empty for none).
// It does not validate.
func Split(instance string) (snap, key string) {
	snap, key, _ = strings.Cut(instance, "_")
	return snap, key
}

// DesktopPrefix is how the names of the desktop files snapd installs for an instance
// begin, before the "_" that separates the app's part (snapd's
// snap.Info.DesktopPrefix): NAME, or NAME+KEY for an instance with a key, as "_"
// already has that other use.
func DesktopPrefix(instance string) string {
	if snap, key := Split(instance); key != "" {
		return snap + "+" + key
	}
	return instance
}

// ValidateApp checks an app name (snapd's ValidApp): letters of either case and
// digits, with single dashes between them; no length bound.
func ValidateApp(name string) error {
	if !dashed(name, isAlnum, isAlnum) {
		return fmt.Errorf("invalid app name %q", name)
	}
	return nil
}

// ValidateHook checks a hook name (snapd's validHook): a lower-case letter, then
// lower-case letters and digits, with single dashes between them.
func ValidateHook(name string) error {
	if !dashed(name, isLower, func(c byte) bool { return isLower(c) || isDigit(c) }) {
		return fmt.Errorf("invalid hook name %q", name)
	}
	return nil
}

// dashed says whether s is a character first allows, then characters rest allows,
// with single dashes between them and none at the end.
func dashed(s string, first, rest func(byte) bool) bool {
	if s == "" || !first(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '-':
			if s[i-1] == '-' || i == len(s)-1 {
				return false
			}
		case !rest(c):
			return false
		}
	}
	return true
}

func isLower(c byte) bool { return 'a' <= c && c <= 'z' }
func isDigit(c byte) bool { return '0' <= c && c <= '9' }
func isAlnum(c byte) bool { return isLower(c) || isDigit(c) || 'A' <= c && c <= 'Z' }

// ErrInvalidTag is a string that is not a snap security tag.
var ErrInvalidTag = errors.New("invalid security tag")

// Tag is a parsed security tag: an app's (App set) or a hook's (Hook set, and
// Component for a hook of one of the snap's components).
type Tag struct {
	Instance  string
	App       string
	Hook      string
	Component string
}

// String is the tag as snapd writes it.
func (t Tag) String() string {
	switch {
	case t.Hook != "" && t.Component != "":
		return "snap." + t.Instance + "+" + t.Component + ".hook." + t.Hook
	case t.Hook != "":
		return "snap." + t.Instance + ".hook." + t.Hook
	}
	return "snap." + t.Instance + "." + t.App
}

// ParseTag parses a security tag as snapd's ParseSecurityTag does:
// "snap.INSTANCE.APP", "snap.INSTANCE.hook.HOOK" or, for a component's hook,
// "snap.INSTANCE+COMPONENT.hook.HOOK" (the component named like a snap), each part
// valid. Anything else is ErrInvalidTag.
func ParseTag(tag string) (Tag, error) {
	parts := strings.SplitN(tag, ".", 5)
	if (len(parts) != 3 && len(parts) != 4) || parts[0] != "snap" {
		return Tag{}, ErrInvalidTag
	}
	instance, component, isComponent := strings.Cut(parts[1], "+")
	if ValidateInstance(instance) != nil || isComponent && ValidateSnap(component) != nil {
		return Tag{}, ErrInvalidTag
	}
	if len(parts) == 3 {
		// Components have hooks, no apps.
		if isComponent || ValidateApp(parts[2]) != nil {
			return Tag{}, ErrInvalidTag
		}
		return Tag{Instance: instance, App: parts[2]}, nil
	}
	if parts[2] != "hook" || ValidateHook(parts[3]) != nil {
		return Tag{}, ErrInvalidTag
	}
	return Tag{Instance: instance, Hook: parts[3], Component: component}, nil
}

// TagOfLabel is the tag of an AppArmor label of a snap's process ("snap.foo.app" or
// "snap.foo.app (enforce)", as the kernel and the bus daemon give it, possibly with a
// trailing NUL or newline), and false for any other label.
func TagOfLabel(label string) (Tag, bool) {
	label = strings.TrimRight(label, "\x00\n")
	label, _, _ = strings.Cut(label, " ")
	t, err := ParseTag(label)
	return t, err == nil
}

// TagOfUnit is the tag of the systemd unit a snap's process runs in, found as snapd's
// sandbox/cgroup does from a cgroup's name, and false when unit is no snap's:
//
//   - snap.INSTANCE.APP.service: a service;
//   - snap.INSTANCE.APP-UUID.scope: the transient scope `snap run` makes for an app
//     (snap.INSTANCE.APP.UUID.scope in older snapd);
//   - snap.INSTANCE.hook.HOOK-UUID.scope, and snap.INSTANCE\x2bCOMPONENT.hook.HOOK-UUID.scope
//     for a component's hook (systemd escapes the '+').
//
// The UUID is dropped from the name it ends; as in snapd, a hook's name that does not
// parse leaves the name read as an app's ("hook"), parts past the tag's are ignored,
// and any other unit type is no snap's.
func TagOfUnit(unit string) (Tag, bool) {
	name, ok := strings.CutSuffix(unit, ".service")
	if !ok {
		if name, ok = strings.CutSuffix(unit, ".scope"); !ok {
			return Tag{}, false
		}
	}
	parts := strings.Split(strings.ReplaceAll(name, `\x2b`, "+"), ".")
	if len(parts) < 3 || parts[0] != "snap" {
		return Tag{}, false
	}
	if len(parts) >= 4 && parts[2] == "hook" {
		if t, err := ParseTag("snap." + parts[1] + ".hook." + withoutUUID(parts[3])); err == nil {
			return t, true
		}
	}
	t, err := ParseTag("snap." + parts[1] + "." + withoutUUID(parts[2]))
	return t, err == nil
}

// withoutUUID drops a trailing "-UUID" (8-4-4-4-12 hexadecimal digits) from s.
func withoutUUID(s string) string {
	const uuidLen = 36
	if len(s) <= uuidLen || s[len(s)-uuidLen-1] != '-' {
		return s
	}
	for i, c := range []byte(s[len(s)-uuidLen:]) {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return s
			}
		default:
			if !isDigit(c) && !('a' <= c && c <= 'f') && !('A' <= c && c <= 'F') {
				return s
			}
		}
	}
	return s[:len(s)-uuidLen-1]
}
