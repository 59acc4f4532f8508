// Package logger makes the one kind of logger this project's daemons write with: the
// session agent (`snap userd --agent`) and `snap userd` log through it, on stderr,
// which the journal captures for their user units.
package logger

import (
	"io"
	"log/slog"
)

// New returns a logger writing text lines (slog's key=value form) on w, debug messages
// included when verbose. Lines carry no time: the journal adds its own.
func New(w io.Writer, verbose bool) *slog.Logger {
	level := slog.LevelInfo
	if verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
}
