package notification

import "fmt"

// Kind says what went wrong, for callers that answer differently per kind.
type Kind string

const (
	// KindInvalid: the message or id breaks a rule or limit; nothing was shown.
	KindInvalid Kind = "invalid"
	// KindUnknown: no notification has that id (it never existed here, was forgotten,
	// or belongs to an earlier run of the process).
	KindUnknown Kind = "unknown"
	// KindTooMany: too many notifications are still open.
	KindTooMany Kind = "too-many"
	// KindNoServer: no notification server runs on the bus, and none can be activated.
	KindNoServer Kind = "no-server"
	// KindServer: the server answered with an error.
	KindServer Kind = "server"
	// KindTimeout: the server did not answer within the call's deadline (hung, or
	// D-Bus-activatable but unable to start).
	KindTimeout Kind = "timeout"
)

// Error is an error of this package with its Kind.
type Error struct {
	Kind    Kind
	Message string
	Err     error
}

func (e *Error) Error() string { return e.Message }
func (e *Error) Unwrap() error { return e.Err }

func invalidf(format string, args ...any) *Error {
	return &Error{Kind: KindInvalid, Message: fmt.Sprintf(format, args...)}
}

func unknown(id string) *Error {
	return &Error{Kind: KindUnknown, Message: fmt.Sprintf("cannot find notification %q: unknown here (ids do not survive a restart of the agent)", id)}
}
