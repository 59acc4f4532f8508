package userd

import (
	"regexp"
	"sync"
)

// lazyRegexp returns a function that compiles expr on its first call. The session
// agent runs from the same binary and never uses this package's expressions: compiled
// at package init, they cost every agent start about 1 ms and 55 KB of heap (measured
// with GODEBUG=inittrace=1).
func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}
