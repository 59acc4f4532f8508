package sessionagent

import (
	"context"

	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

// ServiceBackend controls the services of the user's session (its systemd user
// manager). The service endpoints call it; Config.Services may be nil when the agent
// has no manager to talk to.
type ServiceBackend interface {
	// ServiceControl carries out one instruction of POST /v1/service-control.
	ServiceControl(ctx context.Context, inst *wire.ServiceInstruction) (*wire.ServiceControlResult, error)
	// ServiceStatus answers GET /v1/service-status for the given units.
	ServiceStatus(ctx context.Context, units []string) ([]wire.ServiceUnitStatus, error)
}
