package control

import (
	"fmt"
	"strings"

	"github.com/snapcore-ng/usersession-agent/internal/apierror"
	"github.com/snapcore-ng/usersession-agent/internal/snapname"
	"github.com/snapcore-ng/usersession-agent/systemd"
)

// serviceUnitTypes are the unit types a snap's user services come as: the service,
// and the socket and timer units that activate it.
var serviceUnitTypes = map[string]bool{"service": true, "socket": true, "timer": true}

// serviceUnit checks one entry of a service list and returns the unit it names.
//
// The rule: the entry must be a valid systemd unit name of a snap
// ("snap.<instance>.<rest>") and of type service, socket or timer. An entry without a
// unit type suffix names a service, as with systemctl: "snap.foo.svc" is
// "snap.foo.svc.service". Templates ("snap.foo.svc@.service") are refused: they cannot
// run; instances ("snap.foo.svc@1.service") are fine.
func serviceUnit(entry string) (string, error) {
	if entry == "" {
		return "", fmt.Errorf(`"": empty`)
	}
	unit := entry
	if !strings.ContainsAny(entry, "*?[/") && !strings.HasPrefix(entry, "-") && !knownSuffix(entry) {
		unit = entry + ".service"
	}
	kind, err := systemd.ParseUnitName(unit)
	if err != nil {
		// Word it about the entry, not about the name with the implied suffix.
		return "", fmt.Errorf("%q: %s", entry, strings.TrimPrefix(err.Error(), fmt.Sprintf("invalid unit name %q: ", unit)))
	}
	if t := systemd.UnitType(unit); !serviceUnitTypes[t] {
		return "", fmt.Errorf("%q: a %s unit, not a service, socket or timer", entry, t)
	}
	if kind == systemd.TemplateName {
		return "", fmt.Errorf("%q: a template, name one of its instances", entry)
	}
	if err := snapUnitPrefix(unit); err != nil {
		return "", fmt.Errorf("%q: %w", entry, err)
	}
	return unit, nil
}

func knownSuffix(name string) bool {
	i := strings.LastIndexByte(name, '.')
	if i < 0 {
		return false
	}
	return systemd.ValidateUnitName("x."+name[i+1:]) == nil
}

// snapUnitPrefix checks that unit is "snap.<instance>.<something>".
func snapUnitPrefix(unit string) error {
	rest, ok := strings.CutPrefix(unit, "snap.")
	if !ok {
		return fmt.Errorf("not a snap unit (no \"snap.\" prefix)")
	}
	instance, tail, ok := strings.Cut(rest, ".")
	if !ok || !strings.Contains(tail, ".") {
		return fmt.Errorf("not a snap unit (not snap.<snap>.<app>.<type>)")
	}
	if err := snapname.ValidateInstance(instance); err != nil {
		return fmt.Errorf("not a snap unit: %w", err)
	}
	return nil
}

// MaxServices bounds the entries of one request: snapd names the services of one
// snap, and a list this long is a mistake or an attack, not work to queue on the
// user's manager.
const MaxServices = 256

// serviceUnits checks every entry and returns their units, or an error naming every
// bad entry. Two entries naming the same unit ("snap.a.b" and "snap.a.b.service") are
// refused: the answer keys its errors by entry, and the unit would be acted on twice
// at once.
func serviceUnits(entries []string) ([]string, *apierror.Error) {
	if len(entries) > MaxServices {
		return nil, badRequest("too many services: %d, at most %d in one request", len(entries), MaxServices)
	}
	units := make([]string, len(entries))
	seen := make(map[string]string, len(entries))
	var bad []string
	for i, e := range entries {
		u, err := serviceUnit(e)
		if err != nil {
			bad = append(bad, err.Error())
			continue
		}
		if first, dup := seen[u]; dup {
			bad = append(bad, fmt.Sprintf("%q: names %s again (as %q)", e, u, first))
			continue
		}
		seen[u] = e
		units[i] = u
	}
	if len(bad) == 1 {
		return nil, badRequest("invalid service name %s", bad[0])
	}
	if len(bad) > 1 {
		return nil, badRequest("invalid service names %s", strings.Join(bad, "; "))
	}
	return units, nil
}
