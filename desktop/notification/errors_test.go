package notification_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/snapcore-ng/usersession-agent/desktop/notification"
	"github.com/snapcore-ng/usersession-agent/testkit/dbustest"
)

func TestNoServerIsAnErrorOfItsOwnKind(t *testing.T) {
	bus := dbustest.Start(t)
	m := newManager(t, bus, notification.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := m.Post(ctx, "x", &notification.Message{Title: "hello"})
	if kindOf(err) != notification.KindNoServer {
		t.Fatalf("post without a server: %v (kind %q), want kind %q", err, kindOf(err), notification.KindNoServer)
	}
	if _, err := m.Status("x"); kindOf(err) != notification.KindUnknown {
		t.Fatalf("a failed post is remembered: %v", err)
	}
}

func TestActivatableServerThatExitsIsNoServer(t *testing.T) {
	bus := dbustest.Start(t)
	bus.AddService(t, "org.freedesktop.Notifications", "/bin/false")
	m := newManager(t, bus, notification.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := m.Post(ctx, "x", &notification.Message{Title: "hello"})
	if kindOf(err) != notification.KindNoServer {
		t.Fatalf("post to a server that exits at start: %v (kind %q), want %q", err, kindOf(err), notification.KindNoServer)
	}
}

// A server that D-Bus activation starts but that never takes its name (dunst without
// a display, under systemd) holds a call for dbus-daemon's 120 s start timeout; the
// manager's deadline answers first.
func TestActivatableServerThatNeverStartsHitsTheDeadline(t *testing.T) {
	bus := dbustest.Start(t)
	bus.AddService(t, "org.freedesktop.Notifications", "/bin/sleep 150")
	const timeout = 2 * time.Second
	m := newManager(t, bus, notification.Config{CallTimeout: timeout})
	start := time.Now()
	_, err := m.Post(context.Background(), "x", &notification.Message{Title: "hello"})
	t.Logf("post to a server that never starts failed after %v (deadline %v): %v", time.Since(start), timeout, err)
	if kindOf(err) != notification.KindTimeout || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v (kind %q), want kind %q from the manager's own deadline", err, kindOf(err), notification.KindTimeout)
	}
}

func TestBadMessagesAreRefusedBeforeTheBus(t *testing.T) {
	long := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = 'a'
		}
		return string(b)
	}
	actions := func(n int) []notification.Action {
		var as []notification.Action
		for i := range n {
			as = append(as, notification.Action{ID: "a" + long(i%3+1) + string(rune('a'+i)), Label: "x"})
		}
		return as
	}
	for _, tc := range []struct {
		name string
		msg  notification.Message
	}{
		{"no title", notification.Message{}},
		{"long title", notification.Message{Title: long(notification.MaxTitle + 1)}},
		{"long body", notification.Message{Title: "t", Body: long(notification.MaxBody + 1)}},
		{"bad utf-8", notification.Message{Title: "t", Body: "\xff"}},
		{"bad urgency", notification.Message{Title: "t", Urgency: 3}},
		{"negative expiry", notification.Message{Title: "t", Expire: -time.Second}},
		{"long expiry", notification.Message{Title: "t", Expire: notification.MaxExpire + time.Second}},
		{"too many actions", notification.Message{Title: "t", Actions: actions(notification.MaxActions + 1)}},
		{"bad action id", notification.Message{Title: "t", Actions: []notification.Action{{ID: "-x", Label: "x"}}}},
		{"action id with space", notification.Message{Title: "t", Actions: []notification.Action{{ID: "a b", Label: "x"}}}},
		{"duplicate action", notification.Message{Title: "t", Actions: []notification.Action{{ID: "a", Label: "x"}, {ID: "a", Label: "y"}}}},
		{"no label", notification.Message{Title: "t", Actions: []notification.Action{{ID: "a"}}}},
		{"long label", notification.Message{Title: "t", Actions: []notification.Action{{ID: "a", Label: long(notification.MaxLabel + 1)}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.msg.Validate(); kindOf(err) != notification.KindInvalid {
				t.Fatalf("Validate: %v, want kind %q", err, notification.KindInvalid)
			}
		})
	}
	ok := notification.Message{Title: "t", Actions: actions(notification.MaxActions)}
	if err := ok.Validate(); err != nil {
		t.Fatalf("a message at the limits is refused: %v", err)
	}
}
