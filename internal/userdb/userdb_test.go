package userdb_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/snapcore-ng/usersession-agent/internal/userdb"
	"github.com/snapcore-ng/usersession-agent/testkit/testenv"
)

// fakeGetent writes a getent stand-in running script (sh) and returns its path.
func fakeGetent(t *testing.T, script string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "getent")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+script+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLookupUIDsBatchesAndLeavesOutUIDsWithoutEntry(t *testing.T) {
	args := filepath.Join(t.TempDir(), "args")
	// Like getent: found keys printed, status 2 because one was not.
	db := userdb.DB{Getent: fakeGetent(t, `echo "$@" >`+args+`
echo 'alice:x:1001:1001:Alice:/home/alice:/bin/bash'
echo 'svc:x:61184:61184:Dynamic User:/:/usr/sbin/nologin'
exit 2`)}
	got, err := db.LookupUIDs(context.Background(), []int{1001, 61184, 4242})
	if err != nil {
		t.Fatal(err)
	}
	want := map[int]userdb.User{1001: {Name: "alice", UID: 1001}, 61184: {Name: "svc", UID: 61184}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	// One run for all of them, keys after "--" so none can be taken for an option.
	if b, _ := os.ReadFile(args); string(b) != "passwd -- 1001 61184 4242\n" {
		t.Errorf("getent ran with %q", b)
	}
}

func TestLookupNameKnowsUnknownUsersFromBrokenDatabases(t *testing.T) {
	db := userdb.DB{Getent: fakeGetent(t, `exit 2`)}
	_, err := db.LookupName(context.Background(), "nobody-here")
	var unknown *userdb.UnknownUserError
	if !errors.As(err, &unknown) || unknown.Name != "nobody-here" {
		t.Errorf("not found: %v", err)
	}
	// Names that would forge getent's output are never passed to it.
	for _, name := range []string{"", "a:b", "a\nroot:x:0:0::/:/bin/sh"} {
		if _, err := db.LookupName(context.Background(), name); !errors.As(err, &unknown) {
			t.Errorf("%q: %v", name, err)
		}
	}

	db = userdb.DB{Getent: fakeGetent(t, `echo 'getent: unknown database' >&2; exit 1`)}
	_, err = db.LookupName(context.Background(), "alice")
	if err == nil || errors.As(err, &unknown) || !strings.Contains(err.Error(), "unknown database") {
		t.Errorf("a failing getent: %v", err)
	}
	db = userdb.DB{Getent: fakeGetent(t, `echo 'alice:x:notanumber:1:::'`)}
	if _, err := db.LookupName(context.Background(), "alice"); err == nil || !strings.Contains(err.Error(), "cannot parse") {
		t.Errorf("a bad entry: %v", err)
	}
}

func TestAHungDatabaseIsCutOffAtTheDeadline(t *testing.T) {
	// A stuck NSS module (an LDAP server that does not answer) behaves like this.
	db := userdb.DB{Getent: fakeGetent(t, `exec sleep 60`), Timeout: 200 * time.Millisecond}
	done := make(chan error, 1)
	go func() {
		_, err := db.LookupUIDs(context.Background(), []int{1001})
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "did not answer within 200ms") {
			t.Errorf("got %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the lookup outlived its deadline")
	}
}

func TestRealGetentFindsRoot(t *testing.T) {
	if _, err := exec.LookPath("getent"); err != nil {
		testenv.SkipOrFail(t, "getent is not installed")
	}
	var db userdb.DB
	u, err := db.LookupName(context.Background(), "root")
	if err != nil || u != (userdb.User{Name: "root", UID: 0}) {
		t.Errorf("root: %+v, %v", u, err)
	}
	got, err := db.LookupUIDs(context.Background(), []int{0})
	if err != nil || got[0].Name != "root" {
		t.Errorf("uid 0: %v, %v", got, err)
	}
}

// getent reads "01028", "+1028" and " 1028" as uid 1028 (glibc's getent uses strtoul):
// a user of such a name is found by name, among every entry getent lists.
func TestNamesThatReadAsNumbersAreLookedUpAsNames(t *testing.T) {
	// Like glibc's getent: no key lists every entry, a numeric key is a uid.
	db := userdb.DB{Getent: fakeGetent(t, `if [ $# = 1 ]; then
	echo '+::::::'
	echo 'u1028:x:1028:1028::/home/u1028:/bin/sh'
	echo '01028:x:4290:4290::/home/01028:/bin/sh'
	echo '01028:x:4291:4291::/home/01028b:/bin/sh'
	exit 0
fi
echo 'u1028:x:1028:1028::/home/u1028:/bin/sh'`)}
	for _, tc := range []struct {
		name string
		want userdb.User
	}{
		{"01028", userdb.User{Name: "01028", UID: 4290}},
		{"+1028", userdb.User{}},
		{" 1028", userdb.User{}},
		{"1028", userdb.User{}},
		{"-1", userdb.User{}},
	} {
		u, err := db.LookupName(context.Background(), tc.name)
		var unknown *userdb.UnknownUserError
		switch {
		case tc.want.Name != "" && (err != nil || u != tc.want):
			t.Errorf("%q: %+v, %v; want %+v", tc.name, u, err, tc.want)
		case tc.want.Name == "" && !errors.As(err, &unknown):
			t.Errorf("%q: %+v, %v; want no such user", tc.name, u, err)
		}
	}
	// Other names are still asked for as keys.
	if u, err := db.LookupName(context.Background(), "u1028"); err != nil || u.UID != 1028 {
		t.Errorf("u1028: %+v, %v", u, err)
	}
}
