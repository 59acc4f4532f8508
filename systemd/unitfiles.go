package systemd

import (
	"context"
	"strings"
)

// Enable enables the unit files (persistently, as `systemctl --user enable` without
// --runtime) in one call, without reloading the manager: call Reload afterwards so that
// the manager sees the new dependencies.
func (m *Manager) Enable(ctx context.Context, units []string) error {
	ctx, cancel := WithDefaultDeadline(ctx, DefaultTimeout)
	defer cancel()
	l, err := m.current(ctx)
	if err != nil {
		return err
	}
	if _, _, err := l.conn.EnableUnitFilesContext(ctx, units, false, false); err != nil {
		return l.callError(ctx, "enable", strings.Join(units, " "), err)
	}
	return nil
}

// Disable disables the unit files in one call, without reloading the manager.
func (m *Manager) Disable(ctx context.Context, units []string) error {
	ctx, cancel := WithDefaultDeadline(ctx, DefaultTimeout)
	defer cancel()
	l, err := m.current(ctx)
	if err != nil {
		return err
	}
	if _, err := l.conn.DisableUnitFilesContext(ctx, units, false); err != nil {
		return l.callError(ctx, "disable", strings.Join(units, " "), err)
	}
	return nil
}

// Reload makes the manager reload its unit files (daemon-reload). The manager answers
// once the reload is done.
func (m *Manager) Reload(ctx context.Context) error {
	ctx, cancel := WithDefaultDeadline(ctx, DefaultTimeout)
	defer cancel()
	l, err := m.current(ctx)
	if err != nil {
		return err
	}
	if err := l.conn.ReloadContext(ctx); err != nil {
		return l.callError(ctx, "reload the systemd manager", "", err)
	}
	return nil
}
