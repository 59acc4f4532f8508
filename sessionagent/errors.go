package sessionagent

import (
	"errors"
	"net/http"
	"os"

	"github.com/snapcore-ng/usersession-agent/desktop/notification"
	"github.com/snapcore-ng/usersession-agent/internal/apierror"
	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

// statusByKind is the HTTP status of each well-known error kind. Any other kind is a
// backend's own failure ("service-control", "app-control", ...) and is answered 500, as
// snapd's agent answers its kinds: a new backend needs no entry here.
var statusByKind = map[string]int{
	wire.ErrorKindBadRequest:         http.StatusBadRequest,
	wire.ErrorKindForbidden:          http.StatusForbidden,
	wire.ErrorKindNotFound:           http.StatusNotFound,
	wire.ErrorKindMethodNotAllowed:   http.StatusMethodNotAllowed,
	wire.ErrorKindRequestTooLarge:    http.StatusRequestEntityTooLarge,
	wire.ErrorKindUnsupportedMedia:   http.StatusUnsupportedMediaType,
	wire.ErrorKindInternal:           http.StatusInternalServerError,
	wire.ErrorKindTooManyConnections: http.StatusServiceUnavailable,
	wire.ErrorKindManagerTimeout:     http.StatusGatewayTimeout,
	wire.ErrorKindAgentExiting:       http.StatusServiceUnavailable,

	wire.ErrorKindNoSessionBus:         http.StatusServiceUnavailable,
	wire.ErrorKindUnknownNotification:  http.StatusNotFound,
	wire.ErrorKindTooManyNotifications: http.StatusTooManyRequests,
	wire.ErrorKindNoNotificationServer: http.StatusServiceUnavailable,
	wire.ErrorKindNotificationServer:   http.StatusBadGateway,
	wire.ErrorKindNotificationTimeout:  http.StatusGatewayTimeout,
}

// kindByNotificationKind is the wire kind of each kind of *notification.Error (whose
// status is then statusByKind's): the notification backend keeps kinds of its own,
// since package notification knows nothing of the wire, and they are translated here
// once. A kind missing here is answered as an internal error.
var kindByNotificationKind = map[notification.Kind]string{
	notification.KindInvalid:  wire.ErrorKindBadRequest,
	notification.KindUnknown:  wire.ErrorKindUnknownNotification,
	notification.KindTooMany:  wire.ErrorKindTooManyNotifications,
	notification.KindNoServer: wire.ErrorKindNoNotificationServer,
	notification.KindServer:   wire.ErrorKindNotificationServer,
	notification.KindTimeout:  wire.ErrorKindNotificationTimeout,
}

// statusOverrides are the cases where a kind has another status, chosen by the error's
// cause; the first match wins.
var statusOverrides = []struct {
	kind   string // empty: any kind
	cause  error
	status int
}{
	// A body not received within Config.ReadBodyTimeout is the client's fault, but
	// 408 tells it that sending faster would have worked.
	{wire.ErrorKindBadRequest, os.ErrDeadlineExceeded, http.StatusRequestTimeout},
	{"", apierror.ErrUnavailable, http.StatusServiceUnavailable},
	{"", apierror.ErrTimeout, http.StatusGatewayTimeout},
}

// statusFor is the HTTP status that answers e.
func statusFor(e *apierror.Error) int {
	for _, o := range statusOverrides {
		if (o.kind == "" || o.kind == e.Kind) && errors.Is(e.Err, o.cause) {
			return o.status
		}
	}
	if status, ok := statusByKind[e.Kind]; ok {
		return status
	}
	return http.StatusInternalServerError
}

// ResponseForError answers err: an *apierror.Error (anywhere in its chain) with the
// status of its kind (statusFor), its kind, message and value; a *notification.Error
// the same way, with the wire kind of its kind (kindByNotificationKind); any other
// error as an internal error.
func ResponseForError(err error) Response {
	if e, ok := errors.AsType[*apierror.Error](err); ok {
		return errorResponse(e)
	}
	if e, ok := errors.AsType[*notification.Error](err); ok {
		kind, known := kindByNotificationKind[e.Kind]
		if !known {
			kind = wire.ErrorKindInternal
		}
		return errorResponse(&apierror.Error{Kind: kind, Message: e.Message, Err: err})
	}
	return InternalError("%v", err)
}

// errorResponse answers e in the envelope of wire.Response.
func errorResponse(e *apierror.Error) *jsonResponse {
	return &jsonResponse{
		status: statusFor(e),
		typ:    wire.ResponseTypeError,
		result: &wire.ErrorResult{Message: e.Message, Kind: e.Kind, Value: e.Value},
	}
}

// BadRequest answers 400, kind bad-request, with a formatted message.
func BadRequest(format string, args ...any) Response {
	return errorResponse(apierror.Errorf(wire.ErrorKindBadRequest, format, args...))
}

// InternalError answers 500, kind internal-error, with a formatted message.
func InternalError(format string, args ...any) Response {
	return errorResponse(apierror.Errorf(wire.ErrorKindInternal, format, args...))
}
