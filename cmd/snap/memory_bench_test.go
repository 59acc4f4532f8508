package main

import (
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
	bin := os.Getenv("SNAP_TEST_BINARY")
	if bin == "" {
		bin = filepath.Join(b.TempDir(), "snap")
		if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
			b.Fatalf("cannot build snap: %v: %s", err, out)
		}
	}
	for _, fleet := range []struct {
		name      string
		behaviour string
	}{{"honest", clienttest.Good}, {"flooding", clienttest.StatusFlood}} {
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
