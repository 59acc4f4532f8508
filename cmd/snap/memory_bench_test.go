package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/snapcore-ng/usersession-agent/usersession/client/clienttest"
)

// BenchmarkStatusMemory reports the peak memory (max RSS, MiB) of `snap sessions
// status` against 2 agents that each flood it with a 1 MiB answer of empty entries,
// as a table and as JSON, and against 2 honest agents (the baseline). The snap binary
// is SNAP_TEST_BINARY when set (to measure another build), else this tree's.
func BenchmarkStatusMemory(b *testing.B) {
	clienttest.RequireRoot(b)
	bin := testSnapBinary(b)
	for _, fleet := range []struct {
		name      string
		behaviour string
	}{{"honest", clienttest.Real}, {"flooding", clienttest.StatusFlood}} {
		for _, format := range []string{"table", "json"} {
			b.Run(fleet.name+"/"+format, func(b *testing.B) {
				f := clienttest.NewFleet(b)
				f.StartMany([]int{43601, 43602}, fleet.behaviour)
				args := []string{"sessions", "status", "snap.a.one.service"}
				if format == "json" {
					args = append(args, "--json")
				}
				var peak int64
				for b.Loop() {
					cmd := exec.Command(bin, args...)
					cmd.Env = []string{envRuntimeDir + "=" + f.Base}
					// Exit status 1 is expected from the flooding agents.
					cmd.Run()
					if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
						peak = max(peak, ru.Maxrss)
					}
				}
				b.ReportMetric(float64(peak)/1024, "maxrss-MiB")
			})
		}
	}
}

// BenchmarkFanOutMemory reports the peak memory (max RSS, MiB) of `snap sessions
// list` across 200 and 1000 sessions, 10% of whose agents hang until the per-agent
// deadline: root's memory must follow the concurrency bound, not the number of
// sessions. The agents are this test binary as agents of a Fleet (package
// sessionagent with fake backends, and hanging ones), each a process of its own uid
// (root's side is what is measured; BenchmarkFanOut1000 in usersession/client runs
// `snap userd --agent`). The snap binary is SNAP_TEST_BINARY when set, else this
// tree's.
//
//	go test -run '^$' -bench FanOutMemory -benchtime 3x -timeout 30m ./cmd/snap/
func BenchmarkFanOutMemory(b *testing.B) {
	clienttest.RequireRoot(b)
	bin := testSnapBinary(b)
	for _, n := range []int{200, 1000} {
		b.Run(fmt.Sprintf("sessions=%d", n), func(b *testing.B) {
			f := clienttest.NewFleet(b)
			var good, hang []int
			for i := range n {
				if i%10 == 0 {
					hang = append(hang, 30000+i)
				} else {
					good = append(good, 30000+i)
				}
			}
			f.StartMany(good, clienttest.Real)
			f.StartMany(hang, clienttest.Hang)
			var peak int64
			for b.Loop() {
				cmd := exec.Command(bin, "sessions", "list", "--timeout=500ms", "--no-repair")
				cmd.Env = []string{envRuntimeDir + "=" + f.Base}
				out, err := cmd.Output()
				// Exit status 1 is expected: the hanging agents time out.
				if exitErr, ok := err.(*exec.ExitError); err != nil && (!ok || exitErr.ExitCode() != 1) {
					b.Fatalf("snap sessions list: %v", err)
				}
				if got := bytes.Count(out, []byte("\n")); got != n+1 {
					b.Fatalf("snap sessions list printed %d lines, want a header and %d sessions", got, n)
				}
				if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
					peak = max(peak, ru.Maxrss)
				}
			}
			b.ReportMetric(float64(peak)/1024, "maxrss-MiB")
		})
	}
}

// testSnapBinary is SNAP_TEST_BINARY when set (to measure another build), else this
// tree's snap, built for the benchmark.
func testSnapBinary(b *testing.B) string {
	if bin := os.Getenv("SNAP_TEST_BINARY"); bin != "" {
		return bin
	}
	bin := filepath.Join(b.TempDir(), "snap")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("cannot build snap: %v: %s", err, out)
	}
	return bin
}
