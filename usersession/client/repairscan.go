package client

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"

	"github.com/snapcore-ng/usersession-agent/internal/userdb"
	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

// RepairReport is what `repair` found for one user: the agent's session info, and
// what was repaired to reach it (nil when it answered at once).
type RepairReport struct {
	Agent    wire.SessionInfo `json:"agent"`
	Repaired *RepairResult    `json:"repaired,omitempty"`
}

// Repair reaches each targeted user's agent (GET /v1/session-info) and repairs the
// agent socket of those whose socket is broken while their manager runs, when
// Options.RepairAgents is on; off, it only finds them (each a *RepairError). Targeting
// all sessions, it also looks at users whose manager runs without an agent socket
// (see failedSockets), and repairs those whose agent socket unit is failed (after a
// start-limit failure, systemd removed the socket file); the others (no agent
// installed, or turned off) are not listed.
func (c *Client) Repair(ctx context.Context, t Targets) (*Results[RepairReport], error) {
	res, err := fanOut[wire.SessionInfo](ctx, c, t, &request{
		op:         "repair session agent",
		method:     http.MethodGet,
		path:       wire.PathSessionInfo,
		limits:     c.quickLimits(),
		scanFailed: true,
	})
	if err != nil {
		return nil, err
	}
	out := &Results[RepairReport]{Op: res.Op, Outcomes: make([]Outcome[RepairReport], len(res.Outcomes))}
	for i, o := range res.Outcomes {
		out.Outcomes[i] = Outcome[RepairReport]{
			UID: o.UID, Socket: o.Socket, State: o.State, Err: o.Err, Repaired: o.Repaired,
			Result: RepairReport{Agent: o.Result, Repaired: o.Repaired},
		}
	}
	return out, nil
}

// socketStateOf reads the agent socket unit's state in uid's verified manager,
// within the client's whole-call deadline.
func (c *Client) socketStateOf(ctx context.Context, ms *managers, uid int) (UnitState, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	conn, err := ms.find(ctx, uid)
	if err != nil {
		return UnitState{}, err
	}
	m, err := ms.connect(ctx, uid, conn)
	if err != nil {
		return UnitState{}, err
	}
	defer m.Close()
	return socketState(ctx, m)
}

// failedSockets returns the sessions, other than those discovery found, of the users
// whose manager runs in the runtime directory and either has a failed agent socket
// unit (they lost their socket file to a start-limit failure), or could not be asked
// (a process failing the check on the manager's socket included: a *RepairError
// saying why). A failed socket unit is a *NoAgentError to repair when
// Options.RepairAgents is on, and a *RepairError saying it needs repair when it is
// off. Dynamic-user uids are no login sessions and are left out. The managers are
// asked one after the other: these are the users without an agent socket, normally
// none or few.
func (c *Client) failedSockets(ctx context.Context, ms *managers, found []Session) []Session {
	entries, err := os.ReadDir(c.opts.RuntimeDir)
	if err != nil {
		return nil
	}
	seen := map[int]bool{}
	for _, s := range found {
		seen[s.UID] = true
	}
	var failed []Session
	for _, e := range entries {
		uid, ok := userdb.ParseUID(e.Name())
		if !ok || seen[uid] || (uid >= DynamicUIDMin && uid <= DynamicUIDMax) {
			continue
		}
		if _, err := os.Lstat(c.managerSocket(uid)); err != nil {
			continue
		}
		s := Session{UID: uid, Socket: filepath.Join(c.opts.RuntimeDir, e.Name(), SocketName), Optional: true}
		missing := &NoAgentError{Path: s.Socket}
		st, err := c.socketStateOf(ctx, ms, uid)
		var nm *NoManagerError
		switch {
		case errors.As(err, &nm):
			continue
		case err != nil:
			s.Cause = &RepairError{Cause: missing, Err: err}
		case st.ActiveState != "failed":
			continue
		case c.opts.RepairAgents:
			s.Cause = missing
		default:
			s.Cause = &RepairError{Cause: missing}
		}
		failed = append(failed, s)
	}
	return failed
}
