package main

import (
	"slices"
	"testing"

	"github.com/snapcore-ng/usersession-agent/usersession/client/clienttest"
	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

func TestNotificationTableSaysWhatEachUserDid(t *testing.T) {
	for _, tc := range []struct {
		waited, actions bool
		st              wire.NotificationStatus
		want            []string
	}{
		{false, false, wire.NotificationStatus{ID: "refresh:firefox", State: "shown", ActionsShown: false}, []string{"refresh:firefox", "shown"}},
		{true, true, wire.NotificationStatus{ID: "a1", State: "action", Action: "later", ActionsShown: true}, []string{"a1", "action: later"}},
		{true, true, wire.NotificationStatus{ID: "a1", State: "shown", ActionsShown: true}, []string{"a1", "no answer"}},
		{true, true, wire.NotificationStatus{ID: "a1", State: "dismissed", ActionsShown: true}, []string{"a1", "dismissed"}},
		{true, true, wire.NotificationStatus{ID: "a1", State: "shown"}, []string{"a1", "no answer (server shows no actions)"}},
		{true, true, wire.NotificationStatus{ID: "a1", State: "action", Action: "\x1b[2J", ActionsShown: true}, []string{"a1", `action: \x1b[2J`}},
		// snapd's agents answer null: no id, no state.
		{false, false, wire.NotificationStatus{}, []string{"-", "-"}},
	} {
		rows := notificationTable(tc.waited, tc.actions).rows(tc.st)
		if len(rows) != 1 || !slices.Equal(rows[0], tc.want) {
			t.Errorf("%+v (waited %v, actions %v): %q, want %q", tc.st, tc.waited, tc.actions, rows, tc.want)
		}
	}
}

func TestBadActionsAreRefusedBeforeAnyCall(t *testing.T) {
	for _, v := range []string{"yes", ":Yes", "yes:", ""} {
		if _, err := parseActions([]string{v}); err == nil {
			t.Errorf("--action=%q accepted", v)
		}
	}
	got, err := parseActions([]string{"yes:Yes: do it", "no:No"})
	if err != nil || len(got) != 2 || got[0].ID != "yes" || got[0].Label != "Yes: do it" {
		t.Fatalf("%+v, %v", got, err)
	}
}

func TestNotifyWaitRefusesAnActionNeverOfferedNamingTheUser(t *testing.T) {
	sessionsFleet(t, map[int]string{65534: clienttest.NotifyBogusAction})
	stdout, stderr, status := runSnap(t, "sessions", "notify", "--users=nobody", "--action=close:Close", "--wait=10s", "Update", "Close the app")
	if status != 1 {
		t.Errorf("exit status %d, want 1", status)
	}
	if want := "UID    User    ID  State\n65534  nobody  -   error: invalid response\n"; stdout != want {
		t.Errorf("table %q, want %q", stdout, want)
	}
	want := `error: cannot notify for user nobody (uid 65534): invalid response (HTTP status 200): the agent reported action "` + clienttest.BogusAction + `", which was not offered` + "\n"
	if stderr != want {
		t.Errorf("stderr %q, want %q", stderr, want)
	}
}
