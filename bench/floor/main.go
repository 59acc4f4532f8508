// Command floor is the benchmarks' floor: the least a socket-activated Go HTTP server
// can do to answer session-info. It serves the one unix socket systemd passes it,
// answers every request with a fixed session-info body, and checks nothing (no peer
// credentials, no routes, no D-Bus, no idle exit). bench/run.sh runs it from the same
// socket unit as the agent, built the same way, so that what the agent costs above it
// is what the agent does. It is never installed.
package main

import (
	"fmt"
	"net/http"
	"os"

	"github.com/coreos/go-systemd/v22/activation"
)

// answer is what snapd's agent gives for GET /v1/session-info, with a version that
// says what answered.
const answer = `{"type":"sync","status-code":200,"status":"OK","result":{"version":"floor"}}`

func main() {
	listeners, err := activation.Listeners()
	if err != nil || len(listeners) != 1 || listeners[0] == nil {
		fmt.Fprintf(os.Stderr, "floor: want the one listening socket of a socket unit (%d passed, err %v)\n", len(listeners), err)
		os.Exit(2)
	}
	body := []byte(answer)
	err = http.Serve(listeners[0], http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
	fmt.Fprintf(os.Stderr, "floor: %v\n", err)
	os.Exit(1)
}
