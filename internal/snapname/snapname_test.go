package snapname_test

import (
	"strings"
	"testing"

	"github.com/snapcore-ng/usersession-agent/internal/snapname"
)

// The cases are snapd's (snap/naming/validate_test.go, tag_test.go and
// sandbox/cgroup's tests), with the reason each is refused.

// accepts checks that validate (named what) accepts every name.
func accepts(t *testing.T, what string, validate func(string) error, names ...string) {
	t.Helper()
	for _, name := range names {
		if err := validate(name); err != nil {
			t.Errorf("%s(%q) = %v", what, name, err)
		}
	}
}

func TestValidateSnap(t *testing.T) {
	accepts(t, "ValidateSnap", snapname.ValidateSnap,
		"aa", "aaa", "aaaa", "a-a", "aa-a", "a-aa", "a-b-c", "a0", "a-0", "a-0a", "01game", "1-or-2",
		"u-94903713687486543234157734673284536758", // 40: the longest
	)
	for name, why := range map[string]string{
		"":  "2 to 40",
		"a": "2 to 40",
		"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx": "2 to 40",
		"xxxxxxxxxxxxxxxxxxxx-xxxxxxxxxxxxxxxxxxxx": "2 to 40",
		"1111111111111111111111111111111111111111x": "2 to 40",
		"x-x-x-x-x-x-x-x-x-x-x-x-x-x-x-x-x-x-x-x-x": "2 to 40",
		"u-9490371368748654323415773467328453675-":  "dashes",
		"-":        "2 to 40",
		"--":       "dashes",
		"a--a":     "dashes",
		"a-":       "dashes",
		"-a":       "dashes",
		"a ":       "only lowercase",
		" a":       "only lowercase",
		"a a":      "only lowercase",
		"aA":       "only lowercase",
		"a_b":      "only lowercase",
		"0":        "2 to 40",
		"123":      "a letter",
		"日本語":      "only lowercase",
		"한글":       "only lowercase",
		"ру́сский": "only lowercase",
		"aa\x00":   "only lowercase",
	} {
		err := snapname.ValidateSnap(name)
		if err == nil || !strings.HasPrefix(err.Error(), "invalid snap name ") || !strings.Contains(err.Error(), why) {
			t.Errorf("ValidateSnap(%q) = %v, want an invalid snap name (%s)", name, err, why)
		}
	}
}

func TestValidateInstance(t *testing.T) {
	accepts(t, "ValidateInstance", snapname.ValidateInstance,
		"aa", "aaa", "aaaa", "a-a", "aa-a", "a-aa", "a-b-c",
		"foo_bar", "foo_0123456789", "01game_0123456789", "foo_1", "foo_1234abcd")
	for name, want := range map[string]string{
		// The snap name is checked first.
		"":  "invalid snap name",
		"a": "invalid snap name",
		"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx": "invalid snap name",
		"a--a":           "invalid snap name",
		"a-":             "invalid snap name",
		"a a":            "invalid snap name",
		"_":              "invalid snap name",
		"ру́сский_язы́к": "invalid snap name",
		"a_key":          "invalid snap name",
		// Then the key.
		"foo_":            `invalid instance key "": must be 1 to 10`,
		"foo_1-23":        `invalid instance key "1-23": only lowercase`,
		"foo_01234567890": `invalid instance key "01234567890": must be 1 to 10`,
		"foo_123_456":     `invalid instance key "123_456": only lowercase`,
		"foo__bar":        `invalid instance key "_bar": only lowercase`,
		"foo_ABC":         `invalid instance key "ABC": only lowercase`,
	} {
		if err := snapname.ValidateInstance(name); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("ValidateInstance(%q) = %v, want %s...", name, err, want)
		}
	}
	if snap, key := snapname.Split("foo_bar"); snap != "foo" || key != "bar" {
		t.Errorf("Split(foo_bar) = %q, %q", snap, key)
	}
	if snap, key := snapname.Split("foo"); snap != "foo" || key != "" {
		t.Errorf("Split(foo) = %q, %q", snap, key)
	}
}

func TestDesktopPrefix(t *testing.T) {
	for instance, want := range map[string]string{"foo": "foo", "foo_key": "foo+key", "foo-bar_k1": "foo-bar+k1"} {
		if got := snapname.DesktopPrefix(instance); got != want {
			t.Errorf("DesktopPrefix(%q) = %q, want %q", instance, got, want)
		}
	}
}

func TestValidateAppAndHook(t *testing.T) {
	accepts(t, "ValidateApp", snapname.ValidateApp,
		"1", "a", "aa", "Aa", "aA", "1a", "a1", "1-a", "a-1", "a-a", "a-b-c", "0a-a", "a-0a")
	for _, name := range []string{"", "-", "--", "a--a", "a-", "-a", "a ", " a", "a a", "日本語", ":a", "a:", "a:a", "_a", "a_", "a_a", "a.b"} {
		if err := snapname.ValidateApp(name); err == nil || !strings.HasPrefix(err.Error(), "invalid app name ") {
			t.Errorf("ValidateApp(%q) = %v, want an invalid app name", name, err)
		}
	}
	accepts(t, "ValidateHook", snapname.ValidateHook, "a", "aaa", "a-a", "a-b-c", "valid", "connect-plug-i2c")
	for _, name := range []string{"", "a a", "a--a", "-a", "a-", "0", "123", "123abc", "Abc", "日本語"} {
		if err := snapname.ValidateHook(name); err == nil || !strings.HasPrefix(err.Error(), "invalid hook name ") {
			t.Errorf("ValidateHook(%q) = %v, want an invalid hook name", name, err)
		}
	}
}

func TestParseTag(t *testing.T) {
	for tag, want := range map[string]snapname.Tag{
		"snap.pkg.app":                    {Instance: "pkg", App: "app"},
		"snap.pkg.hook.configure":         {Instance: "pkg", Hook: "configure"},
		"snap.pkg_key.app":                {Instance: "pkg_key", App: "app"},
		"snap.pkg_key.hook.configure":     {Instance: "pkg_key", Hook: "configure"},
		"snap.pkg+comp.hook.install":      {Instance: "pkg", Hook: "install", Component: "comp"},
		"snap.pkg_key+comp.hook.install":  {Instance: "pkg_key", Hook: "install", Component: "comp"},
		"snap.pkg.hook":                   {Instance: "pkg", App: "hook"}, // snapd's too
		"snap.firefox.firefox":            {Instance: "firefox", App: "firefox"},
		"snap.foo.Some-App0":              {Instance: "foo", App: "Some-App0"},
		"snap.pkg_key+comp.hook.pre-hook": {Instance: "pkg_key", Hook: "pre-hook", Component: "comp"},
	} {
		got, err := snapname.ParseTag(tag)
		if err != nil || got != want {
			t.Errorf("ParseTag(%q) = %+v, %v; want %+v", tag, got, err, want)
			continue
		}
		if got.String() != tag {
			t.Errorf("ParseTag(%q).String() = %q", tag, got.String())
		}
	}
	for _, tag := range []string{
		"snap.pkg_key.app.surprise", "snap.pkg_key.hook.configure.surprise",
		"snap._.app", "snap.pkg._", "snap.pkg.hook.surprise.", "snap.pkg.hook.",
		"snap.pkg.app.surprise", "snap.pkg.", "snap.pkg", "snap.", "snap", "",
		"snap.pkg+comp.app", "snap.pkg+_.hook.install", "snap.pkg+.hook.install",
		"snip.pkg.app", "snap.a.app", "snap.pkg_ABC.app", "snap.pkg.hook.Configure",
	} {
		if got, err := snapname.ParseTag(tag); err != snapname.ErrInvalidTag {
			t.Errorf("ParseTag(%q) = %+v, %v; want ErrInvalidTag", tag, got, err)
		}
	}
}

func TestTagOfLabel(t *testing.T) {
	for label, want := range map[string]string{
		"snap.firefox.firefox (enforce)":          "snap.firefox.firefox",
		"snap.foo_dev.hook.configure":             "snap.foo_dev.hook.configure",
		"snap.foo.app (complain)\n":               "snap.foo.app",
		"snap.foo.app\x00":                        "snap.foo.app",
		"unconfined":                              "",
		"/usr/bin/evince (enforce)":               "",
		"snap-update-ns.foo (enforce)":            "",
		"snap.-x.app (enforce)":                   "",
		"snap.foo.app.extra (enforce)":            "",
		"snap.foo_toolongakey.app (enforce)":      "",
		"snap.foo+comp.hook.install (enforce)":    "snap.foo+comp.hook.install",
		"snap.foo.app//null-/usr/bin/x (enforce)": "",
	} {
		tag, ok := snapname.TagOfLabel(label)
		if got := tag.String(); !ok && want != "" || ok && got != want {
			t.Errorf("TagOfLabel(%q) = %q %v, want %q", label, got, ok, want)
		}
	}
}

func TestTagOfUnit(t *testing.T) {
	const uuid = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
	for unit, want := range map[string]snapname.Tag{
		"snap.foo.daemon.service":                            {Instance: "foo", App: "daemon"},
		"snap.foo_dev.daemon.service":                        {Instance: "foo_dev", App: "daemon"},
		"snap.firefox.firefox-1b2c.scope":                    {Instance: "firefox", App: "firefox-1b2c"},
		"snap.foo.app-" + uuid + ".scope":                    {Instance: "foo", App: "app"},
		"snap.foo.app-" + strings.ToUpper(uuid) + ".scope":   {Instance: "foo", App: "app"},
		"snap.foo.app." + uuid + ".scope":                    {Instance: "foo", App: "app"},
		"snap.foo.hook.configure-" + uuid + ".scope":         {Instance: "foo", Hook: "configure"},
		"snap.foo.hook.configure." + uuid + ".scope":         {Instance: "foo", Hook: "configure"},
		`snap.foo_x\x2bcomp.hook.install-` + uuid + ".scope": {Instance: "foo_x", Hook: "install", Component: "comp"},
		// A hook name that does not parse: read as an app's, as snapd does.
		"snap.foo.hook.Bad-" + uuid + ".scope": {Instance: "foo", App: "hook"},
		// A UUID too short is part of the name.
		"snap.foo.app-0f1e2d3c.scope": {Instance: "foo", App: "app-0f1e2d3c"},
	} {
		got, ok := snapname.TagOfUnit(unit)
		if !ok || got != want {
			t.Errorf("TagOfUnit(%q) = %+v %v, want %+v", unit, got, ok, want)
		}
	}
	for _, unit := range []string{
		"snap.foo.daemon.timer", "snap.foo.daemon.socket", "snap.foo.daemon", "snap-foo.app.scope",
		"snap.foo.scope", "snap.-foo.app.scope", "snap.a.app.scope", "snap.foo.-app.scope",
		"user@1000.service", "session-2.scope", "init.scope", "snap.foo_.app.service",
		"snap.foo..service", "snap.foo+comp.app-1.scope",
	} {
		if got, ok := snapname.TagOfUnit(unit); ok {
			t.Errorf("TagOfUnit(%q) = %+v, want no snap's", unit, got)
		}
	}
}
