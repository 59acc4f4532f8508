package client_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/snapcore-ng/usersession-agent/internal/procfs"
	"github.com/snapcore-ng/usersession-agent/usersession/client"
	"github.com/snapcore-ng/usersession-agent/usersession/client/clienttest"
)

// envBenchAgents sets the number of agents of BenchmarkAgentMemoryAfterFanOut.
const envBenchAgents = "SNAP_BENCH_AGENTS"

// afterFanOut are the times after the end of the fan-out at which the agents' memory
// is sampled: the last one is past the agents' 30 s idle timeout.
var afterFanOut = []time.Duration{0, time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 35 * time.Second}

// BenchmarkAgentMemoryAfterFanOut measures what the exit hint (Options.ExitWhenIdle,
// header Snap-Agent-Exit-When-Idle) buys: N real agents (`snap userd --agent`, each as
// its own uid on its own socket, with the default idle timeout of 30 s) get one
// session-info fan-out, without the hint (the baseline: each lingers for its idle
// timeout) and with it. At each time of afterFanOut after the fan-out ends it reports
// the sum of VmRSS of the agent processes still alive (MiB-at-Ns) and how many are
// alive (alive-at-Ns); ns/op is the fan-out alone. N is 200, or $SNAP_BENCH_AGENTS.
//
//	go test -run '^$' -bench AgentMemoryAfterFanOut -benchtime 1x -timeout 30m ./usersession/client/
func BenchmarkAgentMemoryAfterFanOut(b *testing.B) {
	clienttest.RequireRoot(b)
	n := 200
	if s := os.Getenv(envBenchAgents); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n <= 0 {
			b.Fatalf("cannot use $%s=%q: want a number of agents", envBenchAgents, s)
		}
	}
	bin := buildAgent(b)
	uids := make([]int, n)
	for i := range uids {
		uids[i] = 30000 + i
	}
	for _, hint := range []bool{false, true} {
		name := "without-hint"
		if hint {
			name = "with-hint"
		}
		b.Run(fmt.Sprintf("%s/%d-agents", name, n), func(b *testing.B) {
			sums := make([]agentMemory, len(afterFanOut))
			for range b.N {
				b.StopTimer()
				f := clienttest.NewFleet(b)
				agents, err := f.StartManyWith(uids, func(uid int, socket string) (*clienttest.Agent, error) {
					return f.StartCommand(uid, socket, bin, "userd", "--agent", "--socket="+socket)
				})
				if err != nil {
					b.Fatal(err)
				}
				c := client.New(client.Options{RuntimeDir: f.Base, ExitWhenIdle: hint})
				b.StartTimer()
				res, err := c.SessionInfo(context.Background(), client.UIDs(uids...))
				b.StopTimer()
				end := time.Now()
				if err != nil {
					b.Fatal(err)
				}
				if ok := res.Counts()[client.KindOK]; ok != n {
					b.Fatalf("%d of %d agents answered: %v", ok, n, res.Counts())
				}
				for i, after := range afterFanOut {
					time.Sleep(time.Until(end.Add(after)))
					sums[i].add(memoryOf(agents))
				}
			}
			for i, after := range afterFanOut {
				at := fmt.Sprintf("at-%ds", after/time.Second)
				b.ReportMetric(float64(sums[i].rssKiB)/1024/float64(b.N), "MiB-"+at)
				b.ReportMetric(float64(sums[i].anonKiB)/1024/float64(b.N), "anon-MiB-"+at)
				b.ReportMetric(float64(sums[i].alive)/float64(b.N), "alive-"+at)
			}
		})
	}
}

// agentMemory is the resident memory of a set of agent processes and how many of them
// are alive. RSS counts the pages of the binary in every agent, although they share
// them through the page cache; anonymous memory is what each agent costs alone.
type agentMemory struct {
	rssKiB  int
	anonKiB int
	alive   int
}

func (m *agentMemory) add(o agentMemory) {
	m.rssKiB += o.rssKiB
	m.anonKiB += o.anonKiB
	m.alive += o.alive
}

// memoryOf sums the VmRSS and RssAnon of the agents still alive. An agent that exited
// is a zombie until the fleet reaps it at cleanup, and a zombie has no VmRSS line: it
// counts as gone.
func memoryOf(agents []*clienttest.Agent) agentMemory {
	var m agentMemory
	for _, a := range agents {
		rss, err := procfs.StatusField(a.Pid(), "VmRSS")
		if err != nil {
			continue
		}
		anon, _ := procfs.StatusField(a.Pid(), "RssAnon")
		m.rssKiB += rss
		m.anonKiB += anon
		m.alive++
	}
	return m
}
