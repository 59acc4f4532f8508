package client_test

import (
	"net/http"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/snapcore-ng/usersession-agent/usersession/client"
	"github.com/snapcore-ng/usersession-agent/usersession/client/clienttest"
	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

// With ExitWhenIdle every request carries the hint, "true"; without it none does.
func TestExitWhenIdleHintIsSentOnEveryRequestOnlyWhenAsked(t *testing.T) {
	for _, on := range []bool{false, true} {
		t.Run(map[bool]string{false: "off", true: "on"}[on], func(t *testing.T) {
			var mu sync.Mutex
			// Per request: its method and path, and the values of the header.
			type seenRequest struct {
				req  string
				hint []string
			}
			var seen []seenRequest
			good := clienttest.Handler(clienttest.Good, os.Getuid(), nil)
			f := clienttest.NewFleet(t)
			uid := os.Getuid()
			_, socket := f.UserDir(uid)
			f.ServeInProcess(socket, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				seen = append(seen, seenRequest{r.Method + " " + r.URL.Path, r.Header.Values(wire.HeaderExitWhenIdle)})
				mu.Unlock()
				good.ServeHTTP(w, r)
			}))
			c := client.New(client.Options{RuntimeDir: f.Base, HeaderTimeout: 2 * time.Second, Timeout: 3 * time.Second, ExitWhenIdle: on})

			if res, err := c.SessionInfo(t.Context(), client.UIDs(uid)); err != nil || res.Err() != nil {
				t.Fatalf("session-info: %v %v", err, res.Err())
			}
			// A start with --enable asks for the agent's features first: two requests.
			if res, err := c.ServicesStart(t.Context(), client.UIDs(uid), []string{"a.service"}, true); err != nil || res.Err() != nil {
				t.Fatalf("start: %v %v", err, res.Err())
			}
			var want []string
			if on {
				want = []string{"true"}
			}
			mu.Lock()
			defer mu.Unlock()
			if len(seen) < 3 {
				t.Fatalf("the agent saw %d requests, want at least 3: %q", len(seen), seen)
			}
			for _, s := range seen {
				if !slices.Equal(s.hint, want) {
					t.Errorf("%s: hint %q, want %q", s.req, s.hint, want)
				}
			}
		})
	}
}
