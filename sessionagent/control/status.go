package control

import (
	"context"

	"github.com/snapcore-ng/usersession-agent/systemd"
	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

// Status returns the status of each service, in the order asked, read from the manager
// in two round trips whatever their number (see systemd.Manager.Status). Entries follow
// the same rule as for Control. A unit the manager does not know is reported with
// Installed false, not as an error, as snapd does.
func (s *Services) Status(ctx context.Context, services []string) ([]wire.ServiceUnitStatus, error) {
	units, berr := serviceUnits(services)
	if berr != nil {
		return nil, berr
	}
	if len(units) == 0 {
		return []wire.ServiceUnitStatus{}, nil
	}
	// Reading needs no turn on the manager: a status asked during a long stop is
	// answered at once, with the units as they are.
	ctx, cancel := systemd.WithDefaultDeadline(ctx, DefaultTimeout)
	defer cancel()
	sts, err := s.m.Status(ctx, units)
	if err != nil {
		// The manager answers about all units at once, so one failure is every
		// unit's.
		errs := map[string]error{}
		for _, e := range services {
			errs[e] = err
		}
		value := map[string]any{wire.StatusErrorsKey: messages(errs)}
		return nil, failure(wire.ErrorKindServiceStatus, "cannot get the status of user services", value, err)
	}
	out := make([]wire.ServiceUnitStatus, len(sts))
	for i, st := range sts {
		names := st.Names
		if len(names) == 0 {
			names = []string{st.ID}
		}
		out[i] = wire.ServiceUnitStatus{
			Daemon: st.Type,
			ID:     st.ID,
			Name:   services[i],
			Names:  names,
			// "static" units cannot be disabled, so they count as enabled, as in snapd.
			Enabled:          st.UnitFileState == "enabled" || st.UnitFileState == "enabled-runtime" || st.UnitFileState == "static",
			Active:           st.ActiveState == "active" || st.ActiveState == "reloading",
			Installed:        st.Installed(),
			NeedDaemonReload: st.NeedDaemonReload,
			ActiveState:      st.ActiveState,
			SubState:         st.SubState,
			LoadState:        st.LoadState,
			MainPID:          st.MainPID,
		}
	}
	return out, nil
}
