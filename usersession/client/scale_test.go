package client_test

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/snapcore-ng/usersession-agent/usersession/client"
	"github.com/snapcore-ng/usersession-agent/usersession/client/clienttest"
)

// scaleFleet runs good agents for `good` uids and hanging ones for `hanging` uids,
// all from 20000 up, with the hanging ones spread evenly among the others (as they
// would be on a real machine, rather than all last in uid order), and returns both
// uid lists.
func scaleFleet(tb testing.TB, good, hanging int) (f *clienttest.Fleet, goodUIDs, hangUIDs []int) {
	tb.Helper()
	clienttest.RequireRoot(tb)
	f = clienttest.NewFleet(tb)
	n := good + hanging
	for i := range n {
		// Uid i hangs when it is the first of its share of n/hanging uids.
		if hanging > 0 && i%(n/hanging) == 0 && len(hangUIDs) < hanging {
			hangUIDs = append(hangUIDs, 20000+i)
		} else {
			goodUIDs = append(goodUIDs, 20000+i)
		}
	}
	bin := buildAgent(tb)
	_, err := f.StartManyWith(goodUIDs, func(uid int, socket string) (*clienttest.Agent, error) {
		return f.StartCommand(uid, socket, bin, "userd", "--agent", "--socket="+socket, "--idle-timeout=10m")
	})
	if err != nil {
		tb.Fatal(err)
	}
	f.StartMany(hangUIDs, clienttest.Hang)
	return f, goodUIDs, hangUIDs
}

// buildAgent builds this module's snap command, whose `snap userd --agent` the good
// agents run, into a directory the agents' uids can reach.
func buildAgent(tb testing.TB) string {
	bin := filepath.Join(clienttest.WorldReadableDir(tb, "clienttest-snap-"), "snap")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/snapcore-ng/usersession-agent/cmd/snap")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("cannot build cmd/snap: %v: %s", err, out)
	}
	return bin
}

// 200 sessions, 10% of them hanging, cost about one per-agent deadline: the hanging
// ones wait side by side, within the concurrency bound, while the others answer.
func TestFanOutTo200SessionsWithTenPercentHanging(t *testing.T) {
	start := time.Now()
	f, good, hang := scaleFleet(t, 180, 20)
	t.Logf("started %d agent processes in %v", len(good)+len(hang), time.Since(start).Round(time.Millisecond))

	const deadline = 3 * time.Second
	var progress []int
	c := client.New(client.Options{
		RuntimeDir: f.Base, HeaderTimeout: deadline, Timeout: deadline,
		Progress: func(done, total int) { progress = append(progress, done) },
	})
	start = time.Now()
	res, err := c.SessionInfo(t.Context(), client.AllSessions())
	elapsed := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("200 sessions, 20 hanging: %v", elapsed.Round(time.Millisecond))
	if elapsed > 2*deadline {
		t.Errorf("fan-out took %v, more than twice the per-agent deadline %v", elapsed, deadline)
	}
	counts := res.Counts()
	if counts[client.KindOK] != 180 || counts[client.KindTimeout] != 20 || len(res.Outcomes) != 200 || len(res.Skipped) != 0 {
		t.Errorf("counts = %v", counts)
	}
	for _, o := range res.Failed() {
		if !slices.Contains(hang, o.UID) {
			t.Errorf("a good agent failed: %v", o.Err)
		}
	}
	if len(progress) != 200 || progress[199] != 200 {
		t.Errorf("progress reported %d times, last %v", len(progress), progress[len(progress)-1:])
	}
}

// BenchmarkFanOut200 compares calling 200 sessions one by one, as a loop over
// deb-systemd-invoke-like calls does, with the bounded parallel fan-out, with every
// agent answering and with 10% of them hanging until the per-agent deadline.
//
//	go test -run '^$' -bench FanOut200 -benchtime 3x ./usersession/client/
func BenchmarkFanOut200(b *testing.B) {
	f, good, hang := scaleFleet(b, 200, 20)
	const deadline = 500 * time.Millisecond
	for _, load := range []struct {
		name string
		uids []int
	}{
		{"all-good", good},
		{"10pct-hanging", append(append([]int(nil), good[:180]...), hang...)},
	} {
		for _, conc := range []int{1, client.DefaultConcurrency} {
			name := fmt.Sprintf("%s/sequential", load.name)
			if conc > 1 {
				name = fmt.Sprintf("%s/parallel-%d", load.name, conc)
			}
			b.Run(name, func(b *testing.B) {
				c := client.New(client.Options{RuntimeDir: f.Base, HeaderTimeout: deadline, Timeout: deadline, Concurrency: conc})
				for b.Loop() {
					res, err := c.SessionInfo(context.Background(), client.UIDs(load.uids...))
					if err != nil {
						b.Fatal(err)
					}
					if n := res.Counts()[client.KindOK]; n != len(load.uids)-countIn(load.uids, hang) {
						b.Fatalf("%d answered: %v", n, res.Counts())
					}
				}
			})
		}
	}
}

func countIn(uids, set []int) int {
	n := 0
	for _, u := range uids {
		if slices.Contains(set, u) {
			n++
		}
	}
	return n
}
