package main

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// progressThreshold is how many sessions a call must address before progress shows:
// a few answer before anyone could read it.
const progressThreshold = 8

// progress writes "42/200 sessions answered" over itself on stderr while a call fans
// out. It only does so when stderr is a terminal, so logs and pipes never get
// carriage returns.
type progress struct {
	w       io.Writer
	enabled bool
	shown   bool
}

func newProgress(w io.Writer) *progress {
	return &progress{w: w, enabled: isTerminal(w)}
}

// update is the client's Progress callback; the client serializes calls to it.
func (p *progress) update(done, total int) {
	if !p.enabled || total <= progressThreshold {
		return
	}
	fmt.Fprintf(p.w, "\r%d/%d sessions answered", done, total)
	p.shown = true
}

// done erases the progress line, if any.
func (p *progress) done() {
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
		p.shown = false
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
