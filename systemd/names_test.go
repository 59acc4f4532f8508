package systemd_test

import (
	"strings"
	"testing"

	"github.com/snapcore-ng/usersession-agent/systemd"
)

func TestParseUnitName(t *testing.T) {
	for _, tc := range []struct {
		name string
		kind systemd.NameKind
		err  string // substring; empty means valid
	}{
		{name: "snap.foo.svc.service", kind: systemd.PlainName},
		{name: "a.socket", kind: systemd.PlainName},
		{name: "x:y_z-1\\x2d.timer", kind: systemd.PlainName},
		{name: "snap.foo.svc@.service", kind: systemd.TemplateName},
		{name: "snap.foo.svc@1.service", kind: systemd.InstanceName},
		{name: "getty@tty1@x.service", kind: systemd.InstanceName},
		{name: strings.Repeat("a", 247) + ".service", kind: systemd.PlainName},

		{name: "", err: "empty"},
		{name: strings.Repeat("a", 248) + ".service", err: "256 characters long, at most 255"},
		{name: "-foo.service", err: "starts with '-'"},
		{name: "--help", err: "starts with '-'"},
		{name: "a/b.service", err: "contains '/'"},
		{name: "snap.*.service", err: "glob character '*'"},
		{name: "snap.?.service", err: "glob character '?'"},
		{name: "snap.[ab].service", err: "glob character '['"},
		{name: "foo", err: "no unit type suffix"},
		{name: "foo.conf", err: `unknown unit type "conf"`},
		{name: "foo.", err: `unknown unit type ""`},
		{name: ".service", err: "nothing before the unit type suffix"},
		{name: "foo bar.service", err: "invalid character ' '"},
		{name: "fö.service", err: "invalid character 'ö'"},
		{name: "@foo.service", err: "starts with '@'"},
	} {
		kind, err := systemd.ParseUnitName(tc.name)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("ParseUnitName(%q): unexpected error %v", tc.name, err)
		case tc.err == "" && kind != tc.kind:
			t.Errorf("ParseUnitName(%q) = %v, want %v", tc.name, kind, tc.kind)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("ParseUnitName(%q) = %v, want an error containing %q", tc.name, err, tc.err)
		}
	}
}
