package clienttest

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

// Hostile behaviours, by hand.
const (
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
	// ([{},{},...], about 350,000 of them), whatever was asked, and every other call
	// as Snapd.
	StatusFlood = "status-flood"
)

// StatusFloodSize is the size of StatusFlood's answer, under the client's default
// cap.
const StatusFloodSize = 1<<20 - 64

// HugeSize is how much Huge and HugeContentLength send.
const HugeSize = 100 << 20

// Handler returns the HTTP handler of a hand-written agent: one of snapd's dialects
// or a hostile behaviour. exit is called when the agent should exit (agent-exit,
// DieMidBody); nil does nothing. The real agent's behaviours (Real, ...) are no
// handler: see ServeAgent and Fleet.Start.
func Handler(behaviour string, exit func()) http.Handler {
	if exit == nil {
		exit = func() {}
	}
	snapd := &snapdAgent{v257: behaviour == Snapd257, exit: exit}
	switch behaviour {
	case Snapd, Snapd257:
		return snapd
	case StatusFlood:
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != wire.PathServiceStatus {
				snapd.ServeHTTP(w, r)
				return
			}
			head, tail := `{"type":"sync","status-code":200,"status":"OK","result":[{}`, "]}"
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			w.Write([]byte(head + strings.Repeat(",{}", (StatusFloodSize-len(head)-len(tail))/3) + tail))
		})
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hostile(behaviour, exit, w, r) })
}

// hostile serves one request as behaviour.
func hostile(behaviour string, exit func(), w http.ResponseWriter, r *http.Request) {
	switch behaviour {
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
		if behaviour == HugeContentLength {
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
		exit()
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
		http.Error(w, "unknown fake agent behaviour "+behaviour, http.StatusInternalServerError)
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
