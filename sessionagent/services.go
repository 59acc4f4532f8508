package sessionagent

import (
	"net/http"
	"strings"

	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

func init() {
	register(&Command{Path: wire.PathServiceControl, Feature: "service-control", POST: postServiceControl})
	register(&Command{Path: wire.PathServiceStatus, Feature: "service-status", GET: getServiceStatus})
	register(&Command{Path: wire.PathAppControl, Feature: "app-control", POST: postAppControl})
}

func postServiceControl(a *Agent, r *http.Request) Response {
	if rsp := servicesUnavailable(a); rsp != nil {
		return rsp
	}
	var inst wire.ServiceInstruction
	if err := a.decodeBody(r, &inst); err != nil {
		return ResponseForError(err)
	}
	return a.asServiceWork(func() Response {
		res, err := a.cfg.Services.Control(r.Context(), inst)
		if err != nil {
			return ResponseForError(err)
		}
		return SyncResponse(res)
	})
}

func getServiceStatus(a *Agent, r *http.Request) Response {
	if rsp := servicesUnavailable(a); rsp != nil {
		return rsp
	}
	units := commaSeparated(r.URL.Query().Get("services"))
	res, err := a.cfg.Services.Status(r.Context(), units)
	if err != nil {
		return ResponseForError(err)
	}
	return SyncResponse(res)
}

func postAppControl(a *Agent, r *http.Request) Response {
	if rsp := servicesUnavailable(a); rsp != nil {
		return rsp
	}
	var inst wire.AppInstruction
	if err := a.decodeBody(r, &inst); err != nil {
		return ResponseForError(err)
	}
	return a.asServiceWork(func() Response {
		res, err := a.cfg.Services.Kill(r.Context(), inst)
		if err != nil {
			return ResponseForError(err)
		}
		return SyncResponse(res)
	})
}

func servicesUnavailable(a *Agent) Response {
	if a.cfg.Services != nil {
		return nil
	}
	return ErrorResponse(http.StatusServiceUnavailable, wire.ErrorKindInternal,
		"cannot control services: this agent has no systemd manager to talk to", nil)
}

// commaSeparated splits "a, b,,c" into [a b c], as snapd's agent reads its query.
func commaSeparated(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
