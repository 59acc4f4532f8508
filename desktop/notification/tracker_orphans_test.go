package notification

import (
	"testing"
)

// Which notification a freedesktop signal is about, whatever the order in which the
// server sent it and the tracker learnt of it (tracker_test.go has the helpers). In
// the steps, wire is the order the server sent the answers of Notify and the signals
// in; a replace is a post of an id already known, which asks the server to replace
// that notification's server ID.

// idState is what a test wants of a notification at the end.
type idState struct {
	id     string
	state  State
	action string
}

func TestTrackerOrphans(t *testing.T) {
	// closedA is notification a, server ID 7, posted and closed by a call.
	closedA := []step{{post: "a", serverID: 7, wire: 1}, {close: "a"}}
	for _, tc := range []struct {
		name  string
		steps []step
		want  []idState
	}{
		// New posts: the server gives a fresh ID, which named nothing before.
		{
			name:  "new: a signal sent after the answer, read before it, applies",
			steps: []step{{reserve: "a"}, {signal: StateDismissed, serverID: 7, wire: 2}, {answer: "a", serverID: 7, wire: 1}},
			want:  []idState{{"a", StateDismissed, ""}},
		}, {
			name:  "new: a signal sent before the answer names the fresh ID too",
			steps: []step{{reserve: "a"}, {signal: StateDismissed, serverID: 7, wire: 1}, {answer: "a", serverID: 7, wire: 2}},
			want:  []idState{{"a", StateDismissed, ""}},
		}, {
			name:  "new: an action it was offered applies",
			steps: []step{{reserve: "a"}, {signal: StateAction, action: "yes", serverID: 7, wire: 2}, {answer: "a", serverID: 7, actions: yesNo, wire: 1}},
			want:  []idState{{"a", StateAction, "yes"}},
		}, {
			name:  "new: an action it was not offered is dropped",
			steps: []step{{reserve: "a"}, {signal: StateAction, action: "maybe", serverID: 7, wire: 2}, {answer: "a", serverID: 7, actions: yesNo, wire: 1}},
			want:  []idState{{"a", StateShown, ""}},
		}, {
			name: "new: the first signal of an ID counts (dunst: ActionInvoked, then NotificationClosed)",
			steps: []step{{reserve: "a"}, {signal: StateAction, action: "yes", serverID: 7, wire: 2},
				{signal: StateDismissed, serverID: 7, wire: 3}, {answer: "a", serverID: 7, actions: yesNo, wire: 1}},
			want: []idState{{"a", StateAction, "yes"}},
		}, {
			name:  "a signal read before the post began is not about it",
			steps: []step{{signal: StateDismissed, serverID: 7, wire: 1}, {post: "a", serverID: 7, wire: 2}},
			want:  []idState{{"a", StateShown, ""}},
		}, {
			name: "a signal is adopted only by a post in flight when it was read",
			steps: []step{{reserve: "b"}, {signal: StateDismissed, serverID: 9, wire: 2}, {reserve: "a"},
				{answer: "a", serverID: 9, wire: 3}, {answer: "b", serverID: 8, wire: 1}},
			want: []idState{{"a", StateShown, ""}, {"b", StateShown, ""}},
		}, {
			name: "a signal is dropped once the posts in flight when it was read are answered",
			steps: []step{{reserve: "b"}, {signal: StateDismissed, serverID: 9, wire: 2}, {answer: "b", serverID: 8, wire: 1},
				{post: "a", serverID: 9, wire: 3}},
			want: []idState{{"a", StateShown, ""}, {"b", StateShown, ""}},
		}, {
			name: "a signal is dropped once the posts in flight when it was read failed",
			steps: []step{{reserve: "a"}, {signal: StateDismissed, serverID: 9, wire: 1}, {fail: "a"},
				{post: "b", serverID: 9, wire: 2}},
			want: []idState{{"b", StateShown, ""}},
		}, {
			name: "a signal is adopted once",
			steps: []step{{reserve: "a"}, {reserve: "b"}, {signal: StateExpired, serverID: 7, wire: 3},
				{answer: "a", serverID: 7, wire: 1}, {answer: "b", serverID: 7, wire: 2}},
			want: []idState{{"a", StateExpired, ""}, {"b", StateShown, ""}},
		}, {
			name: "a signal for a shown notification applies to it",
			steps: []step{{post: "a", serverID: 7, wire: 1}, {reserve: "b"}, {signal: StateExpired, serverID: 7, wire: 2},
				{answer: "b", serverID: 8, wire: 3}},
			want: []idState{{"a", StateExpired, ""}, {"b", StateShown, ""}},
		}, {
			name: "only the newest signals are kept",
			steps: append(append([]step{{reserve: "first"}, {reserve: "last"}}, orphanSignals(maxOrphans+1)...),
				step{answer: "first", serverID: 1}, step{answer: "last", serverID: maxOrphans + 1}),
			want: []idState{{"first", StateShown, ""}, {"last", StateExpired, ""}},
		}, {
			name:  "a new server's IDs say nothing of the old server's",
			steps: []step{{reserve: "a"}, {signal: StateDismissed, serverID: 7, wire: 2}, {forgetOrphan: true}, {answer: "a", serverID: 7, wire: 1}},
			want:  []idState{{"a", StateShown, ""}},
		}, {
			name:  "a GTK notification takes no freedesktop signal",
			steps: []step{{reserve: "a", gtk: true}, {signal: StateDismissed, wire: 2}, {answer: "a", gtk: true, wire: 1}},
			want:  []idState{{"a", StateShown, ""}},
		},

		// Replaces answered with the replaced ID (the specification's rule; dunst
		// even when that notification was closed): the server's signal about the
		// closed one (NotificationClosed, reason 3, after a Close) was sent before the
		// answer, one about the replacement after it.
		{
			name:  "reused: the close signal read before the re-post is not about it",
			steps: append(closedA, step{signal: StateClosed, serverID: 7, wire: 2}, step{post: "a", serverID: 7, wire: 3}),
			want:  []idState{{"a", StateShown, ""}},
		}, {
			name:  "reused: nor when read while the re-post is in flight",
			steps: append(closedA, step{reserve: "a"}, step{signal: StateClosed, serverID: 7, wire: 2}, step{answer: "a", serverID: 7, wire: 3}),
			want:  []idState{{"a", StateShown, ""}},
		}, {
			name:  "reused: nor when read after the re-post was recorded",
			steps: append(closedA, step{post: "a", serverID: 7, wire: 3}, step{signal: StateClosed, serverID: 7, wire: 2}),
			want:  []idState{{"a", StateShown, ""}},
		}, {
			name: "reused: a signal sent after the answer, read before it, is about the replacement",
			steps: append(closedA, step{signal: StateClosed, serverID: 7, wire: 2}, step{reserve: "a"},
				step{signal: StateDismissed, serverID: 7, wire: 4}, step{answer: "a", serverID: 7, wire: 3}),
			want: []idState{{"a", StateDismissed, ""}},
		}, {
			name: "reused: also when the close signal was read in the same flight",
			steps: append(closedA, step{reserve: "a"}, step{signal: StateClosed, serverID: 7, wire: 2},
				step{signal: StateDismissed, serverID: 7, wire: 4}, step{answer: "a", serverID: 7, wire: 3}),
			want: []idState{{"a", StateDismissed, ""}},
		}, {
			name:  "reused: the end of a shown notification racing its replace is not the replacement's",
			steps: []step{{post: "a", serverID: 7, wire: 1}, {reserve: "a"}, {signal: StateDismissed, serverID: 7, wire: 2}, {answer: "a", serverID: 7, wire: 3}},
			want:  []idState{{"a", StateShown, ""}},
		}, {
			name:  "reused: nor when read after the replacement was recorded",
			steps: []step{{post: "a", serverID: 7, wire: 1}, {reserve: "a"}, {answer: "a", serverID: 7, wire: 3}, {signal: StateDismissed, serverID: 7, wire: 2}},
			want:  []idState{{"a", StateShown, ""}},
		}, {
			name:  "reused: a signal sent after the answer of a shown one's replace, read before it, is the replacement's",
			steps: []step{{post: "a", serverID: 7, wire: 1}, {reserve: "a"}, {signal: StateDismissed, serverID: 7, wire: 3}, {answer: "a", serverID: 7, wire: 2}},
			want:  []idState{{"a", StateDismissed, ""}},
		}, {
			name: "reused: a replace and a new post in flight: the replaced ID's later signal is the replace's",
			steps: append(closedA, step{reserve: "a"}, step{reserve: "b"}, step{signal: StateDismissed, serverID: 7, wire: 4},
				step{answer: "b", serverID: 8, wire: 2}, step{answer: "a", serverID: 7, wire: 3}),
			want: []idState{{"a", StateDismissed, ""}, {"b", StateShown, ""}},
		},

		// Replaces answered with a fresh ID (servers that do not revive the ID of a
		// notification gone).
		{
			name: "fresh: a signal naming the new ID is about the replacement",
			steps: append(closedA, step{signal: StateClosed, serverID: 7, wire: 2}, step{reserve: "a"},
				step{signal: StateExpired, serverID: 8, wire: 3}, step{answer: "a", serverID: 8, wire: 4}),
			want: []idState{{"a", StateExpired, ""}},
		}, {
			name:  "fresh: one naming the replaced ID is not",
			steps: append(closedA, step{reserve: "a"}, step{signal: StateClosed, serverID: 7, wire: 2}, step{answer: "a", serverID: 8, wire: 3}),
			want:  []idState{{"a", StateShown, ""}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, c := newTestTracker(DefaultMaxTracked)
			run(t, tr, c, tc.steps)
			for _, w := range tc.want {
				st, err := tr.status(w.id)
				if err != nil || st.State != w.state || st.Action != w.action {
					t.Errorf("%s: %+v, %v; want %s %q", w.id, st, err, w.state, w.action)
				}
			}
			// With no post in flight, no signal can still be about one.
			if len(tr.orphans) != 0 {
				t.Errorf("%d signals kept with no post in flight", len(tr.orphans))
			}
		})
	}
}

// orphanSignals are n expiries of server IDs 1 to n, for notifications not answered
// yet.
func orphanSignals(n int) []step {
	var steps []step
	for i := 1; i <= n; i++ {
		steps = append(steps, step{signal: StateExpired, serverID: uint32(i)})
	}
	return steps
}
