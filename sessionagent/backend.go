package sessionagent

import (
	"context"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/snapcore-ng/usersession-agent/desktop/notification"
	"github.com/snapcore-ng/usersession-agent/sessionagent/control"
	"github.com/snapcore-ng/usersession-agent/systemd"
	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

// The agent acts through two backends, both passed in Config: NewBackends builds them
// for a user's session, tests pass fakes.

// ServiceBackend controls the services and applications of the user's session (its
// systemd user manager). The service and app endpoints call it; *control.Services
// implements it. Its errors are *apierror.Error when the answer must carry a kind (and
// value) of its own.
type ServiceBackend interface {
	// Control carries out one instruction of POST /v1/service-control.
	Control(ctx context.Context, inst wire.ServiceInstruction) (*wire.ServiceControlResult, error)
	// Status answers GET /v1/service-status for the given units.
	Status(ctx context.Context, units []string) ([]wire.ServiceUnitStatus, error)
	// Kill carries out one instruction of POST /v1/app-control.
	Kill(ctx context.Context, inst wire.AppInstruction) (*wire.AppControlResult, error)
}

// NotificationBackend shows the user's desktop notifications and says what became of
// them. The notification endpoints call it; *notification.Manager implements it, on
// the session bus (BusBackend). Its errors are *notification.Error, whose kinds the
// agent answers by one table (errors.go).
type NotificationBackend interface {
	Post(ctx context.Context, id string, msg *notification.Message) (notification.Status, error)
	Status(id string) (notification.Status, error)
	Wait(ctx context.Context, id string) (notification.Status, error)
	Close(ctx context.Context, id string) (notification.Status, error)
	// BusyUntil is the time until which an open question waits for the user's
	// answer (zero: none): the agent does not exit on idle before it.
	BusyUntil() time.Time
}

// BusBackend is a backend that lives on the agent's session bus connection. The agent
// starts it on the connection before it requests BusName, so that a caller activated
// by the name finds its objects, and stops it before leaving the bus; while the agent
// has no bus, it answers the backend's endpoints 503 no-session-bus without calling
// it. A backend that does not implement it is called at once.
type BusBackend interface {
	Start(ctx context.Context, conn *dbus.Conn) error
	Stop()
}

// NewBackends returns the backends of the agent of a user's session, built beside each
// other: service and app control through manager (the user's systemd, dialled on first
// use), and desktop notifications on the session bus the agent joins, under BusName,
// the application ID through which GNOME Shell answers.
func NewBackends(manager *systemd.Manager) (ServiceBackend, NotificationBackend) {
	return control.New(manager), notification.New(notification.Config{AppID: BusName})
}
