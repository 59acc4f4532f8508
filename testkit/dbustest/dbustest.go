// Package dbustest runs a private dbus-daemon for a test, with an optional directory of
// D-Bus-activatable services, so that code speaking D-Bus is tested against the real
// bus rather than a mock.
package dbustest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/snapcore-ng/usersession-agent/internal/sessionbus"
	"github.com/snapcore-ng/usersession-agent/testkit/testenv"
)

// Bus is a running private session bus.
type Bus struct {
	// Address is the bus's D-Bus address.
	Address string
	// Socket is the path of its unix socket.
	Socket string
	// ServiceDir is where activatable services are read from (AddService).
	ServiceDir string
}

// Start runs a dbus-daemon with a session bus policy until the test ends. The daemon
// and whatever it activated run in their own process group, killed at the end.
func Start(t testing.TB) *Bus {
	t.Helper()
	daemon, err := exec.LookPath("dbus-daemon")
	if err != nil {
		testenv.SkipOrFail(t, "dbus-daemon is not installed (package dbus-daemon)")
	}
	dir := t.TempDir()
	b := &Bus{Socket: filepath.Join(dir, "bus"), ServiceDir: filepath.Join(dir, "services")}
	b.Address = "unix:path=" + b.Socket
	if err := os.Mkdir(b.ServiceDir, 0o755); err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(dir, "bus.conf")
	// The activation timeout is dbus-daemon's default, written out because tests
	// show that callers do not wait for it.
	if err := os.WriteFile(config, []byte(fmt.Sprintf(`<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=%s</listen>
  <servicedir>%s</servicedir>
  <auth>EXTERNAL</auth>
  <limit name="service_start_timeout">120000</limit>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`, b.Socket, b.ServiceDir)), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(daemon, "--nofork", "--nopidfile", "--print-address=3", "--config-file="+config)
	testenv.StartAnnouncing(t, cmd, "dbus-daemon")
	return b
}

// AddService makes name activatable: starting it runs the command line execLine.
// dbus-daemon reads the directory again when asked to, which this does.
func (b *Bus) AddService(t testing.TB, name, execLine string) {
	t.Helper()
	content := "[D-BUS Service]\nName=" + name + "\nExec=" + execLine + "\n"
	if err := os.WriteFile(filepath.Join(b.ServiceDir, name+".service"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	conn := b.Connect(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.ReloadConfig", 0).Err; err != nil {
		t.Fatalf("cannot make dbus-daemon read its services again: %v", err)
	}
}

// Connect returns a connection to the bus, closed when the test ends.
func (b *Bus) Connect(t testing.TB) *dbus.Conn {
	t.Helper()
	// The connection lives as long as its context: the timer bounds only the
	// handshake.
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	timer := time.AfterFunc(10*time.Second, cancel)
	conn, err := dbus.Connect(b.Address, dbus.WithContext(ctx))
	if !timer.Stop() && err == nil {
		err = errors.New("handshake took longer than 10s")
	}
	if err != nil {
		t.Fatalf("cannot connect to the test bus: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// Env is the environment of a process that should use this bus.
func (b *Bus) Env(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DBUS_SESSION_BUS_ADDRESS=") {
			env = append(env, kv)
		}
	}
	return append(append(env, "DBUS_SESSION_BUS_ADDRESS="+b.Address), extra...)
}

// RequestName makes conn the owner of name, failing the test otherwise.
func RequestName(t testing.TB, conn *dbus.Conn, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := sessionbus.RequestName(ctx, conn, name); err != nil {
		t.Fatal(err)
	}
}
