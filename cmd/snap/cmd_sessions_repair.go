package main

import (
	"github.com/snapcore-ng/usersession-agent/usersession/client"
)

type cmdSessionsRepair struct{ sessionsOptions }

func (c *cmdSessionsRepair) Execute(args []string) error {
	if err := noArgs(args); err != nil {
		return err
	}
	return runSessions(&c.sessionsOptions, (*client.Client).Repair, table[client.RepairReport]{
		headers: []string{"Agent", "Socket unit before", "State"},
		rows: func(r client.RepairReport) [][]string {
			if r.Repaired == nil {
				return [][]string{{orDash(printable(r.Agent.Version)), "-", "ok"}}
			}
			return [][]string{{orDash(printable(r.Agent.Version)), printable(r.Repaired.Before.String()), "repaired"}}
		},
	})
}
