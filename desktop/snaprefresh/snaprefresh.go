// Package snaprefresh writes the notifications snapd asks a session to show around a
// snap refresh: one while the refresh waits for a running app ("pending"), one when it
// is done ("finish"), both under one notification ID per snap so that the second
// replaces the first.
package snaprefresh

import (
	"fmt"
	"time"

	"github.com/snapcore-ng/usersession-agent/desktop/desktopentry"
	"github.com/snapcore-ng/usersession-agent/desktop/notification"
	"github.com/snapcore-ng/usersession-agent/internal/snapname"
)

// DefaultDesktopDir is where snapd writes the desktop entries of installed snaps.
const DefaultDesktopDir = "/var/lib/snapd/desktop/applications"

// DesktopEntry is the agent's own desktop entry (hint "desktop-entry"): the sender of
// these notifications, as in snapd.
const DesktopEntry = "io.snapcraft.SessionAgent"

// MaxTimeRemaining is the longest wait a pending refresh may announce. snapd refreshes
// a busy snap anyway after at most 14 days (its maximum refresh inhibition); a value
// past twice that is not a real refresh window and is refused.
const MaxTimeRemaining = 28 * 24 * time.Hour

// Pending is what snapd says of a refresh that waits for a running app
// (POST /v1/notifications/pending-refresh).
type Pending struct {
	InstanceName string
	// TimeRemaining is how long until snapd refreshes anyway; zero or negative means
	// now.
	TimeRemaining time.Duration
	// BusyAppName is the running app, used as the sender's name.
	BusyAppName string
	// BusyAppDesktopEntry names the app's entry in the desktop directory, for the
	// snap's display name and icon.
	BusyAppDesktopEntry string
}

// ID is the notification ID of the refresh of instance: pending and finish share it.
func ID(instance string) string {
	return "refresh:" + instance
}

// Lookup says how to name and draw an app: from its desktop entry in the desktop
// directory, in the user's locale.
type Lookup struct {
	DesktopDir string
	Locale     string
}

// displayName is "Name" for a snap without instance key and "Name (key)" with one.
func displayName(name, key string) string {
	if key == "" {
		return name
	}
	return fmt.Sprintf("%s (%s)", name, key)
}

// PendingMessage writes the notification of a pending refresh: the app's name and
// icon from its desktop entry (falling back to the instance name and no icon when
// the entry is missing or unreadable), the time left as a human duration, and an
// urgency that rises as it runs out: low with a day or more left, normal with an
// hour or more, critical below. A bad instance name, desktop entry name or time left
// is an error, and nothing is shown.
func (l Lookup) PendingMessage(p Pending) (*notification.Message, error) {
	if err := snapname.ValidateInstance(p.InstanceName); err != nil {
		return nil, err
	}
	if p.TimeRemaining > MaxTimeRemaining {
		return nil, fmt.Errorf("invalid time remaining %v: longer than any refresh waits (%v)", p.TimeRemaining, MaxTimeRemaining)
	}
	if p.BusyAppDesktopEntry != "" && !desktopentry.ValidName(p.BusyAppDesktopEntry) {
		return nil, fmt.Errorf("invalid busy app desktop entry %q", p.BusyAppDesktopEntry)
	}
	snap, key := snapname.Split(p.InstanceName)
	name, icon := snap, ""
	if p.BusyAppDesktopEntry != "" {
		// A missing or unreadable entry costs the name and icon, not the
		// notification.
		if e, err := desktopentry.Read(l.DesktopDir, p.BusyAppDesktopEntry, l.Locale); err == nil {
			if e.Name != "" {
				name = e.Name
			}
			icon = e.Icon
		}
	}
	name = displayName(name, key)

	msg := &notification.Message{
		AppName:      p.BusyAppName,
		Icon:         icon,
		DesktopEntry: DesktopEntry,
	}
	left := p.TimeRemaining
	switch {
	case left >= 24*time.Hour:
		msg.Urgency = notification.UrgencyLow
	case left >= time.Hour:
		msg.Urgency = notification.UrgencyNormal
	default:
		msg.Urgency = notification.UrgencyCritical
	}
	if left < time.Minute {
		msg.Title = fmt.Sprintf("%s is being updated now", name)
		msg.Body = "Save your work: the app may close during the update."
		return msg, nil
	}
	msg.Title = fmt.Sprintf("Update available for %s", name)
	msg.Body = fmt.Sprintf("Close the app to update it now. It will be updated automatically in %s.", HumanDuration(left))
	return msg, nil
}

// FinishMessage writes the notification of a finished refresh, which replaces the
// pending one.
func FinishMessage(instance string) (*notification.Message, error) {
	if err := snapname.ValidateInstance(instance); err != nil {
		return nil, err
	}
	snap, key := snapname.Split(instance)
	return &notification.Message{
		Title:        fmt.Sprintf("%s was updated", displayName(snap, key)),
		Body:         "You can start it again now.",
		Urgency:      notification.UrgencyLow,
		DesktopEntry: DesktopEntry,
	}, nil
}

// HumanDuration says d in its largest whole unit, rounded down: "3 days", "1 hour",
// "12 minutes", or "less than a minute" (also for zero and negative durations).
func HumanDuration(d time.Duration) string {
	plural := func(n int64, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return fmt.Sprintf("%d %ss", n, unit)
	}
	switch {
	case d >= 24*time.Hour:
		return plural(int64(d/(24*time.Hour)), "day")
	case d >= time.Hour:
		return plural(int64(d/time.Hour), "hour")
	case d >= time.Minute:
		return plural(int64(d/time.Minute), "minute")
	}
	return "less than a minute"
}
