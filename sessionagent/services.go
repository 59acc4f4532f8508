package sessionagent

import (
	"net/http"
	"strings"

	"github.com/snapcore-ng/usersession-agent/internal/apierror"
	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

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
	return errorResponse(&apierror.Error{Kind: wire.ErrorKindInternal,
		Message: "cannot control services: this agent has no systemd manager to talk to", Err: apierror.ErrUnavailable})
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
