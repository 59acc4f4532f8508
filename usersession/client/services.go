package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

// Service calls answer with a *wire.ServiceControlResult (empty from snapd's agents,
// which answer null). When some units fail, the outcome's error wraps an
// *AgentError of kind wire.ErrorKindServiceControl whose Failures say which units
// failed and why, under wire.StartErrorsKey, StopErrorsKey or RestartErrorsKey.

// ServicesStart starts units in each session; with enable, it enables them first.
func (c *Client) ServicesStart(ctx context.Context, t Targets, units []string, enable bool) (*Results[wire.ServiceControlResult], error) {
	return c.serviceControl(ctx, t, "start units", wire.ServiceInstruction{Action: wire.ActionStart, Services: units, Enable: enable})
}

// ServicesStop stops units in each session; with disable, it disables them after.
func (c *Client) ServicesStop(ctx context.Context, t Targets, units []string, disable bool) (*Results[wire.ServiceControlResult], error) {
	return c.serviceControl(ctx, t, "stop units", wire.ServiceInstruction{Action: wire.ActionStop, Services: units, Disable: disable})
}

// ServicesRestart restarts units in each session; with reload, it reloads those that
// support it instead.
func (c *Client) ServicesRestart(ctx context.Context, t Targets, units []string, reload bool) (*Results[wire.ServiceControlResult], error) {
	return c.serviceControl(ctx, t, "restart units", wire.ServiceInstruction{Action: wire.ActionRestart, Services: units, Reload: reload})
}

// ServicesDaemonReload makes each session's systemd manager reload its units.
func (c *Client) ServicesDaemonReload(ctx context.Context, t Targets) (*Results[wire.ServiceControlResult], error) {
	return c.serviceControl(ctx, t, "reload user units", wire.ServiceInstruction{Action: wire.ActionDaemonReload})
}

func (c *Client) serviceControl(ctx context.Context, t Targets, op string, inst wire.ServiceInstruction) (*Results[wire.ServiceControlResult], error) {
	if inst.Action != wire.ActionDaemonReload {
		if err := checkNames("unit", inst.Services); err != nil {
			return nil, fmt.Errorf("cannot %s: %w", op, err)
		}
	}
	r := &request{
		op:     op,
		method: http.MethodPost,
		path:   wire.PathServiceControl,
		body:   inst,
		limits: c.serviceLimits(),
		asked:  inst.Services,
		check:  checkKilled(inst.Services),
	}
	option := serviceOption(inst)
	if option == "" {
		return fanOut[wire.ServiceControlResult](ctx, c, t, r)
	}
	// An agent that does not know the option would ignore it and, say, stop without
	// disabling: ask each agent first (package wire's rules on version skew).
	return fanOutFunc(ctx, c, t, op, func(ctx context.Context, s Session) (wire.ServiceControlResult, error) {
		probe := c.sessionInfoRequest()
		probe.followed = true
		info, err := callFor[wire.SessionInfo](ctx, c, s, probe)
		if err != nil {
			return wire.ServiceControlResult{}, err
		}
		if !knowsServiceOptions(info) {
			return wire.ServiceControlResult{}, &UnsupportedError{Version: info.Version, Option: option}
		}
		return callFor[wire.ServiceControlResult](ctx, c, s, r)
	})
}

// serviceOption names the option of inst that not every agent knows, or is empty.
func serviceOption(inst wire.ServiceInstruction) string {
	switch {
	case inst.Enable:
		return "enable"
	case inst.Disable:
		return "disable"
	case inst.Reload:
		return "reload"
	}
	return ""
}

// snapdServiceOptions is the first snapd whose agent reads the enable, disable and
// reload fields of service-control (snapd 2.63, 2024); older ones ignore them.
var snapdServiceOptions = [2]int{2, 63}

// knowsServiceOptions says whether an agent reads enable, disable and reload: this
// project's agents (they list the service-control feature, and had the options from
// the start) and snapd's from 2.63 on (snapd's agents list no features; their version
// says it). A version that does not start with major.minor counts as too old.
func knowsServiceOptions(info wire.SessionInfo) bool {
	if slices.Contains(info.Features, "service-control") {
		return true
	}
	major, rest, _ := strings.Cut(info.Version, ".")
	minor := rest[:len(rest)-len(strings.TrimLeft(rest, "0123456789"))]
	maj, err1 := strconv.Atoi(major)
	min, err2 := strconv.Atoi(minor)
	if err1 != nil || err2 != nil {
		return false
	}
	return maj > snapdServiceOptions[0] || maj == snapdServiceOptions[0] && min >= snapdServiceOptions[1]
}

// ServiceStatus asks each session for the status of units (GET /v1/service-status).
// Units the agent cannot query make the outcome fail with an *AgentError of kind
// wire.ErrorKindServiceStatus whose Failures[wire.StatusErrorsKey] names them.
func (c *Client) ServiceStatus(ctx context.Context, t Targets, units []string) (*Results[[]wire.ServiceUnitStatus], error) {
	const op = "get status of units"
	if err := checkNames("unit", units); err != nil {
		return nil, fmt.Errorf("cannot %s: %w", op, err)
	}
	return fanOut[[]wire.ServiceUnitStatus](ctx, c, t, &request{
		op:     op,
		method: http.MethodGet,
		path:   wire.PathServiceStatus,
		query:  url.Values{"services": {strings.Join(units, ",")}},
		limits: c.quickLimits(),
		asked:  units,
		check:  checkStatuses(units),
	})
}

// checkNames refuses an empty list and names the agent could not tell apart: the
// status query joins them with commas.
func checkNames(what string, names []string) error {
	if len(names) == 0 {
		return fmt.Errorf("no %ss given", what)
	}
	for _, n := range names {
		if n == "" || strings.ContainsAny(n, ",\x00\n") {
			return fmt.Errorf("invalid %s name %q", what, n)
		}
	}
	return nil
}
