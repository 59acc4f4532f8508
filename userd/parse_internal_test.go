package userd

import (
	"os"
	"path/filepath"
	"testing"
)

func TestSnapOfACaller(t *testing.T) {
	for label, want := range map[string]string{
		"snap.firefox.firefox (enforce)": "firefox",
		"snap.foo_dev.hook.configure":    "foo_dev",
		"unconfined":                     "",
		"/usr/bin/evince (enforce)":      "",
	} {
		if got := snapFromLabel(label); got != want {
			t.Errorf("snapFromLabel(%q) = %q, want %q", label, got, want)
		}
	}
	for content, want := range map[string]string{
		"0::/user.slice/user-1000.slice/user@1000.service/app.slice/snap.firefox.firefox-1b2c.scope\n": "firefox",
		"12:pids:/snap.evil.x-1.scope\n1:name=systemd:/user.slice/snap.foo.daemon.service\n0::/\n":     "foo",
		"12:pids:/snap.evil.x-1.scope\n0::/user.slice/user-1000.slice/session-2.scope\n":               "",
	} {
		path := filepath.Join(t.TempDir(), "cgroup")
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if got, err := snapFromCgroupFile(path); err != nil || got != want {
			t.Errorf("snap of cgroup %q = %q, %v; want %q", content, got, err, want)
		}
	}
}
