package userd_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/snapcore-ng/usersession-agent/testkit/dbustest"
	"github.com/snapcore-ng/usersession-agent/testkit/testenv"
	"github.com/snapcore-ng/usersession-agent/userd"
)

// fakeSystemctl puts a systemctl on PATH that appends its arguments, one run a line,
// to the file it returns, and runs script after that.
func fakeSystemctl(t *testing.T, script string) string {
	t.Helper()
	dir := t.TempDir()
	log := filepath.Join(dir, "systemctl.log")
	body := "#!/bin/sh\necho \"$@\" >> " + log + "\n" + script + "\n"
	if err := os.WriteFile(filepath.Join(dir, "systemctl"), []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+":"+os.Getenv("PATH"))
	return log
}

func readLines(path string) []string {
	data, _ := os.ReadFile(path)
	return strings.Split(strings.TrimSpace(string(data)), "\n")
}

// --activate hands the activating bus and the display to the user manager, starts
// the service's unit, and returns once the service owns every one of its names on
// that bus, not before.
func TestActivateHandsTheBusOverAndWaitsForEveryName(t *testing.T) {
	bus := dbustest.Start(t)
	log := fakeSystemctl(t, "")
	t.Setenv("DBUS_STARTER_ADDRESS", bus.Address)
	t.Setenv("DISPLAY", ":42")
	done := make(chan error, 1)
	go func() { done <- userd.Activate(context.Background()) }()

	testenv.WaitFor(t, 10*time.Second, "the service's unit to be started", func() bool {
		return len(readLines(log)) == 2
	})
	calls := readLines(log)
	if env := calls[0]; !strings.HasPrefix(env, "--user set-environment DBUS_SESSION_BUS_ADDRESS="+bus.Address+" ") || !strings.Contains(env, " DISPLAY=:42") {
		t.Errorf("environment handed over: %q", env)
	}
	if calls[1] != "--user start --no-block snapd.userd.service" {
		t.Errorf("start: %q", calls[1])
	}
	service := bus.Connect(t)
	names := userd.BusNames()
	for _, name := range names[:len(names)-1] {
		dbustest.RequestName(t, service, name)
	}
	select {
	case err := <-done:
		t.Fatalf("Activate returned (%v) before %s had an owner", err, names[len(names)-1])
	case <-time.After(300 * time.Millisecond):
	}
	dbustest.RequestName(t, service, names[len(names)-1])
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Activate: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Activate did not return once every name had an owner")
	}
}

// Without a user manager nothing is started: the caller learns it, and the bus to
// serve on instead.
func TestActivateWithoutAUserManager(t *testing.T) {
	log := fakeSystemctl(t, `echo "Failed to connect to bus: No medium found" >&2; exit 1`)
	t.Setenv("DBUS_STARTER_ADDRESS", "unix:path=/nonexistent/bus")
	err := userd.Activate(context.Background())
	var noManager *userd.NoUserManagerError
	if !errors.As(err, &noManager) || noManager.BusAddress != "unix:path=/nonexistent/bus" || !strings.Contains(err.Error(), "No medium found") {
		t.Fatalf("Activate: %v, want a *NoUserManagerError naming the bus and the cause", err)
	}
	if calls := readLines(log); len(calls) != 1 || !strings.HasPrefix(calls[0], "--user set-environment ") {
		t.Errorf("systemctl ran as %q, want only set-environment", calls)
	}
}
