package userd

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/godbus/dbus/v5"

	"github.com/snapcore-ng/usersession-agent/internal/snapname"
)

// Settings is the io.snapcraft.Settings object: a snap reads, checks and (with the
// user's consent) changes the desktop's default web browser and URL scheme handlers,
// naming only its own desktop files.
type Settings struct{ s *Service }

// Interface is the D-Bus interface the object implements.
func (*Settings) Interface() string { return "io.snapcraft.Settings" }

// ObjectPath is where the object is exported.
func (*Settings) ObjectPath() dbus.ObjectPath { return "/io/snapcraft/Settings" }

func (o *Settings) methods() map[string]any {
	return map[string]any{
		"Check": o.Check, "CheckSub": o.CheckSub,
		"Get": o.Get, "GetSub": o.GetSub,
		"Set": o.Set, "SetSub": o.SetSub,
	}
}

// IntrospectionData describes the interface for org.freedesktop.DBus.Introspectable.
func (*Settings) IntrospectionData() string {
	return `<interface name="io.snapcraft.Settings">
	<method name="Check">
		<arg type="s" name="setting" direction="in"/>
		<arg type="s" name="check" direction="in"/>
		<arg type="s" name="result" direction="out"/>
	</method>
	<method name="CheckSub">
		<arg type="s" name="setting" direction="in"/>
		<arg type="s" name="subproperty" direction="in"/>
		<arg type="s" name="check" direction="in"/>
		<arg type="s" name="result" direction="out"/>
	</method>
	<method name="Get">
		<arg type="s" name="setting" direction="in"/>
		<arg type="s" name="result" direction="out"/>
	</method>
	<method name="GetSub">
		<arg type="s" name="setting" direction="in"/>
		<arg type="s" name="subproperty" direction="in"/>
		<arg type="s" name="result" direction="out"/>
	</method>
	<method name="Set">
		<arg type="s" name="setting" direction="in"/>
		<arg type="s" name="value" direction="in"/>
	</method>
	<method name="SetSub">
		<arg type="s" name="setting" direction="in"/>
		<arg type="s" name="subproperty" direction="in"/>
		<arg type="s" name="value" direction="in"/>
	</method>
</interface>`
}

// settingNames are the xdg-settings properties snaps may use (snapd's list).
var settingNames = []string{"default-web-browser", "default-url-scheme-handler"}

// notThisSnap is what Get answers when the current value is another snap's or the
// host's desktop file, so that a snap learns nothing about it (snapd's answer).
const notThisSnap = "NOT-THIS-SNAP.desktop"

// setting is an xdg-settings property with its optional subproperty (a URL scheme).
type setting struct{ name, sub string }

var schemeRe = lazyRegexp(`^[a-zA-Z][a-zA-Z0-9+.-]*$`)

// maxEcho bounds what an answer (and the log) repeats of an argument a caller gave:
// arguments may be of any length and hold control characters. Past it, an argument
// is cut short and its length given.
const maxEcho = 64

// echo is s quoted for an answer, cut to maxEcho bytes.
func echo(s string) string {
	if len(s) <= maxEcho {
		return strconv.Quote(s)
	}
	return fmt.Sprintf("%s... (%d bytes)", strconv.Quote(s[:maxEcho]), len(s))
}

func (st setting) validate() error {
	if !slices.Contains(settingNames, st.name) {
		return denied("invalid setting %s", echo(st.name))
	}
	// xdg-settings takes the subproperty as its own argument; it must not look like
	// an option or carry anything but a scheme, of a scheme's length (as OpenURL's).
	if st.sub != "" && (len(st.sub) > maxSchemeLen || !schemeRe().MatchString(st.sub)) {
		return denied("invalid subproperty %s of setting %q: not a URL scheme of at most %d bytes", echo(st.sub), st.name, maxSchemeLen)
	}
	return nil
}

func (st setting) String() string {
	if st.sub != "" {
		return fmt.Sprintf("%q subproperty %q", st.name, st.sub)
	}
	return fmt.Sprintf("%q", st.name)
}

func (st setting) args(command string, value string) []string {
	args := []string{command, st.name}
	if st.sub != "" {
		args = append(args, st.sub)
	}
	if value != "" {
		args = append(args, value)
	}
	return args
}

// maxValue bounds a value a snap gives: with its prefix, the name of a file
// (NAME_MAX).
const maxValue = 255

// desktopPrefix is how the names of the desktop files snapd installs for snap (an
// instance name, NAME or NAME_KEY) begin: "NAME_", or "NAME+KEY_" for an instance
// (snapname.DesktopPrefix), then the app's part. snapd's own userd looks for
// "NAME_KEY_", so that its instances can never use Settings.
func desktopPrefix(snap string) string {
	return snapname.DesktopPrefix(snap) + "_"
}

// snapDesktopFile turns the value a snap gave into the desktop file snapd installed
// for it: desktopPrefix(SNAP) + VALUE. A value naming anything else is refused.
func snapDesktopFile(c *Caller, st setting, command, value string) (string, error) {
	if c.Snap == "" {
		return "", denied("cannot %s setting %s: the caller is not a snap", command, st)
	}
	// A value is the name of one of the snap's own desktop files without the prefix
	// snapd adds: an app name and ".desktop".
	app, ok := strings.CutSuffix(value, ".desktop")
	if !ok || len(value) > maxValue || snapname.ValidateApp(app) != nil {
		return "", denied("cannot %s setting %s to invalid value %s: not APP.desktop of at most %d bytes", command, st, echo(value), maxValue)
	}
	return desktopPrefix(c.Snap) + value, nil
}

// Check implements io.snapcraft.Settings.Check: "yes" or "no", as xdg-settings says.
func (o *Settings) Check(name, value string, sender dbus.Sender) (string, *dbus.Error) {
	return o.s.check(sender, setting{name: name}, value)
}

// CheckSub implements io.snapcraft.Settings.CheckSub.
func (o *Settings) CheckSub(name, sub, value string, sender dbus.Sender) (string, *dbus.Error) {
	return o.s.check(sender, setting{name, sub}, value)
}

// Get implements io.snapcraft.Settings.Get: the caller's own desktop file (without
// its snap prefix) or NOT-THIS-SNAP.desktop.
func (o *Settings) Get(name string, sender dbus.Sender) (string, *dbus.Error) {
	return o.s.get(sender, setting{name: name})
}

// GetSub implements io.snapcraft.Settings.GetSub.
func (o *Settings) GetSub(name, sub string, sender dbus.Sender) (string, *dbus.Error) {
	return o.s.get(sender, setting{name, sub})
}

// Set implements io.snapcraft.Settings.Set: the value must be one of the caller's own
// desktop files; the user is asked, unless the value is already the setting (snapd
// skips the question then, LP #1966067); xdg-settings applies it.
func (o *Settings) Set(name, value string, sender dbus.Sender) *dbus.Error {
	return o.s.set(sender, setting{name: name}, value)
}

// SetSub implements io.snapcraft.Settings.SetSub.
func (o *Settings) SetSub(name, sub, value string, sender dbus.Sender) *dbus.Error {
	return o.s.set(sender, setting{name, sub}, value)
}

func (s *Service) check(sender dbus.Sender, st setting, value string) (string, *dbus.Error) {
	var result string
	err := s.call(sender, func(ctx context.Context, c *Caller) error {
		if err := st.validate(); err != nil {
			return err
		}
		file, err := snapDesktopFile(c, st, "check", value)
		if err != nil {
			return err
		}
		result, err = s.xdgSettings(ctx, c, st.args("check", file)...)
		return err
	})
	return result, err
}

func (s *Service) get(sender dbus.Sender, st setting) (string, *dbus.Error) {
	var result string
	err := s.call(sender, func(ctx context.Context, c *Caller) error {
		if err := st.validate(); err != nil {
			return err
		}
		if c.Snap == "" {
			return denied("cannot get setting %s: the caller is not a snap", st)
		}
		out, err := s.xdgSettings(ctx, c, st.args("get", "")...)
		if err != nil {
			return err
		}
		own, ok := strings.CutPrefix(out, desktopPrefix(c.Snap))
		if !ok {
			own = notThisSnap
		}
		result = own
		return nil
	})
	return result, err
}

func (s *Service) set(sender dbus.Sender, st setting, value string) *dbus.Error {
	return s.call(sender, func(ctx context.Context, c *Caller) error {
		if err := st.validate(); err != nil {
			return err
		}
		file, err := snapDesktopFile(c, st, "set", value)
		if err != nil {
			return err
		}
		if fi, err := os.Lstat(filepath.Join(s.desktopDir, file)); err != nil || !fi.Mode().IsRegular() {
			return denied("cannot set setting %s: snap %q has no desktop file %s", st, c.Snap, echo(value))
		}
		// The snap's question is taken before the check, so that a flood of Set
		// calls runs one xdg-settings at a time, not one per call.
		end, err := s.questions.begin(c.Snap)
		if err != nil {
			return fmt.Errorf("cannot set setting %s: %w", st, err)
		}
		defer end()
		if out, err := s.xdgSettings(ctx, c, st.args("check", file)...); err == nil && out == "yes" {
			return nil
		}
		yes, err := s.asker.YesNo(ctx, "Allow settings change?",
			fmt.Sprintf("Allow snap %q to change %s to %q?", c.Snap, st, value), confirmTimeout)
		if err != nil {
			return fmt.Errorf("cannot set setting %s: %w", st, err)
		}
		if !yes {
			return denied("cannot set setting %s: the user declined", st)
		}
		_, err = s.xdgSettings(ctx, c, st.args("set", file)...)
		return err
	})
}

// xdgSettings runs xdg-settings with args for c and returns its output.
func (s *Service) xdgSettings(ctx context.Context, c *Caller, args ...string) (string, error) {
	out, err := s.runFor(ctx, c, toolTimeout, "xdg-settings", args...)
	if err != nil {
		return "", fmt.Errorf("cannot %s setting: %w", args[0], err)
	}
	return out, nil
}
