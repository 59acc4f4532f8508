package notification

import (
	"fmt"
	"time"
	"unicode/utf8"
)

// Urgency is the freedesktop urgency level (hint "urgency", a byte); the GTK backend
// maps it to a priority.
type Urgency byte

const (
	UrgencyLow      Urgency = 0
	UrgencyNormal   Urgency = 1
	UrgencyCritical Urgency = 2
)

// String is the urgency's name in the API: low, normal or critical.
func (u Urgency) String() string {
	switch u {
	case UrgencyLow:
		return "low"
	case UrgencyNormal:
		return "normal"
	case UrgencyCritical:
		return "critical"
	}
	return fmt.Sprintf("urgency(%d)", byte(u))
}

// ParseUrgency reads an urgency name; empty means normal.
func ParseUrgency(s string) (Urgency, error) {
	switch s {
	case "", "normal":
		return UrgencyNormal, nil
	case "low":
		return UrgencyLow, nil
	case "critical":
		return UrgencyCritical, nil
	}
	return 0, invalidf("cannot use urgency %q: want low, normal or critical", s)
}

// Action is a button of a notification: ID is what comes back when the user picks
// it, Label what the user reads. The action with ID DefaultAction is a click on the
// notification itself where the server supports it.
type Action struct {
	ID    string `json:"id"`
	Label string `json:"label"`
}

// DefaultAction is the ID of the action a click on the notification chooses (the
// freedesktop "default" action key, GTK's default action).
const DefaultAction = "default"

// Message is one notification.
type Message struct {
	// AppName names the sender (freedesktop app_name); empty means the manager's.
	AppName string
	Title   string
	Body    string
	// Icon is a themed icon name or an absolute file path.
	Icon    string
	Urgency Urgency
	// DesktopEntry is the sender's desktop file name without ".desktop" (hint
	// "desktop-entry"); empty means none.
	DesktopEntry string
	// Category is the freedesktop category (hint "category"), such as
	// "x-snapcraft.refresh"; empty means none.
	Category string
	Actions  []Action
	// Expire is how long the server shows the notification; zero means the server's
	// default. Whole milliseconds are sent.
	Expire time.Duration
}

// Limits of a Message, chosen so that a notification fits a screen and a request
// stays small.
const (
	MaxTitle   = 256
	MaxBody    = 4096
	MaxIcon    = 4096
	MaxActions = 8
	MaxLabel   = 64
	MaxExpire  = 24 * time.Hour
)

// validActionID says whether id may be an action ID: 1 to 64 ASCII letters, digits,
// '.', '_' or '-', starting with a letter or digit. It travels as a freedesktop action
// key and inside a GTK action target, and comes back to root verbatim. (A loop, not a
// regexp: regexp costs the agent's idle memory more than this saves in reading.)
func validActionID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i, c := range []byte(id) {
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || (c != '.' && c != '_' && c != '-')) {
			return false
		}
	}
	return true
}

// Validate checks msg against the limits; a fault is an *Error of kind KindInvalid.
func (msg *Message) Validate() error {
	text := func(what, s string, max int) error {
		switch {
		case !utf8.ValidString(s):
			return invalidf("cannot use %s: not valid UTF-8", what)
		case len(s) > max:
			return invalidf("cannot use %s: longer than %d bytes", what, max)
		}
		return nil
	}
	if msg.Title == "" {
		return invalidf("cannot use notification: no title")
	}
	for _, f := range []struct {
		what, s string
		max     int
	}{
		{"title", msg.Title, MaxTitle},
		{"body", msg.Body, MaxBody},
		{"icon", msg.Icon, MaxIcon},
		{"app name", msg.AppName, MaxTitle},
		{"desktop entry", msg.DesktopEntry, MaxTitle},
		{"category", msg.Category, MaxTitle},
	} {
		if err := text(f.what, f.s, f.max); err != nil {
			return err
		}
	}
	if msg.Urgency > UrgencyCritical {
		return invalidf("cannot use urgency %d: want 0 to 2", msg.Urgency)
	}
	if msg.Expire < 0 || msg.Expire > MaxExpire {
		return invalidf("cannot use expiry %v: want 0 (server default) to %v", msg.Expire, MaxExpire)
	}
	if len(msg.Actions) > MaxActions {
		return invalidf("cannot use %d actions: at most %d", len(msg.Actions), MaxActions)
	}
	seen := make(map[string]bool, len(msg.Actions))
	for _, a := range msg.Actions {
		switch {
		case !validActionID(a.ID):
			return invalidf("cannot use action id %q: want 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit", a.ID)
		case seen[a.ID]:
			return invalidf("cannot use action id %q twice", a.ID)
		case a.Label == "":
			return invalidf("cannot use action %q: no label", a.ID)
		}
		if err := text("label of action "+a.ID, a.Label, MaxLabel); err != nil {
			return err
		}
		seen[a.ID] = true
	}
	return nil
}
