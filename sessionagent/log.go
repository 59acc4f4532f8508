package sessionagent

import (
	"io"
	"log/slog"
)

// NewLogger returns the agent's logger: text lines on w, debug messages included when
// verbose. Lines carry no time: the journal, which captures the agent's stderr, adds
// its own.
func NewLogger(w io.Writer, verbose bool) *slog.Logger {
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
