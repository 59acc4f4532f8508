package main

import (
	"context"
	"os/exec"
	"testing"

	"github.com/snapcore-ng/usersession-agent/testkit/testenv"
)

// Only a uid written as the kernel and getent write it is taken for a uid; anything
// else, "01028" and "+1028" too, is a user name to look up (and here found by no one:
// this machine's user database has no such names).
func TestUsersTakesOnlyCanonicalUIDsAsNumbers(t *testing.T) {
	if _, err := exec.LookPath("getent"); err != nil {
		testenv.SkipOrFail(t, "getent is not installed")
	}
	names := newUserNames()
	for _, s := range []string{"0", "1028", "65534", "4294967294"} {
		if uid, err := names.uid(context.Background(), s); err != nil || uid < 0 {
			t.Errorf("%q: %d, %v; want a uid", s, uid, err)
		}
	}
	for _, s := range []string{"01028", "+1028", "00", "-1", "1028x", "4294967295", "4294967296"} {
		uid, err := names.uid(context.Background(), s)
		if want := `cannot find user "` + s + `"`; err == nil || err.Error() != want {
			t.Errorf("%q: %d, %v; want %q", s, uid, err, want)
		}
	}
}
