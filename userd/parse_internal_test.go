package userd

import (
	"testing"

	"github.com/snapcore-ng/usersession-agent/internal/procfs"
)

func TestSnapOfACaller(t *testing.T) {
	// The label rule is snapname.TagOfLabel, tested there.
	for content, want := range map[string]string{
		"0::/user.slice/user-1000.slice/user@1000.service/app.slice/snap.firefox.firefox-1b2c.scope\n": "firefox",
		"12:pids:/snap.evil.x-1.scope\n1:name=systemd:/user.slice/snap.foo.daemon.service\n0::/\n":     "foo",
		"12:pids:/snap.evil.x-1.scope\n0::/user.slice/user-1000.slice/session-2.scope\n":               "",
	} {
		if got := snapFromCgroups(procfs.ParseSystemdCgroups(content)); got != want {
			t.Errorf("snap of cgroup %q = %q; want %q", content, got, want)
		}
	}
}

func TestSnapdLauncher(t *testing.T) {
	const path = "/var/lib/snapd/desktop/applications/foo_app.desktop"
	for _, tc := range []struct {
		args []string
		ok   bool
	}{
		{[]string{"env", "BAMF_DESKTOP_FILE_HINT=" + path, "/snap/bin/foo.app"}, true},
		{[]string{"env", "BAMF_DESKTOP_FILE_HINT=" + path, "/snap/bin/foo", "--new", "x"}, true},
		{[]string{"env", "BAMF_DESKTOP_FILE_HINT=" + path}, false},
		{[]string{"/snap/bin/foo.app"}, false},
		{[]string{"env", "BAMF_DESKTOP_FILE_HINT=/elsewhere/foo_app.desktop", "/snap/bin/foo.app"}, false},
		{[]string{"env", "BAMF_DESKTOP_FILE_HINT=" + path, "A=b", "/snap/bin/foo.app"}, false},
		{[]string{"env", "BAMF_DESKTOP_FILE_HINT=" + path, "/snap/bin/../../bin/sh"}, false},
		{[]string{"env", "BAMF_DESKTOP_FILE_HINT=" + path, "/snap/bin/sub/foo"}, false},
		{[]string{"env", "BAMF_DESKTOP_FILE_HINT=" + path, "/snap/binx/foo"}, false},
		{[]string{"env", "BAMF_DESKTOP_FILE_HINT=" + path, "/snap/bin/"}, false},
		{[]string{"sh", "BAMF_DESKTOP_FILE_HINT=" + path, "/snap/bin/foo.app"}, false},
	} {
		if err := snapdLauncher(path, tc.args); (err == nil) != tc.ok {
			t.Errorf("snapdLauncher(%q) = %v, want ok %v", tc.args, err, tc.ok)
		}
	}
}

func TestDesktopPrefix(t *testing.T) {
	for snap, want := range map[string]string{"foo": "foo_", "foo_key": "foo+key_", "foo-bar_k1": "foo-bar+k1_"} {
		if got := desktopPrefix(snap); got != want {
			t.Errorf("desktopPrefix(%q) = %q, want %q", snap, got, want)
		}
	}
}
