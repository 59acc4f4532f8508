package client_test

import (
	"errors"
	"fmt"
	"syscall"
	"testing"

	"github.com/snapcore-ng/usersession-agent/usersession/client"
)

// Every typed cause says its own kind, whatever wraps it; a failed repair says
// refused when what it refused was the user's manager, and a gone session says so
// whatever its agent's socket said.
func TestEveryErrorSaysItsKind(t *testing.T) {
	refusedManager := &client.ManagerIdentityError{Path: "/run/user/1000/systemd/private", PID: 42, Reason: "runs /bin/sh, not systemd"}
	connRefused := &client.TransportError{Op: "connect", Err: syscall.ECONNREFUSED}
	noAgent := &client.NoAgentError{Path: "/run/user/1000/snapd-session-agent.socket"}
	for _, tc := range []struct {
		err     error
		kind    client.Kind
		refused bool
	}{
		{nil, client.KindOK, false},
		{&client.AgentError{Status: 500, AgentKind: "service-control"}, client.KindAgentError, false},
		{&client.TimeoutError{Phase: client.PhaseHeaders}, client.KindTimeout, false},
		{connRefused, client.KindTransportError, false},
		{&client.TransportError{Op: "send request", Err: &client.UnsafeSocketError{Reason: "a symlink since discovery"}}, client.KindUnsafeSocket, true},
		{&client.IdentityError{PeerUID: 0}, client.KindRefused, true},
		{&client.UnsafeSocketError{Path: "p", Reason: "r"}, client.KindUnsafeSocket, true},
		{&client.UnsupportedError{Option: "disable"}, client.KindUnsupported, false},
		{noAgent, client.KindNoAgent, false},
		{&client.InvalidResponseError{Status: 200, Err: &client.ResponseTooLargeError{Limit: 1}}, client.KindInvalidResponse, false},
		{&client.NoManagerError{Reason: "nothing serves it"}, client.KindNoSession, false},
		{refusedManager, client.KindRefused, true},
		{&client.NoSessionError{Cause: connRefused, Manager: &client.NoManagerError{}}, client.KindNoSession, false},
		{&client.RepairError{Cause: noAgent}, client.KindBrokenAgent, false},
		{&client.RepairError{Cause: connRefused, Err: errors.New("cannot restart")}, client.KindBrokenAgent, false},
		{&client.RepairError{Cause: connRefused, Err: &client.UnsafeSocketError{Manager: true}}, client.KindBrokenAgent, false},
		{&client.RepairError{Cause: noAgent, Err: fmt.Errorf("cannot connect: %w", refusedManager)}, client.KindRefused, true},
		{errors.New("cannot encode request"), client.KindTransportError, false},
	} {
		errs := []error{tc.err}
		if tc.err != nil {
			errs = append(errs, &client.SessionError{UID: 1000, Op: "get session info", Err: tc.err})
		}
		for _, err := range errs {
			if got := client.KindOf(err); got != tc.kind {
				t.Errorf("KindOf(%#v) = %s, want %s", err, got, tc.kind)
			}
			if got := client.IsRefused(err); got != tc.refused {
				t.Errorf("IsRefused(%v) = %v, want %v", err, got, tc.refused)
			}
		}
	}
}
