package client_test

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/snapcore-ng/usersession-agent/desktop/notification"
	"github.com/snapcore-ng/usersession-agent/sessionagent"
	"github.com/snapcore-ng/usersession-agent/usersession/client"
	"github.com/snapcore-ng/usersession-agent/usersession/client/clienttest"
	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

// An agent that answers every poll at once, and never finally, is asked at most once
// per client.MinNotificationPoll: not thousands of times a second.
func TestNotifyWaitPacesAnAgentThatAnswersAtOnce(t *testing.T) {
	var polls atomic.Int64
	c, uid := selfAgent(t, realAgent(sessionagent.Config{Notifications: &clienttest.Notifications{
		Answer: func(st notification.Status) notification.Status {
			polls.Add(1)
			return st
		},
	}}))
	const wait = 3 * time.Second
	res, err := c.Notify(t.Context(), client.UIDs(uid), wire.Notification{Title: "t"}, wait)
	o := only(t, res, err)
	if o.Err != nil {
		t.Fatalf("notify: %v", o.Err)
	}
	if st := o.Result; st.State != wire.NotificationStateShown {
		t.Errorf("state %q, want %q (no answer within the wait)", st.State, wire.NotificationStateShown)
	}
	// Polls start at least MinNotificationPoll apart within the wait.
	if n, most := polls.Load(), int64(wait/client.MinNotificationPoll)+1; n < 1 || n > most {
		t.Errorf("the agent was polled %d times in %v, want 1 to %d", n, wait, most)
	}
}

// The user can only have chosen an action the notification offered, or clicked the
// notification itself ("default"); any other action an agent reports is an invalid
// answer, never the user's choice.
func TestNotifyRefusesAnActionThatWasNotOffered(t *testing.T) {
	offered := []wire.NotificationAction{{ID: "close", Label: "Close"}, {ID: "later", Label: "Later"}}
	for _, tc := range []struct {
		action string
		valid  bool
	}{
		{"later", true},
		{"default", true},
		{"rm-rf", false},
		{"", false},
		{"Close", false},
	} {
		t.Run(fmt.Sprintf("%q", tc.action), func(t *testing.T) {
			c, uid := selfAgent(t, realAgent(sessionagent.Config{Notifications: &clienttest.Notifications{
				Answer: func(st notification.Status) notification.Status {
					st.State, st.Action = notification.StateAction, tc.action
					return st
				},
			}}))
			res, err := c.Notify(t.Context(), client.UIDs(uid), wire.Notification{Title: "t", Actions: offered}, time.Minute)
			o := only(t, res, err)
			err = o.Err
			if tc.valid {
				if err != nil || o.Result.Action != tc.action {
					t.Errorf("outcome %+v, %v; want action %q", o.Result, err, tc.action)
				}
				return
			}
			var invalid *client.InvalidResponseError
			if !errors.As(err, &invalid) || !strings.Contains(err.Error(), fmt.Sprintf("for uid %d: ", uid)) ||
				!strings.Contains(err.Error(), fmt.Sprintf("action %q, which was not offered", tc.action)) {
				t.Errorf("error %v, want an invalid answer naming uid %d and the action", err, uid)
			}
		})
	}
}
