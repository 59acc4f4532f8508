package usersessiontest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var (
	snapOnce sync.Once
	snapPath string
	snapErr  error
)

// SnapBinary returns this build's snap binary in a directory every user may read (the
// agent runs as the session's user, and a checkout under /root is not readable by
// them). It is built once per test process, or copied from SNAP_TEST_BINARY when that
// names a prebuilt one (a relative path is taken from the repository's top).
func SnapBinary(t testing.TB) string {
	t.Helper()
	snapOnce.Do(func() {
		var dir string
		dir, snapErr = os.MkdirTemp("", "snap-agent-test-bin-")
		if snapErr != nil {
			return
		}
		if snapErr = os.Chmod(dir, 0o755); snapErr != nil {
			return
		}
		snapPath = filepath.Join(dir, "snap")
		if p := os.Getenv("SNAP_TEST_BINARY"); p != "" {
			if !filepath.IsAbs(p) {
				p = filepath.Join(repoRoot(), p)
			}
			snapErr = copyExecutable(p, snapPath)
			return
		}
		cmd := exec.Command("go", "build", "-o", snapPath, "./cmd/snap")
		cmd.Dir = repoRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			snapErr = fmt.Errorf("cannot build snap: %v\n%s", err, out)
		}
	})
	if snapErr != nil {
		t.Fatal(snapErr)
	}
	return snapPath
}

func copyExecutable(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("cannot read the snap binary: %w", err)
	}
	if err := os.WriteFile(dst, data, 0o755); err != nil {
		return fmt.Errorf("cannot copy the snap binary: %w", err)
	}
	return nil
}
