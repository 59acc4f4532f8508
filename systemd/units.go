package systemd

import (
	"context"
	"fmt"

	sdbus "github.com/coreos/go-systemd/v22/dbus"
	godbus "github.com/godbus/dbus/v5"
)

// Unit is a unit as the manager lists it.
type Unit struct {
	Name        string
	Description string
	LoadState   string // "loaded", "not-found", "masked", "error"...
	ActiveState string // "active", "inactive", "failed", "activating"...
	SubState    string // type-specific: "running", "dead", "exited"...
}

func unitsFrom(in []sdbus.UnitStatus) []Unit {
	out := make([]Unit, len(in))
	for i, u := range in {
		out[i] = Unit{Name: u.Name, Description: u.Description, LoadState: u.LoadState, ActiveState: u.ActiveState, SubState: u.SubState}
	}
	return out
}

// ListUnitsByPatterns lists the loaded units whose names match one of the glob
// patterns and whose load, active or sub state is one of states (any state if states is
// empty), in one call.
func (m *Manager) ListUnitsByPatterns(ctx context.Context, states, patterns []string) ([]Unit, error) {
	ctx, cancel := WithDefaultDeadline(ctx, DefaultTimeout)
	defer cancel()
	l, err := m.current(ctx)
	if err != nil {
		return nil, err
	}
	if states == nil {
		states = []string{}
	}
	us, err := l.conn.ListUnitsByPatternsContext(ctx, states, patterns)
	if err != nil {
		return nil, l.callError(ctx, "list units", "", err)
	}
	return unitsFrom(us), nil
}

// Prop names a property of a unit: its interface, short ("Unit", "Service",
// "Socket"...), and its name.
type Prop struct {
	Iface, Name string
}

// UnitProp is a property of the org.freedesktop.systemd1.Unit interface, which every
// unit has.
func UnitProp(name string) Prop { return Prop{Iface: "Unit", Name: name} }

// Properties reads the named properties of unit, all asked for at once (one round
// trip), and returns them by name. Only what is asked for is read, never all of a
// unit's properties (a unit has a few hundred). Asking about a unit the manager does
// not know loads a stub whose LoadState is "not-found"; it is not an error.
func (m *Manager) Properties(ctx context.Context, unit string, props ...Prop) (map[string]any, error) {
	ctx, cancel := WithDefaultDeadline(ctx, DefaultTimeout)
	defer cancel()
	l, err := m.current(ctx)
	if err != nil {
		return nil, err
	}
	path := godbus.ObjectPath("/org/freedesktop/systemd1/unit/" + sdbus.PathBusEscape(unit))
	reqs := make([]propRequest, len(props))
	for i, p := range props {
		reqs[i] = propRequest{unitName: unit, path: path, iface: "org.freedesktop.systemd1." + p.Iface, name: p.Name}
	}
	if err := getProperties(ctx, l, reqs); err != nil {
		return nil, err
	}
	out := make(map[string]any, len(reqs))
	for _, r := range reqs {
		out[r.name] = r.value
	}
	return out, nil
}

// Property returns one property of unit. iface is the short interface name: "Unit",
// "Service", "Scope"...
func (m *Manager) Property(ctx context.Context, unit, iface, name string) (any, error) {
	ctx, cancel := WithDefaultDeadline(ctx, DefaultTimeout)
	defer cancel()
	l, err := m.current(ctx)
	if err != nil {
		return nil, err
	}
	var p *sdbus.Property
	if iface == "Unit" {
		p, err = l.conn.GetUnitPropertyContext(ctx, unit, name)
	} else {
		p, err = l.conn.GetUnitTypePropertyContext(ctx, unit, iface, name)
	}
	if err != nil {
		return nil, l.callError(ctx, "get property "+name+" of", unit, err)
	}
	return p.Value.Value(), nil
}

// UnitOfPID returns the name of the unit process pid runs in (GetUnitByPID).
func (m *Manager) UnitOfPID(ctx context.Context, pid uint32) (string, error) {
	ctx, cancel := WithDefaultDeadline(ctx, DefaultTimeout)
	defer cancel()
	l, err := m.current(ctx)
	if err != nil {
		return "", err
	}
	name, err := l.conn.GetUnitNameByPID(ctx, pid)
	if err != nil {
		return "", l.callError(ctx, "find the unit of", fmt.Sprintf("pid %d", pid), err)
	}
	return name, nil
}

// ResetFailed resets unit's failed state and its start rate limit counter, as
// `systemctl reset-failed` does.
func (m *Manager) ResetFailed(ctx context.Context, unit string) error {
	ctx, cancel := WithDefaultDeadline(ctx, DefaultTimeout)
	defer cancel()
	l, err := m.current(ctx)
	if err != nil {
		return err
	}
	if err := l.conn.ResetFailedUnitContext(ctx, unit); err != nil {
		return l.callError(ctx, "reset the failed state of", unit, err)
	}
	return nil
}
