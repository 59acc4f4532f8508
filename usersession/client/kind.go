package client

import "errors"

// Kind classifies an outcome by its error, in words stable enough for scripts (the
// "kind" of `snap sessions --json`).
type Kind string

// Outcome kinds.
const (
	KindOK             Kind = "ok"
	KindAgentError     Kind = "agent-error"
	KindTimeout        Kind = "timeout"
	KindTransportError Kind = "transport-error"
	// KindRefused: the process serving the agent's socket is not the user's, or
	// the one serving the user's manager socket is not the user's manager.
	KindRefused         Kind = "refused"
	KindUnsafeSocket    Kind = "unsafe-socket"
	KindNoAgent         Kind = "no-agent"
	KindInvalidResponse Kind = "invalid-response"
	// KindNoSession: the socket was left behind by a session that is gone.
	KindNoSession Kind = "no-session"
	// KindBrokenAgent: the user's manager runs but the agent socket is broken, and
	// it was not (or could not be) repaired.
	KindBrokenAgent Kind = "broken-agent"
	// KindUnsupported: the agent does not know an option of the request.
	KindUnsupported Kind = "unsupported"
)

// kinded is an error that says its own kind. Every typed cause of this package is one;
// an error that wraps others and knows better than they do what went wrong (a failed
// repair, a session that is gone) says so itself.
type kinded interface {
	error
	Kind() Kind
}

// KindOf classifies an outcome's error: nil is KindOK, and otherwise the outermost
// error in err's chain that says its kind decides (see errors.As for the order); an
// error none of whose chain does is KindTransportError.
func KindOf(err error) Kind {
	if err == nil {
		return KindOK
	}
	if k, ok := errors.AsType[kinded](err); ok {
		return k.Kind()
	}
	return KindTransportError
}
