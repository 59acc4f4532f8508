package systemd

import (
	"context"
	"fmt"
	"strings"

	godbus "github.com/godbus/dbus/v5"
)

// UnitStatus is what Status says about one unit.
type UnitStatus struct {
	// Name is the name asked about; ID is the unit's primary name (they differ when
	// Name is an alias) and Names all its names.
	Name  string
	ID    string
	Names []string

	LoadState   string // "loaded", "not-found", "masked", "error"...
	ActiveState string
	SubState    string
	// UnitFileState is the enablement state: "enabled", "disabled", "static"...
	UnitFileState string
	// NeedDaemonReload says the unit's files changed since the manager loaded them.
	NeedDaemonReload bool

	// Type is the service type ("simple", "notify", "forking"...), and MainPID the
	// main process; both are only read for services.
	Type    string
	MainPID uint32
}

// Installed reports whether the manager found the unit (anything but LoadState
// "not-found").
func (s *UnitStatus) Installed() bool { return s.LoadState != "" && s.LoadState != "not-found" }

// unitProps are the properties Status reads from every loaded unit, serviceProps those
// it reads from services in addition.
var (
	unitProps    = []string{"Id", "Names", "UnitFileState", "NeedDaemonReload"}
	serviceProps = []string{"Type", "MainPID"}
)

// Status returns the status of each unit, in the order asked, in two round trips: one
// ListUnitsByNames for the load and active states of all units, then the few
// per-unit properties it does not carry (Id, Names, UnitFileState, NeedDaemonReload,
// and Type and MainPID for services), asked for all units at once without waiting for
// each answer. Units the manager does not know get LoadState "not-found" and cost no
// second call.
func (m *Manager) Status(ctx context.Context, units []string) ([]UnitStatus, error) {
	ctx, cancel := WithDefaultDeadline(ctx, DefaultTimeout)
	defer cancel()
	if len(units) == 0 {
		return nil, nil
	}
	l, err := m.current(ctx)
	if err != nil {
		return nil, err
	}
	listed, err := l.conn.ListUnitsByNamesContext(ctx, units)
	if err != nil {
		return nil, l.callError(ctx, "get the status of", strings.Join(units, " "), err)
	}
	if len(listed) != len(units) {
		return nil, fmt.Errorf("cannot get the status of %q: the manager answered about %d units instead of %d", strings.Join(units, " "), len(listed), len(units))
	}

	out := make([]UnitStatus, len(units))
	var reqs []propRequest
	for i, u := range listed {
		st := &out[i]
		st.Name = units[i]
		st.LoadState, st.ActiveState, st.SubState = u.LoadState, u.ActiveState, u.SubState
		if !st.Installed() {
			st.ID = units[i]
			continue
		}
		for _, p := range unitProps {
			reqs = append(reqs, propRequest{unit: i, unitName: units[i], path: u.Path, iface: "org.freedesktop.systemd1.Unit", name: p})
		}
		if UnitType(units[i]) == "service" {
			for _, p := range serviceProps {
				reqs = append(reqs, propRequest{unit: i, unitName: units[i], path: u.Path, iface: "org.freedesktop.systemd1.Service", name: p})
			}
		}
	}
	if err := getProperties(ctx, l, reqs); err != nil {
		return nil, err
	}
	for _, r := range reqs {
		st := &out[r.unit]
		switch r.name {
		case "Id":
			st.ID, _ = r.value.(string)
		case "Names":
			st.Names, _ = r.value.([]string)
		case "UnitFileState":
			st.UnitFileState, _ = r.value.(string)
		case "NeedDaemonReload":
			st.NeedDaemonReload, _ = r.value.(bool)
		case "Type":
			st.Type, _ = r.value.(string)
		case "MainPID":
			st.MainPID, _ = r.value.(uint32)
		}
	}
	return out, nil
}

// propRequest is one property to read, and its value once read.
type propRequest struct {
	unit     int // index into the caller's result
	unitName string
	path     godbus.ObjectPath
	iface    string
	name     string
	value    any
}

// getProperties reads the properties with every Get in flight at once: the manager
// answers them in order, and we pay one round trip instead of one per property. It
// starts no goroutine: godbus delivers the answers on our channel.
func getProperties(ctx context.Context, l *link, reqs []propRequest) error {
	if len(reqs) == 0 {
		return nil
	}
	done := make(chan *godbus.Call, len(reqs))
	calls := make(map[*godbus.Call]int, len(reqs))
	for i, r := range reqs {
		obj := l.raw.Object("org.freedesktop.systemd1", r.path)
		c := obj.GoWithContext(ctx, "org.freedesktop.DBus.Properties.Get", 0, done, r.iface, r.name)
		calls[c] = i
	}
	var firstErr error
	for range reqs {
		var c *godbus.Call
		select {
		case c = <-done:
		case <-ctx.Done():
			// godbus answers every pending call with ctx's error, but do not count
			// on it.
			return l.callError(ctx, "read unit properties", "", ctx.Err())
		}
		r := &reqs[calls[c]]
		if c.Err != nil {
			if firstErr == nil {
				firstErr = l.callError(ctx, "read property "+r.name+" of", r.unitName, c.Err)
			}
			continue
		}
		var v godbus.Variant
		if err := c.Store(&v); err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("cannot read property %s of %q: %w", r.name, r.unitName, err)
			}
			continue
		}
		r.value = v.Value()
	}
	return firstErr
}
