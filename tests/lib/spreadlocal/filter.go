package main

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Filter selects jobs by name as spread's command-line arguments do (spread's
// NewFilter in spread/project.go). Each argument is a regular expression over the
// job name BACKEND:SYSTEM:TASK[:VARIANT][#SAMPLE] with these rewrites:
//
//   - "." is a literal dot and "..." any run of characters without a colon; other
//     runs of dots are refused;
//   - ":" stands for one or more name components in between (a:b matches a, then b
//     in a later component); "::" is refused;
//   - an argument starting with ":" or "/" matches the end of a component, one ending
//     with ":" or "/" its start;
//   - the match starts at the start of a component and ends at its end;
//   - a "#N" or "#N..M" suffix selects samples (here always sample 1: spreadlocal
//     refuses `samples`).
//
// Any other character keeps its regular-expression meaning, as in spread. A job passes
// when any argument matches.
type Filter struct {
	exps []filterExp
}

type filterExp struct {
	re          *regexp.Regexp
	first, last int
}

var filterSample = regexp.MustCompile(`^(.*)#(\d+)(?:\.\.(\d+))?$`)

// NewFilter compiles command-line arguments; no arguments give a nil Filter, which
// passes every job.
func NewFilter(args []string) (*Filter, error) {
	if len(args) == 0 {
		return nil, nil
	}
	f := &Filter{}
	for _, arg := range args {
		exp := filterExp{}
		pattern := arg
		if m := filterSample.FindStringSubmatch(arg); m != nil {
			pattern = m[1]
			exp.first, _ = strconv.Atoi(m[2])
			exp.last = exp.first
			if m[3] != "" {
				exp.last, _ = strconv.Atoi(m[3])
			}
			if exp.first < 1 || exp.last < exp.first {
				return nil, fmt.Errorf("invalid sample range in filter string: %q", arg)
			}
		}
		re, err := filterRegexp(pattern)
		if err != nil {
			return nil, err
		}
		if exp.re, err = regexp.Compile(re); err != nil {
			return nil, fmt.Errorf("invalid filter string: %q", arg)
		}
		f.exps = append(f.exps, exp)
	}
	return f, nil
}

// filterRegexp rewrites one argument (its sample suffix removed) into the regular
// expression spread matches job names with.
func filterRegexp(arg string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(arg); {
		c := arg[i]
		if c != '.' && c != ':' && c != '#' {
			b.WriteByte(c)
			i++
			continue
		}
		n := 1
		for i+n < len(arg) && arg[i+n] == c && c != '#' {
			n++
		}
		switch run := arg[i : i+n]; run {
		case ".":
			b.WriteString(`\.`)
		case "...":
			b.WriteString(`[^:]*`)
		case ":":
			b.WriteString(`(:.+)*:(.+:)*`)
		default:
			return "", fmt.Errorf("invalid filter string: %q", run)
		}
		i += n
	}
	re := b.String()
	if strings.HasPrefix(arg, ":") || strings.HasPrefix(arg, "/") {
		re = ".+" + re
	}
	if strings.HasSuffix(arg, ":") || strings.HasSuffix(arg, "/") {
		re += ".+"
	}
	return `(?:^|:)` + re + `(?:$|[:#])`, nil
}

// Pass reports whether the job of this name and sample passes the filter.
func (f *Filter) Pass(name string, sample int) bool {
	if f == nil {
		return true
	}
	for _, exp := range f.exps {
		if exp.first > 0 && (sample < exp.first || sample > exp.last) {
			continue
		}
		if exp.re.MatchString(name) {
			return true
		}
	}
	return false
}
