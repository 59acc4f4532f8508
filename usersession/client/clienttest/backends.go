package clienttest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/snapcore-ng/usersession-agent/desktop/notification"
	"github.com/snapcore-ng/usersession-agent/internal/apierror"
	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

// Services is a fake sessionagent.ServiceBackend, and the rules snapd's dialects here
// follow: every unit or snap does what it is asked, except that a name containing
// "fail" fails (per unit or snap, reported as the real backend reports it), a unit
// containing "stubborn" is killed by a stop, and one containing "missing" is not
// loaded when stopped. Every unit's status is enabled, active (running) and loaded.
type Services struct {
	// Delay is how long every call takes before it answers, or until its context
	// ends: a manager busy with a long job.
	Delay time.Duration
	// ExtraStatus makes Status answer for a unit nobody asked for in place of the
	// last one asked.
	ExtraStatus bool
}

// errorsKey is where Control reports the units that failed each action.
var errorsKey = map[string]string{
	wire.ActionStart:   wire.StartErrorsKey,
	wire.ActionStop:    wire.StopErrorsKey,
	wire.ActionRestart: wire.RestartErrorsKey,
}

// Control carries out inst by the rules of Services.
func (s *Services) Control(ctx context.Context, inst wire.ServiceInstruction) (*wire.ServiceControlResult, error) {
	s.wait(ctx)
	if inst.Action == wire.ActionDaemonReload {
		return &wire.ServiceControlResult{}, nil
	}
	key, ok := errorsKey[inst.Action]
	if !ok {
		return nil, apierror.Errorf(wire.ErrorKindBadRequest, "unknown action %q", inst.Action)
	}
	failed, res := map[string]string{}, &wire.ServiceControlResult{}
	for _, u := range inst.Services {
		stop := inst.Action == wire.ActionStop
		switch {
		case strings.Contains(u, "fail"):
			failed[u] = fmt.Sprintf("cannot %s %s: fake failure", inst.Action, u)
		case strings.Contains(u, "stubborn") && stop:
			res.Killed = append(res.Killed, u)
		case strings.Contains(u, "missing") && stop:
			res.NotLoaded = append(res.NotLoaded, u)
		}
	}
	if len(failed) > 0 {
		return nil, &apierror.Error{Kind: wire.ErrorKindServiceControl,
			Message: "some user services failed to " + inst.Action, Value: map[string]any{key: failed}}
	}
	return res, nil
}

// Status answers for units by the rules of Services.
func (s *Services) Status(ctx context.Context, units []string) ([]wire.ServiceUnitStatus, error) {
	s.wait(ctx)
	if s.ExtraStatus && len(units) > 0 {
		units = append(units[:len(units)-1:len(units)-1], "snap.unasked.app.service")
	}
	var statuses []wire.ServiceUnitStatus
	failed := map[string]string{}
	for _, u := range units {
		if strings.Contains(u, "fail") {
			failed[u] = "cannot query " + u + ": fake failure"
			continue
		}
		statuses = append(statuses, wire.ServiceUnitStatus{
			Daemon: "simple", ID: u, Name: u, Names: []string{u},
			Enabled: true, Active: true, Installed: true,
			ActiveState: "active", SubState: "running", LoadState: "loaded",
		})
	}
	if len(failed) > 0 {
		return nil, &apierror.Error{Kind: wire.ErrorKindServiceStatus,
			Message: "cannot get status of some user services", Value: map[string]any{wire.StatusErrorsKey: failed}}
	}
	return statuses, nil
}

// Kill signals inst's snaps by the rules of Services: one scope each.
func (s *Services) Kill(ctx context.Context, inst wire.AppInstruction) (*wire.AppControlResult, error) {
	s.wait(ctx)
	failed, res := map[string]string{}, &wire.AppControlResult{Scopes: map[string][]string{}}
	for _, snap := range inst.Snaps {
		if strings.Contains(snap, "fail") {
			failed[snap] = "cannot signal " + snap + ": fake failure"
			continue
		}
		res.Scopes[snap] = []string{"snap." + snap + ".app-1234.scope"}
	}
	if len(failed) > 0 {
		return nil, &apierror.Error{Kind: wire.ErrorKindAppControl,
			Message: "cannot kill some snap apps", Value: map[string]any{wire.KillErrorsKey: failed}}
	}
	return res, nil
}

func (s *Services) wait(ctx context.Context) {
	if s.Delay <= 0 {
		return
	}
	timer := time.NewTimer(s.Delay)
	defer timer.Stop()
	select {
	case <-ctx.Done():
	case <-timer.C:
	}
}

// Notifications is a fake sessionagent.NotificationBackend: it shows nothing and
// keeps every notification posted shown (with its actions, if it has any) until it is
// closed; nobody answers one.
type Notifications struct {
	// Answer, if set, makes every wait answer at once, with what Answer makes of the
	// notification's status: an agent that answers polls early, or that reports an
	// action of its choosing.
	Answer func(notification.Status) notification.Status

	mu     sync.Mutex
	posted map[string]notification.Status
}

// Post shows msg as id.
func (n *Notifications) Post(_ context.Context, id string, msg *notification.Message) (notification.Status, error) {
	st := notification.Status{ID: id, State: notification.StateShown, Server: notification.ServerFreedesktop,
		ServerName: "clienttest", ActionsShown: len(msg.Actions) > 0}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.posted == nil {
		n.posted = map[string]notification.Status{}
	}
	n.posted[id] = st
	return st, nil
}

// Status returns id's status.
func (n *Notifications) Status(id string) (notification.Status, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	st, ok := n.posted[id]
	if !ok {
		return st, unknownNotification(id)
	}
	return st, nil
}

// Wait returns id's status at once when it is final (closed) or with Answer, else
// when ctx ends.
func (n *Notifications) Wait(ctx context.Context, id string) (notification.Status, error) {
	st, err := n.Status(id)
	switch {
	case err != nil:
		return st, err
	case n.Answer != nil:
		return n.Answer(st), nil
	case st.State.Final():
		return st, nil
	}
	<-ctx.Done()
	return n.Status(id)
}

// Close takes id down.
func (n *Notifications) Close(_ context.Context, id string) (notification.Status, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	st, ok := n.posted[id]
	if !ok {
		return st, unknownNotification(id)
	}
	if !st.State.Final() {
		st.State = notification.StateClosed
		n.posted[id] = st
	}
	return st, nil
}

func unknownNotification(id string) error {
	return &notification.Error{Kind: notification.KindUnknown, Message: fmt.Sprintf("cannot find notification %q", id)}
}

// BusyUntil is zero: nothing keeps the agent from exiting.
func (n *Notifications) BusyUntil() time.Time { return time.Time{} }
