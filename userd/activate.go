package userd

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/snapcore-ng/usersession-agent/internal/sessionbus"
)

// serviceUnit is the systemd user unit the service runs in, however D-Bus starts it
// (data/systemd-user/snapd.userd.service.in).
const serviceUnit = "snapd.userd.service"

// importedVars are the variables of the session that the service needs in the user
// manager's environment besides the bus: what dialogs and handlers need to show up.
var importedVars = []string{
	"DISPLAY", "WAYLAND_DISPLAY", "XAUTHORITY", "XDG_CURRENT_DESKTOP",
	"XDG_SESSION_TYPE", "XDG_SESSION_DESKTOP", "DESKTOP_SESSION",
}

// activateTimeout bounds each step of Activate: within dbus-daemon's own 25 s
// activation timeout.
const activateTimeout = 10 * time.Second

// NoUserManagerError says Activate found no systemd user manager to hand the service
// over to: the caller may run the service itself, on BusAddress.
type NoUserManagerError struct {
	// BusAddress is the activating bus's address.
	BusAddress string
	Err        error
}

func (e *NoUserManagerError) Error() string { return fmt.Sprintf("no user manager (%v)", e.Err) }
func (e *NoUserManagerError) Unwrap() error { return e.Err }

// Activate is `snap userd --activate`, the Exec= of the D-Bus service files for a bus
// systemd does not run (Upstart's on Ubuntu 16.04, dbus-launch's; systemd's own bus
// uses SystemdService= instead), so that the service runs as serviceUnit either way.
// It puts the activating bus's address (DBUS_STARTER_ADDRESS, else
// sessionbus.Address) and the display variables into the user manager's environment
// (`systemctl --user set-environment`), starts serviceUnit without waiting for its
// job (the manager watches BusName= on its own bus, not on this one), then waits until
// the service owns all of BusNames on the activating bus: dbus-daemon fails the
// activation of an Exec= that exits first. Each step has a deadline of 10 s. Without
// a user manager it returns a *NoUserManagerError and changes nothing.
func Activate(ctx context.Context) error {
	addr := os.Getenv("DBUS_STARTER_ADDRESS")
	if addr == "" {
		var err error
		if addr, err = sessionbus.Address(); err != nil {
			return err
		}
	}
	vars := []string{"DBUS_SESSION_BUS_ADDRESS=" + addr}
	for _, name := range importedVars {
		if v, ok := os.LookupEnv(name); ok {
			vars = append(vars, name+"="+v)
		}
	}
	if err := systemctl(ctx, append([]string{"set-environment"}, vars...)...); err != nil {
		return &NoUserManagerError{BusAddress: addr, Err: err}
	}
	if err := systemctl(ctx, "start", "--no-block", serviceUnit); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, activateTimeout)
	defer cancel()
	return waitForOwners(ctx, addr, BusNames())
}

func systemctl(ctx context.Context, args ...string) error {
	if _, err := runOutput(ctx, activateTimeout, "systemctl", append([]string{"--user"}, args...)...); err != nil {
		return fmt.Errorf("cannot run systemctl --user %s: %w", strings.Join(args, " "), err)
	}
	return nil
}

// waitForOwners waits until every one of names has an owner on the bus at addr, or
// ctx ends. It listens for the bus's NameOwnerChanged signals, and asks NameHasOwner
// once per name after subscribing, so that a name taken before the subscription is
// not missed either.
func waitForOwners(ctx context.Context, addr string, names []string) error {
	// The connection lives until the wait ends; ctx also bounds its handshake.
	conn, err := dbus.Connect(addr, dbus.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("cannot connect to the activating bus: %w", err)
	}
	defer conn.Close()
	signals := make(chan *dbus.Signal, len(names))
	conn.Signal(signals)
	pending := slices.Clone(names)
	for _, name := range names {
		if err := conn.AddMatchSignalContext(ctx, dbus.WithMatchSender("org.freedesktop.DBus"),
			dbus.WithMatchObjectPath("/org/freedesktop/DBus"), dbus.WithMatchInterface("org.freedesktop.DBus"),
			dbus.WithMatchMember("NameOwnerChanged"), dbus.WithMatchArg(0, name)); err != nil {
			return fmt.Errorf("%s did not take %s: cannot watch the name: %w", serviceUnit, name, err)
		}
	}
	for _, name := range names {
		var owned bool
		if err := conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.NameHasOwner", 0, name).Store(&owned); err != nil {
			return fmt.Errorf("%s did not take %s: %w", serviceUnit, name, err)
		}
		if owned {
			pending = slices.DeleteFunc(pending, func(n string) bool { return n == name })
		}
	}
	for len(pending) > 0 {
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s did not take %s in time", serviceUnit, pending[0])
		case sig, ok := <-signals:
			if !ok {
				return fmt.Errorf("%s did not take %s: the activating bus closed the connection", serviceUnit, pending[0])
			}
			if name, owner, ok := ownerChange(sig); ok && owner != "" {
				pending = slices.DeleteFunc(pending, func(n string) bool { return n == name })
			}
		}
	}
	return nil
}

// ownerChange reads the name and its new owner from the bus daemon's NameOwnerChanged
// signal; ok is false for any other signal.
func ownerChange(sig *dbus.Signal) (name, owner string, ok bool) {
	if sig.Name != "org.freedesktop.DBus.NameOwnerChanged" || sig.Sender != "org.freedesktop.DBus" || len(sig.Body) != 3 {
		return "", "", false
	}
	name, ok1 := sig.Body[0].(string)
	owner, ok2 := sig.Body[2].(string)
	return name, owner, ok1 && ok2
}
