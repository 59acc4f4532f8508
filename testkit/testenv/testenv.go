// Package testenv holds what tests of every package share: what a test does when the
// machine lacks something it needs (outside CI it is skipped with the reason; with
// CI=true it fails, so that CI never counts a skip as a pass), root checks, waiting
// for a condition and process checks. A private dbus-daemon comes from package
// dbustest, real user sessions from package usersessiontest.
package testenv

import (
	"os"
	"testing"
	"time"
)

// SkipOrFail skips t with why, or fails it when CI=true.
func SkipOrFail(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s, and CI=true forbids skipping", why)
	}
	t.Skip(why)
}

// RequireRoot skips t (outside CI) or fails it (CI=true) unless it runs as root; why
// says what needs root.
func RequireRoot(t testing.TB, why string) {
	t.Helper()
	if os.Geteuid() != 0 {
		SkipOrFail(t, why+" needs root")
	}
}

// WaitFor polls cond until it holds, failing t after within; what names the condition.
func WaitFor(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
