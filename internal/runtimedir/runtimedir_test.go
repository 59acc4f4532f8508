package runtimedir_test

import (
	"os"
	"strconv"
	"testing"

	"github.com/snapcore-ng/usersession-agent/internal/runtimedir"
)

// Not parallel: the environment is process-wide.
func TestDir(t *testing.T) {
	fallback := "/run/user/" + strconv.Itoa(os.Getuid())
	for env, want := range map[string]string{
		"/run/user/1234":  "/run/user/1234",
		"/tmp/elsewhere/": "/tmp/elsewhere/",
		"":                fallback,
		"run/user/1234":   fallback,
		".":               fallback,
	} {
		t.Setenv("XDG_RUNTIME_DIR", env)
		if got := runtimedir.Dir(); got != want {
			t.Errorf("XDG_RUNTIME_DIR=%q: Dir() = %q, want %q", env, got, want)
		}
	}
	os.Unsetenv("XDG_RUNTIME_DIR")
	if got := runtimedir.Dir(); got != fallback {
		t.Errorf("XDG_RUNTIME_DIR unset: Dir() = %q, want %q", got, fallback)
	}
	if got := runtimedir.Of(1000); got != "/run/user/1000" {
		t.Errorf("Of(1000) = %q", got)
	}
}
