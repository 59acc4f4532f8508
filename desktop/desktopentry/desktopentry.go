// Package desktopentry reads desktop entry files (Desktop Entry Specification 1.5):
// what a notification needs (the application's name, in the user's language, and its
// icon), and the keys and command line of an entry that `snap userd` launches.
package desktopentry

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Entry is the part of a desktop entry's [Desktop Entry] group that names and draws
// the application.
type Entry struct {
	// Name is the localised Name, or the plain one.
	Name string
	// Icon is a themed icon name or an absolute path; empty when unset.
	Icon string
}

// maxSize bounds the file read: entries are a few KiB, and the directory is written
// by snapd from what snaps ship.
const maxSize = 256 << 10

// ValidName says whether name may name a desktop entry in a directory (the file name
// without ".desktop"): 1 to 255 ASCII letters, digits, '_', '.', '+' or '-', starting
// with a letter or digit, without "..". snapd names them SNAP[+KEY]_APP; a path or a
// dot-file must never get through.
func ValidName(name string) bool {
	if name == "" || len(name) > 255 || strings.Contains(name, "..") {
		return false
	}
	for i, c := range []byte(name) {
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || !strings.ContainsRune("_.+-", rune(c))) {
			return false
		}
	}
	return true
}

// Read reads entry name (without ".desktop") from dir, with Name in locale (a POSIX
// locale such as "de_DE.UTF-8@euro"; empty for none). A name that is not ValidName is
// an error; a missing file is an error that matches fs.ErrNotExist.
func Read(dir, name, locale string) (*Entry, error) {
	if !ValidName(name) {
		return nil, fmt.Errorf("cannot read desktop entry %q: not a valid name", name)
	}
	f, err := os.Open(filepath.Join(dir, name+".desktop"))
	if err != nil {
		return nil, fmt.Errorf("cannot read desktop entry: %w", err)
	}
	defer f.Close()
	keys, err := Keys(f)
	if err != nil {
		return nil, fmt.Errorf("cannot read desktop entry %q: %w", name, err)
	}
	e := &Entry{Icon: keys["Icon"], Name: keys["Name"]}
	for _, suffix := range localeSuffixes(locale) {
		if v, ok := keys["Name["+suffix+"]"]; ok && v != "" {
			e.Name = v
			break
		}
	}
	return e, nil
}

// Keys reads the [Desktop Entry] group of the entry r reads: its keys (localised
// ones as "Key[locale]"), values unescaped. A file larger than 256 KiB, without the
// group or with more than one is an error; of a key given twice in the group, the
// last counts. Both as snapd's parser (desktop/desktopentry) has them: the
// specification forbids either, and a file that launches one program for snapd must
// launch the same one here.
func Keys(r io.Reader) (map[string]string, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxSize {
		return nil, fmt.Errorf("larger than %d bytes", maxSize)
	}
	keys, err := parseGroup(data, "Desktop Entry")
	if err != nil {
		return nil, err
	}
	if keys == nil {
		return nil, errors.New("no [Desktop Entry] group")
	}
	return keys, nil
}

// parseGroup returns the keys of group, values unescaped, the last of a repeated key
// kept; nil when the group is missing, an error when it is there twice.
func parseGroup(data []byte, group string) (map[string]string, error) {
	var keys map[string]string
	in := false
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), maxSize)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
			continue
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			in = line[1:len(line)-1] == group
			if in && keys != nil {
				return nil, fmt.Errorf("more than one [%s] group", group)
			}
			if in {
				keys = make(map[string]string)
			}
			continue
		}
		if !in {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		keys[strings.TrimSpace(k)] = unescape(strings.TrimSpace(v))
	}
	return keys, nil
}

// unescape undoes the escapes of string values: \s, \n, \t, \r and \\.
var unescape = strings.NewReplacer(`\s`, " ", `\n`, "\n", `\t`, "\t", `\r`, "\r", `\\`, `\`).Replace

// localeSuffixes lists the Name[...] suffixes to try for a POSIX locale, most specific
// first, as the specification orders them: lang_COUNTRY@MODIFIER, lang_COUNTRY,
// lang@MODIFIER, lang. The encoding part is ignored; "C" and "POSIX" have none.
func localeSuffixes(locale string) []string {
	if locale == "" || locale == "C" || locale == "POSIX" || strings.HasPrefix(locale, "C.") {
		return nil
	}
	rest, modifier, _ := strings.Cut(locale, "@")
	rest, _, _ = strings.Cut(rest, ".")
	lang, country, _ := strings.Cut(rest, "_")
	var out []string
	add := func(s string, ok bool) {
		if ok {
			out = append(out, s)
		}
	}
	add(lang+"_"+country+"@"+modifier, country != "" && modifier != "")
	add(lang+"_"+country, country != "")
	add(lang+"@"+modifier, modifier != "")
	add(lang, lang != "")
	return out
}

// Locale is the user's locale for messages, from LC_ALL, LC_MESSAGES or LANG (the
// first set), as getenv returns them.
func Locale(getenv func(string) string) string {
	for _, k := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if v := getenv(k); v != "" {
			return v
		}
	}
	return ""
}
