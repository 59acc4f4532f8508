package sessionbus_test

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/snapcore-ng/usersession-agent/internal/sessionbus"
	"github.com/snapcore-ng/usersession-agent/testkit/dbustest"
	"github.com/snapcore-ng/usersession-agent/testkit/testenv"
)

const testName = "io.snapcraft.SessionBusTest"

type pinger struct{}

func (pinger) Ping() (string, *dbus.Error) { return "pong", nil }

func call(t *testing.T, conn *dbus.Conn, dest, method string, args ...any) *dbus.Call {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	return conn.Object(dest, "/org/freedesktop/DBus").CallWithContext(ctx, method, 0, args...)
}

func nameOwned(t *testing.T, conn *dbus.Conn) bool {
	t.Helper()
	var owned bool
	if err := call(t, conn, "org.freedesktop.DBus", "org.freedesktop.DBus.NameHasOwner", testName).Store(&owned); err != nil {
		t.Fatal(err)
	}
	return owned
}

// The objects are exported before the name is requested, so a caller that waits for
// the name finds them; the name is owned until Close, and a second owner is refused.
func TestConnectExportsThenOwnsTheName(t *testing.T) {
	t.Parallel()
	addr := dbustest.Start(t).Address
	watcher, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer watcher.Close()

	var ownedAtExport *bool
	bus, err := sessionbus.Connect(t.Context(), sessionbus.Config{
		Address: addr,
		Name:    testName,
		Export: []sessionbus.Exporter{func(conn *dbus.Conn) error {
			owned := nameOwned(t, watcher)
			ownedAtExport = &owned
			return conn.Export(pinger{}, "/test", "io.snapcraft.Test")
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if ownedAtExport == nil || *ownedAtExport {
		t.Fatalf("exporter ran: %v, name owned when it ran: %v", ownedAtExport != nil, ownedAtExport)
	}
	var pong string
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := watcher.Object(testName, "/test").CallWithContext(ctx, "io.snapcraft.Test.Ping", 0).Store(&pong); err != nil || pong != "pong" {
		t.Fatalf("calling the exported object by the name: %q, %v", pong, err)
	}

	_, err = sessionbus.Connect(t.Context(), sessionbus.Config{Address: addr, Name: testName})
	var taken *sessionbus.NameTakenError
	if !errors.As(err, &taken) || taken.Name != testName {
		t.Fatalf("second owner: got %v, want a NameTakenError", err)
	}

	if err := bus.Close(); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 10*time.Second, "the name to be released", func() bool { return !nameOwned(t, watcher) })
}

func TestConnectFailsOnAFailingExport(t *testing.T) {
	t.Parallel()
	addr := dbustest.Start(t).Address
	boom := errors.New("boom")
	_, err := sessionbus.Connect(t.Context(), sessionbus.Config{
		Address: addr,
		Name:    testName + "2",
		Export:  []sessionbus.Exporter{func(*dbus.Conn) error { return boom }},
	})
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want the exporter's error", err)
	}
}

// A bus that accepts the connection but never answers the handshake does not hold
// Connect past its timeout.
func TestConnectIsBoundedByItsTimeout(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "silent")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	_, err = sessionbus.Connect(t.Context(), sessionbus.Config{Address: "unix:path=" + path, Name: testName, Timeout: 200 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "no answer within 200ms") {
		t.Fatalf("got %v, want a timeout", err)
	}
}

// RequestName is owning: again on the same connection is no error, from another one
// a NameTakenError until the first releases the name.
func TestRequestAndReleaseName(t *testing.T) {
	t.Parallel()
	b := dbustest.Start(t)
	first, second := b.Connect(t), b.Connect(t)
	const name = testName + "3"
	if err := sessionbus.RequestName(t.Context(), first, name); err != nil {
		t.Fatal(err)
	}
	if err := sessionbus.RequestName(t.Context(), first, name); err != nil {
		t.Errorf("asked again by its owner: %v", err)
	}
	var taken *sessionbus.NameTakenError
	if err := sessionbus.RequestName(t.Context(), second, name); !errors.As(err, &taken) || taken.Name != name {
		t.Errorf("asked by another connection: %v, want a NameTakenError", err)
	}
	if err := sessionbus.ReleaseName(t.Context(), first, name); err != nil {
		t.Fatal(err)
	}
	if err := sessionbus.RequestName(t.Context(), second, name); err != nil {
		t.Errorf("asked by another connection once released: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := sessionbus.RequestName(ctx, first, name+"x"); err == nil || errors.As(err, &taken) {
		t.Errorf("asked with an ended context: %v, want the call's error", err)
	}
}
