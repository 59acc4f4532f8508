// Package testenv decides what a test does when the machine lacks something it needs:
// outside CI it is skipped with the reason; with CI=true it fails, so that CI never
// counts a skip as a pass.
package testenv

import (
	"os"
	"testing"
)

// SkipOrFail skips t with why, or fails it when CI=true.
func SkipOrFail(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s, and CI=true forbids skipping", why)
	}
	t.Skip(why)
}
