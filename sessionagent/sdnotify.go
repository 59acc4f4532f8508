package sessionagent

import (
	"log/slog"

	"github.com/coreos/go-systemd/v22/daemon"
)

// sdNotify tells the service manager about the agent's state (sd_notify). Without
// $NOTIFY_SOCKET it returns at once: started by hand, the agent pays nothing.
func sdNotify(log *slog.Logger, state string) {
	if _, err := daemon.SdNotify(false, state); err != nil {
		log.Debug("cannot notify the service manager", "err", err)
	}
}
