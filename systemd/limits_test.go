package systemd_test

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/godbus/dbus/v5"

	"github.com/snapcore-ng/usersession-agent/internal/dbuspeer"
	"github.com/snapcore-ng/usersession-agent/systemd"
)

// limits are what root puts on a user's manager.
var limits = systemd.Limits{ReadBudget: 1 << 20, MaxMessageSize: 64 << 10}

// fakeManager serves a socket with m (its Props default to a loaded unit) and
// counts the connections made to it.
func fakeManager(t *testing.T, m *dbuspeer.Manager) (string, *atomic.Int64) {
	t.Helper()
	if m.Props == nil {
		m.Props = map[string]dbus.Variant{"LoadState": dbus.MakeVariant("loaded")}
	}
	path := filepath.Join(t.TempDir(), "private")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	var conns atomic.Int64
	go m.ServeAll(l, func() { conns.Add(1) })
	return path, &conns
}

// connect connects to path within limits, with no check of who serves it.
func connect(t *testing.T, path string) *systemd.Manager {
	t.Helper()
	dial := func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", path)
	}
	m, err := systemd.Connect(t.Context(), path, dial, limits)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

var loadState = systemd.UnitProp("LoadState")

// A signal over the message limit is skipped, unread by godbus, and the answers
// after it are read as usual; an answer over the limit fails the call, saying so.
func TestMessagesOverTheLimit(t *testing.T) {
	path, _ := fakeManager(t, &dbuspeer.Manager{
		Before: func(c *dbuspeer.Conn) error {
			return c.SendHuge(dbuspeer.Signal("/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager", "Reloading", ""), 100<<10)
		},
		Answer: func(c *dbuspeer.Conn, call *dbus.Message) (bool, error) {
			if name, _ := call.Body[len(call.Body)-1].(string); name == "Result" {
				return true, c.SendHuge(dbuspeer.ReplyTo(call, dbus.MakeVariant("")), 100<<10)
			}
			return false, nil
		},
	})
	m := connect(t, path)
	props, err := m.Properties(t.Context(), "a.socket", loadState)
	if err != nil || props["LoadState"] != "loaded" {
		t.Fatalf("after a 100 KiB signal: %v, %v; want LoadState loaded", props, err)
	}
	_, err = m.Properties(t.Context(), "a.socket", systemd.Prop{Iface: "Socket", Name: "Result"})
	var tl *systemd.MessageTooLargeError
	if !errors.As(err, &tl) || tl.Limit != limits.MaxMessageSize {
		t.Fatalf("a 100 KiB answer: %v, want a *MessageTooLargeError", err)
	}
	t.Log(err)
}

// A manager that sends more than the read budget (here a 128 MiB signal, godbus's
// largest) fails the call in progress with a *ReadBudgetError, and is not dialled
// again.
func TestReadBudget(t *testing.T) {
	var sent atomic.Bool
	path, conns := fakeManager(t, &dbuspeer.Manager{
		Answer: func(c *dbuspeer.Conn, call *dbus.Message) (bool, error) {
			if dbuspeer.Member(call) != "org.freedesktop.DBus.Properties.Get" || !sent.CompareAndSwap(false, true) {
				return false, nil
			}
			return true, c.SendHuge(dbuspeer.Signal("/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager", "Reloading", ""), 128<<20-1024)
		},
	})
	m := connect(t, path)
	var be *systemd.ReadBudgetError
	_, err := m.Properties(t.Context(), "a.socket", loadState)
	if !errors.As(err, &be) || be.Limit != limits.ReadBudget {
		t.Fatalf("after 128 MiB: %v, want a *ReadBudgetError", err)
	}
	t.Log(err)
	if _, err := m.Properties(t.Context(), "a.socket", loadState); !errors.As(err, &be) {
		t.Errorf("the next call: %v, want a *ReadBudgetError", err)
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections, want 1: a manager that sent too much is not dialled again", n)
	}
}
