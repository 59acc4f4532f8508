package usersessiontest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// repoRoot is the repository's top directory: the nearest one above the working
// directory that has a go.mod and the harness script (test-only modules below it,
// such as tests/snapdcompat, have a go.mod of their own).
func repoRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	for {
		if exists(filepath.Join(dir, "go.mod")) && exists(filepath.Join(dir, "tests", "lib", "user-session")) {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			panic("cannot find the repository root (no go.mod above the working directory)")
		}
		dir = parent
	}
}

func scriptPath() string {
	return filepath.Join(repoRoot(), "tests", "lib", "user-session")
}

func script(env []string, args ...string) error {
	_, err := scriptOutput(env, args...)
	return err
}

// scriptTimeout bounds every step of the harness: a hung manager must fail its test,
// not hold the whole test binary until go test's own timeout.
const scriptTimeout = 2 * time.Minute

func scriptOutput(env []string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), scriptTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, scriptPath(), args...)
	// Children (systemctl, nsenter) may keep the output pipe open after a kill.
	cmd.WaitDelay = 5 * time.Second
	if env != nil {
		cmd.Env = env
	}
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	return out.String(), err
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
