package procfs_test

import (
	"os"
	"strings"
	"testing"

	"github.com/snapcore-ng/usersession-agent/internal/procfs"
)

func TestStatusFieldOfThisProcess(t *testing.T) {
	threads, err := procfs.StatusField(procfs.Self, "Threads")
	if err != nil || threads < 1 {
		t.Fatalf("threads %d, %v", threads, err)
	}
	rss, err := procfs.StatusField(os.Getpid(), "VmRSS")
	if err != nil || rss < 1 {
		t.Fatalf("VmRSS %d KiB, %v", rss, err)
	}
	if _, err := procfs.StatusField(procfs.Self, "NoSuchField"); err == nil || !strings.Contains(err.Error(), "no NoSuchField") {
		t.Fatalf("missing field gave %v", err)
	}
}
