package client

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A process of the user's that is not its systemd manager serves the manager's
// private socket: root refuses it, naming what it runs, and sends it nothing.
func TestConnectManagerRefusesAnImpostor(t *testing.T) {
	base := t.TempDir()
	uid := os.Getuid()
	dir := filepath.Join(base, strconv.Itoa(uid), "systemd")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", filepath.Join(dir, "private"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	received := make(chan int, 1)
	go func() {
		conn, err := l.Accept()
		if err != nil {
			received <- -1
			return
		}
		defer conn.Close()
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _ := io.Copy(io.Discard, conn)
		received <- int(n)
	}()

	c := New(Options{RuntimeDir: base})
	m, err := c.connectManager(context.Background(), uid)
	if err == nil {
		m.Close()
		t.Fatal("connected to an impostor")
	}
	var ie *ManagerIdentityError
	exe, _ := os.Executable()
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "runs "+exe+", not systemd") {
		t.Errorf("error %v, want a *ManagerIdentityError naming %s", err, exe)
	}
	if n := <-received; n != 0 {
		t.Errorf("the impostor received %d bytes", n)
	}
}

// No socket, or nothing listening on it, is no manager.
func TestConnectManagerWithoutAManager(t *testing.T) {
	base := t.TempDir()
	uid := os.Getuid()
	c := New(Options{RuntimeDir: base})
	var nm *NoManagerError
	if _, err := c.connectManager(context.Background(), uid); !errors.As(err, &nm) {
		t.Errorf("without a socket: %v, want a *NoManagerError", err)
	}
	dir := filepath.Join(base, strconv.Itoa(uid), "systemd")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: filepath.Join(dir, "private"), Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close()
	if _, err := c.connectManager(context.Background(), uid); !errors.As(err, &nm) {
		t.Errorf("with nothing listening: %v, want a *NoManagerError", err)
	}
}
