package sessionagent_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/snapcore-ng/usersession-agent/internal/apierror"
	"github.com/snapcore-ng/usersession-agent/sessionagent"
	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

// statusOf is the HTTP status the agent answers err with.
func statusOf(err error) int {
	rec := httptest.NewRecorder()
	sessionagent.ResponseForError(err).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	return rec.Code
}

// The one table from error kinds to statuses: snapd's kinds and a new backend's kind
// are failures (500), the well-known kinds keep their status, and the two overrides
// apply by cause whatever wraps the error.
func TestResponseForErrorMapsKindsToStatuses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err    error
		status int
		kind   string
	}{
		{apierror.Errorf(wire.ErrorKindServiceControl, "cannot x"), 500, "service-control"},
		{apierror.Errorf(wire.ErrorKindServiceStatus, "cannot x"), 500, "service-status"},
		{apierror.Errorf(wire.ErrorKindAppControl, "cannot x"), 500, "app-control"},
		{apierror.Errorf("notification", "cannot x"), 500, "notification"},
		{apierror.Errorf(wire.ErrorKindBadRequest, "cannot x"), 400, "bad-request"},
		{apierror.Errorf(wire.ErrorKindForbidden, "cannot x"), 403, "forbidden"},
		{apierror.Errorf(wire.ErrorKindNotFound, "cannot x"), 404, "not-found"},
		{apierror.Errorf(wire.ErrorKindMethodNotAllowed, "cannot x"), 405, "method-not-allowed"},
		{apierror.Errorf(wire.ErrorKindRequestTooLarge, "cannot x"), 413, "request-too-large"},
		{apierror.Errorf(wire.ErrorKindUnsupportedMedia, "cannot x"), 415, "unsupported-media-type"},
		{apierror.Errorf(wire.ErrorKindInternal, "cannot x"), 500, "internal-error"},
		{apierror.Errorf(wire.ErrorKindTooManyConnections, "cannot x"), 503, "too-many-connections"},
		{apierror.Errorf(wire.ErrorKindManagerTimeout, "cannot x"), 504, "systemd-timeout"},
		{apierror.Errorf(wire.ErrorKindAgentExiting, "cannot x"), 503, "agent-exiting"},
		{apierror.Errorf(wire.ErrorKindNoSessionBus, "cannot x"), 503, "no-session-bus"},
		{apierror.Errorf(wire.ErrorKindUnknownNotification, "cannot x"), 404, "unknown-notification"},
		{apierror.Errorf(wire.ErrorKindTooManyNotifications, "cannot x"), 429, "too-many-notifications"},
		{apierror.Errorf(wire.ErrorKindNoNotificationServer, "cannot x"), 503, "no-notification-server"},
		{apierror.Errorf(wire.ErrorKindNotificationServer, "cannot x"), 502, "notification-server-error"},
		{apierror.Errorf(wire.ErrorKindNotificationTimeout, "cannot x"), 504, "notification-server-timeout"},
		{apierror.Errorf(wire.ErrorKindBadRequest, "cannot x: %w", os.ErrDeadlineExceeded), 408, "bad-request"},
		{apierror.Errorf(wire.ErrorKindInternal, "cannot x: %w", os.ErrDeadlineExceeded), 500, "internal-error"},
		{&apierror.Error{Kind: wire.ErrorKindInternal, Message: "cannot x", Err: errors.Join(apierror.ErrUnavailable, context.Canceled)}, 503, "internal-error"},
		{fmt.Errorf("cannot y: %w", apierror.Errorf("notification", "cannot x: %w", apierror.ErrUnavailable)), 503, "notification"},
		{&apierror.Error{Kind: wire.ErrorKindServiceControl, Message: "cannot x", Err: errors.Join(apierror.ErrTimeout, context.DeadlineExceeded)}, 504, "service-control"},
		{errors.New("cannot x"), 500, "internal-error"},
	} {
		rec := httptest.NewRecorder()
		sessionagent.ResponseForError(tc.err).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		var rsp wire.Response
		var res wire.ErrorResult
		if err := json.Unmarshal(rec.Body.Bytes(), &rsp); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(rsp.Result, &res); err != nil {
			t.Fatal(err)
		}
		if rec.Code != tc.status || rsp.StatusCode != tc.status || rsp.Status != http.StatusText(tc.status) ||
			rsp.Type != "error" || res.Kind != tc.kind || !strings.HasPrefix(res.Message, "cannot x") {
			t.Errorf("%v: got %d %s", tc.err, rec.Code, rec.Body)
		}
	}
}
