package userd_test

import (
	"github.com/snapcore-ng/usersession-agent/testkit/testenv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A call in progress (here an xdg-open that has not finished; an open dialog is the
// same) keeps the service alive past its idle timeout; once it is answered and the
// timeout passes, the service releases its names and Serve returns.
func TestServeExitsWhenIdleButNotWithACallInProgress(t *testing.T) {
	const idleTimeout = time.Second
	e, served, stop := startEnv(t, idleTimeout)
	t.Cleanup(stop)
	release := filepath.Join(t.TempDir(), "finish")
	e.standIn("xdg-open", "while [ ! -e "+release+" ]; do sleep 0.05; done")
	call := e.conn.Object("io.snapcraft.Launcher", "/io/snapcraft/Launcher").
		Go("io.snapcraft.Launcher.OpenURL", 0, nil, "https://example.com")

	testenv.WaitFor(t, 10*time.Second, "xdg-open", func() bool { return len(e.calls("xdg-open")) == 1 })
	time.Sleep(2 * idleTimeout)
	select {
	case err := <-served:
		t.Fatalf("Serve returned with a call in progress: %v", err)
	default:
	}
	if err := os.WriteFile(release, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := (<-call.Done).Err; err != nil {
		t.Errorf("OpenURL: %v", err)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Serve did not return once idle")
	}
	for _, name := range []string{"io.snapcraft.Launcher", "io.snapcraft.Settings", "io.snapcraft.PrivilegedDesktopLauncher"} {
		if e.hasOwner(name) {
			t.Errorf("%s is still owned after the idle exit", name)
		}
	}
}

// Asked to exit with a call in progress, the service ends the call and answers it
// before it goes.
func TestServeAnswersCallsInProgressWhenAskedToExit(t *testing.T) {
	e, served, stop := startEnv(t, -1)
	e.standIn("zenity", "exec sleep 60")
	file := filepath.Join(t.TempDir(), "f.txt")
	writeFile(t, file, "x")
	answered := make(chan string, 1)
	go func() { answered <- e.call("viewer", "OpenFile", "read", file) }()
	testenv.WaitFor(t, 10*time.Second, "the dialog", func() bool { return len(e.calls("zenity")) == 1 })
	stop()
	if out := <-answered; !strings.HasPrefix(out, accessDenied) {
		t.Errorf("OpenFile during exit = %s, want it refused", out)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
}

func TestObjectsAreIntrospectable(t *testing.T) {
	e := newEnv(t)
	var xml string
	if err := e.conn.Object("io.snapcraft.Settings", "/io/snapcraft/Settings").
		Call("org.freedesktop.DBus.Introspectable.Introspect", 0).Store(&xml); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(xml, `<method name="SetSub">`) || !strings.Contains(xml, "org.freedesktop.DBus.Introspectable") {
		t.Errorf("introspection data of Settings: %s", xml)
	}
}
