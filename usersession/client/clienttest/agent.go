package clienttest

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

// Behaviours of a fake agent.
const (
	// Good answers every endpoint like this project's agent. A unit or snap whose
	// name contains "fail" fails; one containing "stubborn" is reported killed, one
	// containing "missing" not loaded by a stop.
	Good = "good"
	// Snapd answers like snapd's agent: no status-code, null results, version only.
	Snapd = "snapd"
	// Snapd257 is Snapd with errors without a kind, as snapd 2.57 sent them.
	Snapd257 = "snapd-2.57"

	// Hang accepts and reads the request, and never answers.
	Hang = "hang"
	// TrickleHeaders sends its response headers one byte per second.
	TrickleHeaders = "trickle-headers"
	// TrickleBody sends headers at once, then its body one byte per second.
	TrickleBody = "trickle-body"
	// Huge sends a 100 MB body, chunked.
	Huge = "huge"
	// HugeContentLength announces and sends a 100 MB body.
	HugeContentLength = "huge-content-length"
	// BadJSON answers 200 with a body that is not JSON.
	BadJSON = "bad-json"
	// WrongEnvelope answers 200 with JSON that is not the sync/error envelope.
	WrongEnvelope = "wrong-envelope"
	// DieMidBody announces a body, sends part of it and exits (or, in process,
	// closes the connection).
	DieMidBody = "die-mid-body"
	// Redirect answers 302 to another path.
	Redirect = "redirect"
	// SwitchProtocols answers "101 Switching Protocols" with "Connection: Upgrade",
	// so that Go's HTTP client hands over the raw connection, and then says nothing
	// more until the client hangs up.
	SwitchProtocols = "switch-protocols"
	// CloseBeforeAnswer reads the whole request, then closes the connection without
	// a byte of answer, as an agent exiting in the middle of the work does.
	CloseBeforeAnswer = "close-before-answer"
	// StatusFlood answers service-status with just under 1 MiB of empty entries
	// ([{},{},...], about 350,000 of them), whatever was asked; other calls as Good.
	StatusFlood = "status-flood"
	// StatusExtra answers service-status as Good would, with the last unit asked
	// replaced by a unit nobody asked for; other calls as Good.
	StatusExtra = "status-extra"
	// NotifyEager answers a notification's post "shown", and every poll of it at
	// once, still "shown", whatever wait the poll asked for; other calls as Good.
	NotifyEager = "notify-eager"
	// NotifyBogusAction answers a notification's post "shown", and every poll with
	// the action BogusAction, which no client offers; other calls as Good.
	NotifyBogusAction = "notify-bogus-action"
)

// BogusAction is the action NotifyBogusAction says the user chose.
const BogusAction = "rm-rf"

// StatusFloodSize is the size of StatusFlood's answer, under the client's default
// cap.
const StatusFloodSize = 1<<20 - 64

// HugeSize is how much Huge and HugeContentLength send.
const HugeSize = 100 << 20

// Handler returns the HTTP handler of a fake agent with behaviour, answering as uid.
// exit is called when the agent should exit (agent-exit, DieMidBody); nil does
// nothing.
func Handler(behaviour string, uid int, exit func()) http.Handler {
	if exit == nil {
		exit = func() {}
	}
	a := &fakeAgent{behaviour: behaviour, uid: uid, exit: exit}
	return http.HandlerFunc(a.serve)
}

type fakeAgent struct {
	behaviour string
	uid       int
	exit      func()
}

func (a *fakeAgent) snapd() bool { return a.behaviour == Snapd || a.behaviour == Snapd257 }

func (a *fakeAgent) serve(w http.ResponseWriter, r *http.Request) {
	switch a.behaviour {
	case Good, Snapd, Snapd257:
		a.serveGood(w, r)
	case NotifyEager, NotifyBogusAction:
		if r.URL.Path != wire.PathNotifications {
			a.serveGood(w, r)
			return
		}
		st := wire.NotificationStatus{ID: "n1", State: wire.NotificationStateShown, ActionsShown: true}
		if r.Method == http.MethodGet && a.behaviour == NotifyBogusAction {
			st.State, st.Action = wire.NotificationStateAction, BogusAction
		}
		a.sync(w, st)
	case StatusFlood, StatusExtra:
		if r.URL.Path != wire.PathServiceStatus {
			a.serveGood(w, r)
			return
		}
		if a.behaviour == StatusExtra {
			asked := strings.Split(r.URL.Query().Get("services"), ",")
			asked[len(asked)-1] = "snap.unasked.app.service"
			r.URL.RawQuery = url.Values{"services": {strings.Join(asked, ",")}}.Encode()
			a.serveGood(w, r)
			return
		}
		head, tail := `{"type":"sync","status-code":200,"status":"OK","result":[{}`, "]}"
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		w.Write([]byte(head + strings.Repeat(",{}", (StatusFloodSize-len(head)-len(tail))/3) + tail))
	case Hang:
		<-r.Context().Done()
	case CloseBeforeAnswer:
		io.Copy(io.Discard, r.Body)
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			conn.Close()
		}
	case TrickleHeaders:
		trickle(w, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{}", true)
	case TrickleBody:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		trickle(w, `{"type":"sync","result":{"version":"`+strings.Repeat("x", 1000)+`"}}`, false)
	case Huge, HugeContentLength:
		if a.behaviour == HugeContentLength {
			w.Header().Set("Content-Length", fmt.Sprint(HugeSize))
		}
		w.WriteHeader(http.StatusOK)
		chunk := []byte(strings.Repeat("x", 64<<10))
		for sent := 0; sent < HugeSize; sent += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	case BadJSON:
		w.WriteHeader(http.StatusOK)
		w.Write([]byte(`{"type":"sync","result":`))
	case WrongEnvelope:
		w.WriteHeader(http.StatusOK)
		w.Write([]byte(`{"type":"async","change":"42","result":{"version":"1"}}`))
	case DieMidBody:
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 4096\r\n\r\n")
		buf.WriteString(`{"type":"sync","result":{"version":"`)
		buf.Flush()
		time.Sleep(100 * time.Millisecond)
		conn.Close()
		a.exit()
	case Redirect:
		http.Redirect(w, r, "/v1/elsewhere", http.StatusFound)
	case SwitchProtocols:
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		buf.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: hostile/1\r\n\r\n")
		buf.Flush()
		// Whatever the client sends or however long it waits, read until it hangs up.
		io.Copy(io.Discard, conn)
	default:
		http.Error(w, "unknown fake agent behaviour "+a.behaviour, http.StatusInternalServerError)
	}
}

// trickle writes s one byte per second until done or the client goes away; raw
// writes it on the hijacked connection, headers included.
func trickle(w http.ResponseWriter, s string, raw bool) {
	rc := http.NewResponseController(w)
	write := func(b []byte) error {
		if _, err := w.Write(b); err != nil {
			return err
		}
		return rc.Flush()
	}
	if raw {
		conn, _, err := rc.Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		write = func(b []byte) error { _, err := conn.Write(b); return err }
	}
	for i := range len(s) {
		if write([]byte{s[i]}) != nil {
			return
		}
		time.Sleep(time.Second)
	}
}

func (a *fakeAgent) serveGood(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == wire.PathSessionInfo && r.Method == http.MethodGet:
		info := wire.SessionInfo{Version: "2.63"}
		switch {
		case a.behaviour == Snapd257:
			info.Version = "2.57.6"
		case !a.snapd():
			uid := a.uid
			info = wire.SessionInfo{Version: "fake-1.0", UID: &uid, PID: os.Getpid(),
				Features: []string{"agent-exit", "app-control", "service-control", "service-status", "session-info"}}
		}
		a.sync(w, info)
	case r.URL.Path == wire.PathServiceControl && r.Method == http.MethodPost:
		var inst wire.ServiceInstruction
		if err := json.NewDecoder(r.Body).Decode(&inst); err != nil {
			a.error(w, http.StatusBadRequest, wire.ErrorKindBadRequest, "cannot decode request body: "+err.Error(), nil)
			return
		}
		key := map[string]string{
			wire.ActionStart: wire.StartErrorsKey, wire.ActionStop: wire.StopErrorsKey,
			wire.ActionRestart: wire.RestartErrorsKey,
		}[inst.Action]
		failed, res := map[string]string{}, wire.ServiceControlResult{}
		for _, u := range inst.Services {
			switch {
			case strings.Contains(u, "fail"):
				failed[u] = fmt.Sprintf("cannot %s %s: fake failure", inst.Action, u)
			case strings.Contains(u, "stubborn"):
				res.Killed = append(res.Killed, u)
			case strings.Contains(u, "missing") && inst.Action == wire.ActionStop:
				res.NotLoaded = append(res.NotLoaded, u)
			}
		}
		if len(failed) > 0 {
			a.error(w, http.StatusInternalServerError, wire.ErrorKindServiceControl,
				"some user services failed to "+inst.Action, map[string]any{key: failed})
			return
		}
		if a.snapd() {
			a.sync(w, nil)
		} else {
			a.sync(w, res)
		}
	case r.URL.Path == wire.PathServiceStatus && r.Method == http.MethodGet:
		var statuses []wire.ServiceUnitStatus
		failed := map[string]string{}
		for _, u := range strings.Split(r.URL.Query().Get("services"), ",") {
			if strings.Contains(u, "fail") {
				failed[u] = "cannot query " + u + ": fake failure"
				continue
			}
			statuses = append(statuses, wire.ServiceUnitStatus{
				Daemon: "simple", ID: u, Name: u, Names: []string{u},
				Enabled: true, Active: !strings.Contains(u, "inactive"), Installed: true,
				ActiveState: "active", SubState: "running", LoadState: "loaded",
			})
		}
		if len(failed) > 0 {
			a.error(w, http.StatusInternalServerError, wire.ErrorKindServiceStatus,
				"cannot get status of some user services", map[string]any{wire.StatusErrorsKey: failed})
			return
		}
		a.sync(w, statuses)
	case r.URL.Path == wire.PathAppControl && r.Method == http.MethodPost:
		// snapd's agent (since snapd 2.65) decodes the signal into a syscall.Signal,
		// so only a number decodes, and it sends nothing but SIGKILL.
		var inst struct {
			Snaps  []string       `json:"snaps"`
			Signal syscall.Signal `json:"signal"`
		}
		if err := json.NewDecoder(r.Body).Decode(&inst); err != nil {
			a.error(w, http.StatusBadRequest, wire.ErrorKindBadRequest, "cannot decode request body: "+err.Error(), nil)
			return
		}
		if a.snapd() && inst.Signal != syscall.SIGKILL {
			a.error(w, http.StatusBadRequest, "", "only signal SIGKILL is supported", nil)
			return
		}
		failed, res := map[string]string{}, wire.AppControlResult{Scopes: map[string][]string{}}
		for _, s := range inst.Snaps {
			if strings.Contains(s, "fail") {
				failed[s] = "cannot signal " + s + ": fake failure"
				continue
			}
			res.Scopes[s] = []string{"snap." + s + ".app-1234.scope"}
		}
		if len(failed) > 0 {
			a.error(w, http.StatusInternalServerError, wire.ErrorKindAppControl,
				"cannot kill some snap apps", map[string]any{wire.KillErrorsKey: failed})
			return
		}
		a.sync(w, res)
	case r.URL.Path == wire.PathAgentExit && r.Method == http.MethodPost:
		a.sync(w, nil)
		http.NewResponseController(w).Flush()
		// Exit once the answer is out, as the real agent does.
		time.AfterFunc(50*time.Millisecond, a.exit)
	case strings.HasPrefix(r.URL.Path, "/v1/notifications/") && r.Method == http.MethodPost:
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body["instance-name"] == nil {
			a.error(w, http.StatusBadRequest, wire.ErrorKindBadRequest, "cannot decode notification", nil)
			return
		}
		a.sync(w, nil)
	default:
		a.error(w, http.StatusNotFound, wire.ErrorKindNotFound, "not found", nil)
	}
}

func (a *fakeAgent) sync(w http.ResponseWriter, result any) {
	resp := map[string]any{"type": wire.ResponseTypeSync, "result": result}
	if !a.snapd() {
		resp["status-code"], resp["status"] = http.StatusOK, "OK"
	}
	writeJSON(w, http.StatusOK, resp)
}

func (a *fakeAgent) error(w http.ResponseWriter, status int, kind, msg string, value any) {
	res := map[string]any{"message": msg}
	if a.behaviour != Snapd257 {
		res["kind"] = kind
	}
	if value != nil {
		res["value"] = value
	}
	resp := map[string]any{"type": wire.ResponseTypeError, "result": res}
	if !a.snapd() {
		resp["status-code"], resp["status"] = status, http.StatusText(status)
	}
	writeJSON(w, status, resp)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// Serve serves h on l until l is closed. The server has no timeouts on purpose:
// hostile agents are slow.
func Serve(l net.Listener, h http.Handler) error {
	return (&http.Server{Handler: h}).Serve(l)
}
