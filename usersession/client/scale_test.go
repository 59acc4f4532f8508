package client_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
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

// 200 sessions, 10% of them hanging: every session gets its outcome, and root's
// goroutines and file descriptors stay bounded by the concurrency, not by the number
// of sessions, however long the hanging agents hold their slots. The time of the whole
// call is logged, not asserted (BenchmarkFanOut measures it).
func TestFanOutTo200SessionsWithTenPercentHanging(t *testing.T) {
	start := time.Now()
	f, good, hang := scaleFleet(t, 180, 20)
	t.Logf("started %d agent processes in %v", len(good)+len(hang), time.Since(start).Round(time.Millisecond))

	const deadline = 3 * time.Second
	var (
		progress []int
		peak     fanOutPeak
	)
	baseGoroutines, baseFDs := runtime.NumGoroutine(), openFDs(t)
	c := client.New(client.Options{
		RuntimeDir: f.Base, HeaderTimeout: deadline, Timeout: deadline,
		Progress: func(done, total int) {
			progress = append(progress, done)
			peak.sample(t)
		},
	})
	start = time.Now()
	res, err := c.SessionInfo(t.Context(), client.AllSessions())
	elapsed := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("200 sessions, 20 hanging: %v; peak goroutines %d (%d before), peak fds %d (%d before)",
		elapsed.Round(time.Millisecond), peak.goroutines, baseGoroutines, peak.fds, baseFDs)
	counts := res.Counts()
	if counts[client.KindOK] != 180 || counts[client.KindTimeout] != 20 || len(res.Outcomes) != 200 || counts[client.KindUnsafeSocket] != 0 {
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
	// Per call in flight: its worker and the HTTP transport's reader and writer
	// (the connection's fd, and the O_PATH fd the dial goes through).
	conc := client.DefaultConcurrency
	if limit := baseGoroutines + 3*conc + 8; peak.goroutines > limit {
		t.Errorf("peak goroutines %d, more than %d (%d before, concurrency %d)", peak.goroutines, limit, baseGoroutines, conc)
	}
	if limit := baseFDs + 2*conc + 8; peak.fds > limit {
		t.Errorf("peak open fds %d, more than %d (%d before, concurrency %d)", peak.fds, limit, baseFDs, conc)
	}
}

// fanOutPeak is the most goroutines and open file descriptors seen in this process
// while a fan-out ran, sampled as sessions' calls end (from the Progress callback,
// which the client serialises), at most every sampleEvery: reading /proc/self/fd
// after each of 1000 calls, with the fleet's descriptors open in this process, took
// longer than the calls.
type fanOutPeak struct {
	goroutines, fds int
	last            time.Time
}

const sampleEvery = 5 * time.Millisecond

func (p *fanOutPeak) sample(tb testing.TB) {
	if time.Since(p.last) < sampleEvery {
		return
	}
	p.goroutines = max(p.goroutines, runtime.NumGoroutine())
	p.fds = max(p.fds, openFDs(tb))
	p.last = time.Now()
}

// openFDs counts this process's open file descriptors.
func openFDs(tb testing.TB) int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		tb.Fatal(err)
	}
	return len(entries)
}

// BenchmarkFanOut200 compares calling 200 sessions one by one, as a loop over
// deb-systemd-invoke-like calls does, with the bounded parallel fan-out, with every
// agent answering and with 10% of them hanging until the per-agent deadline.
//
//	go test -run '^$' -bench FanOut200 -benchtime 3x ./usersession/client/
func BenchmarkFanOut200(b *testing.B) { benchmarkFanOut(b, 200, true) }

// BenchmarkFanOut1000 is BenchmarkFanOut200 with 1000 sessions (1100 agent processes),
// for the bounded parallel fan-out only: one after the other, the 100 hanging agents
// alone would take 100 deadlines.
//
//	go test -run '^$' -bench FanOut1000 -benchtime 3x -timeout 30m ./usersession/client/
func BenchmarkFanOut1000(b *testing.B) { benchmarkFanOut(b, 1000, false) }

// benchmarkFanOut runs n real agents and n/10 hanging ones, and calls session-info on
// n of them: all good, then with the hanging ones in place of n/10 good ones. Besides
// the time of a whole call, it reports the call's time in per-agent deadlines, and the
// peak goroutines and open file descriptors of this process above what it had before
// the call.
func benchmarkFanOut(b *testing.B, n int, sequential bool) {
	f, good, hang := scaleFleet(b, n, n/10)
	const deadline = 500 * time.Millisecond
	concs := []int{client.DefaultConcurrency}
	if sequential {
		concs = []int{1, client.DefaultConcurrency}
	}
	for _, load := range []struct {
		name string
		uids []int
	}{
		{"all-good", good},
		{"10pct-hanging", append(append([]int(nil), good[:n-len(hang)]...), hang...)},
	} {
		for _, conc := range concs {
			name := fmt.Sprintf("%s/sequential", load.name)
			if conc > 1 {
				name = fmt.Sprintf("%s/parallel-%d", load.name, conc)
			}
			b.Run(name, func(b *testing.B) {
				var peak fanOutPeak
				baseGoroutines, baseFDs := runtime.NumGoroutine(), openFDs(b)
				c := client.New(client.Options{
					RuntimeDir: f.Base, HeaderTimeout: deadline, Timeout: deadline, Concurrency: conc,
					Progress: func(int, int) { peak.sample(b) },
				})
				for b.Loop() {
					res, err := c.SessionInfo(context.Background(), client.UIDs(load.uids...))
					if err != nil {
						b.Fatal(err)
					}
					if n := res.Counts()[client.KindOK]; n != len(load.uids)-countIn(load.uids, hang) {
						b.Fatalf("%d answered: %v", n, res.Counts())
					}
				}
				b.ReportMetric(float64(b.Elapsed())/float64(b.N)/float64(deadline), "deadlines/op")
				b.ReportMetric(float64(peak.goroutines-baseGoroutines), "peak-goroutines")
				b.ReportMetric(float64(peak.fds-baseFDs), "peak-fds")
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
