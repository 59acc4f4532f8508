package usersessiontest_test

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/snapcore-ng/usersession-agent/testkit/usersessiontest"
)

func TestTwoSessionsRunSideBySide(t *testing.T) {
	a := usersessiontest.Start(t, usersessiontest.Options{})
	b := usersessiontest.Start(t, usersessiontest.Options{})
	if a.UID == b.UID {
		t.Fatalf("two sessions got the same user %s", a.User)
	}
	for _, s := range []*usersessiontest.Session{a, b} {
		out, err := s.Systemctl("is-system-running")
		if state := strings.TrimSpace(out); err != nil || (state != "running" && state != "degraded") {
			t.Fatalf("manager of %s is not running: %q, %v", s.User, out, err)
		}
		out, err = s.Run("id", "-u")
		if err != nil || strings.TrimSpace(out) != strconv.Itoa(s.UID) {
			t.Fatalf("run as %s gave %q, %v", s.User, out, err)
		}
		out, err = s.Systemctl("show-environment")
		if err != nil || !strings.Contains(out, "DBUS_SESSION_BUS_ADDRESS=unix:path="+s.RuntimeDir+"/bus") {
			t.Fatalf("session of %s has no session bus: %q, %v", s.User, out, err)
		}
		if _, err := os.Stat(s.PrivateSocket()); err != nil {
			t.Fatalf("no private manager socket for %s: %v", s.User, err)
		}
	}
}

func TestUserUnitsRun(t *testing.T) {
	s := usersessiontest.Start(t, usersessiontest.Options{})
	s.WriteUserUnit("snap.harness.probe.service", "[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true\n")
	if out, err := s.Systemctl("daemon-reload"); err != nil {
		t.Fatalf("daemon-reload: %v\n%s", err, out)
	}
	if out, err := s.Systemctl("start", "snap.harness.probe.service"); err != nil {
		t.Fatalf("start: %v\n%s", err, out)
	}
	out, _ := s.Systemctl("is-active", "snap.harness.probe.service")
	if strings.TrimSpace(out) != "active" {
		t.Fatalf("probe unit is %q, want active", out)
	}
}
