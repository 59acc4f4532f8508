package client_test

import (
	"fmt"
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

// With ExitWhenIdle every request carries the hint, "true", but those the call follows
// with another to the same agent (a feature probe, a waited notification's post and
// polls); without it none does.
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
			snapd := clienttest.Handler(clienttest.Snapd, nil)
			f := clienttest.NewFleet(t)
			uid := os.Getuid()
			_, socket := f.UserDir(uid)
			f.ServeInProcess(socket, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				seen = append(seen, seenRequest{r.Method + " " + r.URL.Path, r.Header.Values(wire.HeaderExitWhenIdle)})
				mu.Unlock()
				if r.URL.Path == wire.PathNotifications {
					// Shown at the post; dismissed by the first poll.
					state := wire.NotificationStateShown
					if r.Method == http.MethodGet {
						state = wire.NotificationStateDismissed
					}
					w.Header().Set("Content-Type", "application/json")
					fmt.Fprintf(w, `{"type":"sync","status-code":200,"status":"OK","result":{"id":"1","state":%q}}`, state)
					return
				}
				snapd.ServeHTTP(w, r)
			}))
			c := client.New(client.Options{RuntimeDir: f.Base, HeaderTimeout: 2 * time.Second, Timeout: 3 * time.Second, ExitWhenIdle: on})

			if res, err := c.SessionInfo(t.Context(), client.UIDs(uid)); err != nil || res.Err() != nil {
				t.Fatalf("session-info: %v %v", err, res.Err())
			}
			// A start with --enable asks for the agent's features first: a probe, then
			// the start.
			if res, err := c.ServicesStart(t.Context(), client.UIDs(uid), []string{"a.service"}, true); err != nil || res.Err() != nil {
				t.Fatalf("start: %v %v", err, res.Err())
			}
			// A notification waited for: the post, then a poll, from the same agent.
			if res, err := c.Notify(t.Context(), client.UIDs(uid), wire.Notification{Title: "t"}, time.Minute); err != nil || res.Err() != nil {
				t.Fatalf("notify: %v %v", err, res.Err())
			}
			var hint []string
			if on {
				hint = []string{"true"}
			}
			want := []seenRequest{
				{"GET " + wire.PathSessionInfo, hint},
				{"GET " + wire.PathSessionInfo, nil},
				{"POST " + wire.PathServiceControl, hint},
				{"POST " + wire.PathNotifications, nil},
				{"GET " + wire.PathNotifications, nil},
			}
			mu.Lock()
			defer mu.Unlock()
			if !slices.EqualFunc(seen, want, func(a, b seenRequest) bool { return a.req == b.req && slices.Equal(a.hint, b.hint) }) {
				t.Errorf("the agent saw %q, want %q", seen, want)
			}
		})
	}
}
