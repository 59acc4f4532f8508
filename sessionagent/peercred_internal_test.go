package sessionagent

import "testing"

func TestPeerAllowed(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		peer  uint32
		own   uint32
		allow bool
	}{
		{"root talks to a user's agent", 0, 1000, true},
		{"the user talks to their own agent", 1000, 1000, true},
		{"a third user is refused", 1001, 1000, false},
		{"nobody is refused", 65534, 1000, false},
		{"root's own agent refuses users", 1000, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := peerAllowed(PeerCred{UID: tc.peer}, tc.own); got != tc.allow {
				t.Errorf("peerAllowed(uid %d, own %d) = %v, want %v", tc.peer, tc.own, got, tc.allow)
			}
		})
	}
}
