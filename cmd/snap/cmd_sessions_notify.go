package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/snapcore-ng/usersession-agent/usersession/client"
	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

type cmdSessionsNotify struct {
	sessionsOptions
	Icon    string        `long:"icon" value-name:"<icon>" description:"Themed icon name or absolute path of an image"`
	Urgency string        `long:"urgency" value-name:"low|normal|critical" description:"How urgent the notification is (default normal)"`
	Actions []string      `long:"action" value-name:"<id>:<label>" description:"Offer a button; its id is reported when the user picks it (repeatable)"`
	Expiry  time.Duration `long:"expire" value-name:"<duration>" description:"Take the notification down after this long (default: the server's choice)"`
	Wait    time.Duration `long:"wait" optional:"yes" optional-value:"10m" value-name:"<duration>" description:"Wait this long (10m without a value) for each user's answer and report it"`

	Positional struct {
		Title string `positional-arg-name:"<title>" required:"yes"`
		Body  string `positional-arg-name:"<body>"`
	} `positional-args:"yes"`
}

// parseActions reads --action values, ID:LABEL.
func parseActions(values []string) ([]wire.NotificationAction, error) {
	var actions []wire.NotificationAction
	for _, v := range values {
		id, label, ok := strings.Cut(v, ":")
		if !ok || id == "" || label == "" {
			return nil, fmt.Errorf("cannot use --action=%q: want ID:LABEL", v)
		}
		actions = append(actions, wire.NotificationAction{ID: id, Label: label})
	}
	return actions, nil
}

func (c *cmdSessionsNotify) Execute(args []string) error {
	if err := noArgs(args); err != nil {
		return err
	}
	actions, err := parseActions(c.Actions)
	if err != nil {
		return err
	}
	n := wire.Notification{
		Title:   c.Positional.Title,
		Body:    c.Positional.Body,
		Icon:    c.Icon,
		Urgency: c.Urgency,
		Actions: actions,
		Expiry:  c.Expiry,
	}
	return runSessions(&c.sessionsOptions, func(cl *client.Client, ctx context.Context, t client.Targets) (*client.Results[wire.NotificationStatus], error) {
		return cl.Notify(ctx, t, n, c.Wait)
	}, notificationTable(c.Wait > 0, len(actions) > 0))
}

// notificationTable shows each session's notification id and what became of it:
// the chosen action, dismissed, expired, closed, server gone; "no answer" when a wait
// ended with the notification still shown.
func notificationTable(waited, withActions bool) table[wire.NotificationStatus] {
	return table[wire.NotificationStatus]{
		headers: []string{"ID", "State"},
		rows: func(st wire.NotificationStatus) [][]string {
			state := printable(st.State)
			switch {
			case st.State == wire.NotificationStateAction:
				state = "action: " + printable(st.Action)
			case st.State == wire.NotificationStateShown && waited:
				state = "no answer"
			}
			if withActions && !st.ActionsShown && st.State != "" {
				state += " (server shows no actions)"
			}
			return [][]string{{orDash(printable(st.ID)), orDash(state)}}
		},
	}
}

// The refresh notifications go without the exit hint: the finish replaces the
// pending one through the server's id for it, which only the agent that posted it
// knows. A refresh that follows soon after the pending notification (the user closed
// the app) must reach that agent, or both notifications would stay on screen.
type cmdSessionsPendingRefresh struct {
	sessionsOptions
	TimeRemaining time.Duration `long:"time-remaining" value-name:"<duration>" description:"How long until the snap is refreshed anyway (0 means now)"`
	BusyApp       string        `long:"busy-app" value-name:"<app>" description:"Name of the running app that holds the refresh"`
	DesktopEntry  string        `long:"busy-desktop-entry" value-name:"<entry>" description:"Desktop entry of that app (file name without .desktop), for its name and icon"`
	Positional    struct {
		Snap string `positional-arg-name:"<snap>" required:"yes"`
	} `positional-args:"yes" required:"yes"`
}

func (c *cmdSessionsPendingRefresh) Execute(args []string) error {
	if err := noArgs(args); err != nil {
		return err
	}
	info := wire.PendingRefreshInfo{
		InstanceName:        c.Positional.Snap,
		TimeRemaining:       c.TimeRemaining,
		BusyAppName:         c.BusyApp,
		BusyAppDesktopEntry: c.DesktopEntry,
	}
	c.lingerAgents = true
	return runSessions(&c.sessionsOptions, func(cl *client.Client, ctx context.Context, t client.Targets) (*client.Results[wire.NotificationStatus], error) {
		return cl.PendingRefreshNotification(ctx, t, info)
	}, notificationTable(false, false))
}

type cmdSessionsFinishRefresh struct {
	sessionsOptions
	Positional struct {
		Snap string `positional-arg-name:"<snap>" required:"yes"`
	} `positional-args:"yes" required:"yes"`
}

func (c *cmdSessionsFinishRefresh) Execute(args []string) error {
	if err := noArgs(args); err != nil {
		return err
	}
	info := wire.FinishRefreshInfo{InstanceName: c.Positional.Snap}
	c.lingerAgents = true
	return runSessions(&c.sessionsOptions, func(cl *client.Client, ctx context.Context, t client.Targets) (*client.Results[wire.NotificationStatus], error) {
		return cl.FinishRefreshNotification(ctx, t, info)
	}, notificationTable(false, false))
}
