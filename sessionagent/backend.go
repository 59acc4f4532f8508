package sessionagent

import (
	"context"

	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

// ServiceBackend controls the services and applications of the user's session (its
// systemd user manager). The service and app endpoints call it; *control.Services
// implements it, tests use fakes. Its errors are *apierror.Error when the answer must
// carry a kind (and value) of its own.
type ServiceBackend interface {
	// Control carries out one instruction of POST /v1/service-control.
	Control(ctx context.Context, inst wire.ServiceInstruction) (*wire.ServiceControlResult, error)
	// Status answers GET /v1/service-status for the given units.
	Status(ctx context.Context, units []string) ([]wire.ServiceUnitStatus, error)
	// Kill carries out one instruction of POST /v1/app-control.
	Kill(ctx context.Context, inst wire.AppInstruction) (*wire.AppControlResult, error)
}
