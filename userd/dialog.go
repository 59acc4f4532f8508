package userd

import (
	"context"
	"errors"
	"fmt"
	"html"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Asker puts a yes/no question to the user.
type Asker interface {
	// YesNo shows primary (a title) and secondary (the question) as plain text and
	// returns true only if the user answered yes within timeout; no, a closed or
	// timed-out dialog, and a dialog that cannot be shown are all false.
	YesNo(ctx context.Context, primary, secondary string, timeout time.Duration) (bool, error)
}

// ErrNoDialog is a desktop without zenity and kdialog.
var ErrNoDialog = errors.New("cannot ask the user: neither zenity nor kdialog is installed")

// NewAsker returns the dialog tool of the desktop: kdialog on KDE
// ($XDG_CURRENT_DESKTOP contains "KDE") when installed, else zenity, else kdialog.
// The tool is looked up at each question, so installing one needs no restart.
func NewAsker() Asker { return toolAsker{} }

type toolAsker struct{}

// dialogGrace is how long past its own timeout a dialog tool may take to go away
// before it is killed (kdialog has no timeout of its own: it is always killed).
const dialogGrace = 5 * time.Second

func (toolAsker) YesNo(ctx context.Context, primary, secondary string, timeout time.Duration) (bool, error) {
	tool, err := dialogTool()
	if err != nil {
		return false, err
	}
	// Both tools read the text as markup (Pango for zenity, Qt rich text for kdialog):
	// a snap name or a path must not be able to change what the question says.
	text := fmt.Sprintf("<big><b>%s</b></big>\n\n%s\n\n<small>%s</small>",
		html.EscapeString(primary), html.EscapeString(secondary),
		html.EscapeString("This dialog closes by itself after "+humanDuration(timeout)+"."))
	var args []string
	switch tool {
	case "zenity":
		args = []string{"--question", "--modal", "--title=" + primary, "--text=" + text,
			"--width=500", "--timeout=" + strconv.Itoa(int(timeout/time.Second))}
	case "kdialog":
		args = []string{"--title", primary, "--yesno", strings.ReplaceAll(text, "\n", "<br>")}
		timeout -= dialogGrace
	}
	ctx, cancel := context.WithTimeout(ctx, timeout+dialogGrace)
	defer cancel()
	cmd := exec.CommandContext(ctx, tool, args...)
	cmd.WaitDelay = waitDelay
	err = cmd.Run()
	switch {
	case err == nil:
		return true, nil
	case ctx.Err() != nil:
		return false, nil
	case errors.As(err, new(*exec.ExitError)):
		// The dialog was shown and did not say yes: zenity exits 1 for no or closed,
		// 5 when timed out; kdialog 1 for no, 2 when cancelled; either may be killed.
		return false, nil
	default:
		return false, commandError(ctx, tool, err, "")
	}
}

// humanDuration says d in whole minutes, or seconds under two minutes.
func humanDuration(d time.Duration) string {
	if d >= 2*time.Minute {
		return strconv.Itoa(int(d/time.Minute)) + " minutes"
	}
	return strconv.Itoa(int(d/time.Second)) + " seconds"
}

// dialogTool picks zenity or kdialog from $PATH.
func dialogTool() (string, error) {
	_, zerr := exec.LookPath("zenity")
	_, kerr := exec.LookPath("kdialog")
	kde := strings.Contains(strings.ToUpper(os.Getenv("XDG_CURRENT_DESKTOP")), "KDE")
	switch {
	case kerr == nil && (kde || zerr != nil):
		return "kdialog", nil
	case zerr == nil:
		return "zenity", nil
	default:
		return "", ErrNoDialog
	}
}
