package client_test

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/snapcore-ng/usersession-agent/sessionagent"
	"github.com/snapcore-ng/usersession-agent/usersession/client"
	"github.com/snapcore-ng/usersession-agent/usersession/client/clienttest"
)

func TestWithTimeoutLetsHeadersTakeTheWholeCall(t *testing.T) {
	c := client.New(client.Options{}).WithTimeout(60 * time.Second)
	o := c.Options()
	if o.Timeout != 60*time.Second || o.ServiceTimeout != 60*time.Second || o.HeaderTimeout != 60*time.Second {
		t.Errorf("WithTimeout(60s) gives timeout %v, service timeout %v, header timeout %v; want 60s each",
			o.Timeout, o.ServiceTimeout, o.HeaderTimeout)
	}
	if o.ConnectTimeout != client.DefaultConnectTimeout {
		t.Errorf("WithTimeout(60s) gives connect timeout %v, want the default %v", o.ConnectTimeout, client.DefaultConnectTimeout)
	}
	o = client.New(client.Options{}).WithTimeout(500 * time.Millisecond).Options()
	if o.HeaderTimeout != 500*time.Millisecond || o.ConnectTimeout != 500*time.Millisecond {
		t.Errorf("WithTimeout(500ms) gives header timeout %v, connect timeout %v; want 500ms both", o.HeaderTimeout, o.ConnectTimeout)
	}
	if c := client.New(client.Options{}); c.WithTimeout(0) != c {
		t.Errorf("WithTimeout(0) changed the client")
	}
}

// An agent busy with a long stop answers a status call only when the stop is done:
// the default header deadline gives up, an explicit --timeout waits for it.
func TestStatusBehindALongStopWaitsForAnExplicitTimeout(t *testing.T) {
	const busy = 700 * time.Millisecond
	f := clienttest.NewFleet(t)
	uid := os.Getuid()
	_, socket := f.UserDir(uid)
	f.ServeAgent(socket, sessionagent.Config{Services: &clienttest.Services{Delay: busy}})
	c := client.New(client.Options{RuntimeDir: f.Base, HeaderTimeout: 200 * time.Millisecond, Timeout: 5 * time.Second})

	res, err := c.ServiceStatus(t.Context(), client.UIDs(uid), []string{"a.service"})
	o := only(t, res, err)
	var te *client.TimeoutError
	if !errors.As(o.Err, &te) || te.Phase != client.PhaseHeaders || te.Limit != 200*time.Millisecond {
		t.Fatalf("without WithTimeout: want a 200ms header timeout, got %v", o.Err)
	}

	res, err = c.WithTimeout(5*time.Second).ServiceStatus(t.Context(), client.UIDs(uid), []string{"a.service"})
	if o := only(t, res, err); !o.OK() || len(o.Result) != 1 || o.Result[0].Name != "a.service" {
		t.Errorf("with WithTimeout(5s): %+v", o)
	}
}
