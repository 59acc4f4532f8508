package userd

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// desktopEntry is the [Desktop Entry] group of a desktop file: the keys userd reads,
// without their localised forms.
type desktopEntry map[string]string

// maxDesktopFile bounds what is read of a desktop file (snapd's are a few KiB).
const maxDesktopFile = 1 << 20

// parseDesktopEntry reads the [Desktop Entry] group of a desktop file (Desktop Entry
// Specification: "Basic format of the file"); other groups and localised keys are
// skipped.
func parseDesktopEntry(r io.Reader) (desktopEntry, error) {
	entry := make(desktopEntry)
	sc := bufio.NewScanner(io.LimitReader(r, maxDesktopFile))
	group := ""
	seen := false
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
			continue
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			group = line[1 : len(line)-1]
			seen = seen || group == "Desktop Entry"
			continue
		case group != "Desktop Entry":
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("line %d: not a key=value line", n)
		}
		key = strings.TrimSpace(key)
		if strings.Contains(key, "[") {
			continue
		}
		if _, dup := entry[key]; dup {
			return nil, fmt.Errorf("line %d: key %q given twice", n, key)
		}
		entry[key] = strings.TrimSpace(value)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if !seen {
		return nil, fmt.Errorf("no [Desktop Entry] group")
	}
	return entry, nil
}

// bool reads a boolean key; absent is false.
func (e desktopEntry) bool(key string) bool { return e[key] == "true" }

// execArgs splits the Exec key into arguments and drops its field codes (%f, %U, %i,
// ...), since userd passes no files, URLs or icons; "%%" is a literal "%". The
// quoting rules are the specification's ("The Exec key"): arguments are separated by
// spaces, double quotes group, and inside them a backslash escapes `"`, "`", "$" and
// "\"; the string escapes (\s, \n, \t, \r, \\) apply first.
func (e desktopEntry) execArgs() ([]string, error) {
	value, ok := e["Exec"]
	if !ok || value == "" {
		return nil, fmt.Errorf("no Exec key")
	}
	value = unescapeString(value)
	var args []string
	var cur strings.Builder
	// explicit marks an argument given in quotes, kept even when empty.
	explicit, quoted := false, false
	for i := 0; i < len(value); i++ {
		ch := value[i]
		switch {
		case quoted && ch == '\\' && i+1 < len(value) && strings.IndexByte("\"`$\\", value[i+1]) >= 0:
			i++
			cur.WriteByte(value[i])
		case ch == '"':
			quoted = !quoted
			explicit = true
		case !quoted && ch == ' ':
			if explicit || cur.Len() > 0 {
				args = append(args, cur.String())
			}
			cur.Reset()
			explicit = false
		case ch == '%' && i+1 < len(value):
			i++
			if value[i] == '%' {
				cur.WriteByte('%')
			}
		default:
			cur.WriteByte(ch)
		}
	}
	if quoted {
		return nil, fmt.Errorf("unterminated quote in Exec key")
	}
	if explicit || cur.Len() > 0 {
		args = append(args, cur.String())
	}
	if len(args) == 0 {
		return nil, fmt.Errorf("empty Exec key")
	}
	return args, nil
}

// unescapeString undoes the specification's escapes of string values.
func unescapeString(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	return strings.NewReplacer(`\s`, " ", `\n`, "\n", `\t`, "\t", `\r`, "\r", `\\`, `\`).Replace(s)
}
