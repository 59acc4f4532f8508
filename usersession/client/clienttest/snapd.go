package clienttest

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"syscall"
	"time"

	"github.com/snapcore-ng/usersession-agent/internal/apierror"
	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

// snapd's dialects: its agents, by hand, as this project's client meets them.
const (
	// Snapd answers like snapd's agent (2.63): no status-code, null results,
	// version only, and app-control only for SIGKILL.
	Snapd = "snapd"
	// Snapd257 is Snapd with errors without a kind, as snapd 2.57 sent them.
	Snapd257 = "snapd-2.57"
)

// snapdAgent speaks a snapd dialect with the rules of the fake Services.
type snapdAgent struct {
	v257     bool
	services Services
	exit     func()
}

func (a *snapdAgent) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == wire.PathSessionInfo && r.Method == http.MethodGet:
		version := "2.63"
		if a.v257 {
			version = "2.57.6"
		}
		a.answer(w, wire.SessionInfo{Version: version}, nil)
	case r.URL.Path == wire.PathServiceControl && r.Method == http.MethodPost:
		var inst wire.ServiceInstruction
		if err := json.NewDecoder(r.Body).Decode(&inst); err != nil {
			a.answer(w, nil, apierror.Errorf(wire.ErrorKindBadRequest, "cannot decode request body: %v", err))
			return
		}
		// snapd's agents answer null.
		_, err := a.services.Control(r.Context(), inst)
		a.answer(w, nil, err)
	case r.URL.Path == wire.PathServiceStatus && r.Method == http.MethodGet:
		statuses, err := a.services.Status(r.Context(), strings.Split(r.URL.Query().Get("services"), ","))
		a.answer(w, statuses, err)
	case r.URL.Path == wire.PathAppControl && r.Method == http.MethodPost:
		// snapd's agent (since snapd 2.65) decodes the signal into a syscall.Signal,
		// so only a number decodes, and it sends nothing but SIGKILL.
		var inst struct {
			Snaps  []string       `json:"snaps"`
			Signal syscall.Signal `json:"signal"`
		}
		if err := json.NewDecoder(r.Body).Decode(&inst); err != nil {
			a.answer(w, nil, apierror.Errorf(wire.ErrorKindBadRequest, "cannot decode request body: %v", err))
			return
		}
		if inst.Signal != syscall.SIGKILL {
			a.answer(w, nil, apierror.Errorf("", "only signal SIGKILL is supported"))
			return
		}
		res, err := a.services.Kill(r.Context(), wire.AppInstruction{Action: wire.ActionKill, Snaps: inst.Snaps, Signal: wire.Signal(inst.Signal)})
		a.answer(w, res, err)
	case r.URL.Path == wire.PathAgentExit && r.Method == http.MethodPost:
		a.answer(w, nil, nil)
		http.NewResponseController(w).Flush()
		// Exit once the answer is out, as the real agent does.
		time.AfterFunc(50*time.Millisecond, a.exit)
	case strings.HasPrefix(r.URL.Path, "/v1/notifications/") && r.Method == http.MethodPost:
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body["instance-name"] == nil {
			a.answer(w, nil, apierror.Errorf(wire.ErrorKindBadRequest, "cannot decode notification"))
			return
		}
		a.answer(w, nil, nil)
	default:
		a.answer(w, nil, apierror.Errorf(wire.ErrorKindNotFound, "not found"))
	}
}

// answer writes result, or err (an *apierror.Error) in snapd's error envelope: 400
// for a bad request or a kind-less error, 404 for not-found, 500 for the rest.
func (a *snapdAgent) answer(w http.ResponseWriter, result any, err error) {
	if err == nil {
		writeJSON(w, http.StatusOK, map[string]any{"type": wire.ResponseTypeSync, "result": result})
		return
	}
	var e *apierror.Error
	if !errors.As(err, &e) {
		e = &apierror.Error{Kind: wire.ErrorKindInternal, Message: err.Error()}
	}
	status := http.StatusInternalServerError
	switch e.Kind {
	case wire.ErrorKindBadRequest, "":
		status = http.StatusBadRequest
	case wire.ErrorKindNotFound:
		status = http.StatusNotFound
	}
	res := map[string]any{"message": e.Message}
	if !a.v257 {
		res["kind"] = e.Kind
	}
	if e.Value != nil {
		res["value"] = e.Value
	}
	writeJSON(w, status, map[string]any{"type": wire.ResponseTypeError, "result": res})
}
