package logger_test

import (
	"bytes"
	"testing"

	"github.com/snapcore-ng/usersession-agent/internal/logger"
)

func TestLinesHaveNoTimeAndDebugOnlyWhenVerbose(t *testing.T) {
	for _, verbose := range []bool{false, true} {
		var buf bytes.Buffer
		log := logger.New(&buf, verbose)
		log.Debug("detail", "n", 1)
		log.Info("serving", "socket", "/run/user/1000/x")
		want := "level=INFO msg=serving socket=/run/user/1000/x\n"
		if verbose {
			want = "level=DEBUG msg=detail n=1\n" + want
		}
		if buf.String() != want {
			t.Errorf("verbose %v: %q, want %q", verbose, buf.String(), want)
		}
	}
}
