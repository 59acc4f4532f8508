package userd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// Deadlines of the external commands. snapd waits for them without limit; a desktop
// tool that hangs would then hold the caller and keep the service alive for ever.
const (
	// toolTimeout bounds xdg-mime and xdg-settings, which only read or write
	// configuration.
	toolTimeout = 10 * time.Second
	// openTimeout bounds xdg-open and systemd-run. xdg-open may wait for the handler
	// it starts; past this the call fails and the handler keeps running.
	openTimeout = 30 * time.Second
	// waitDelay is how long a command that has exited (or been killed) may keep its
	// output pipes open through children it left behind before they are closed.
	waitDelay = time.Second
)

// CommandError is an external command that failed or did not finish in time.
type CommandError struct {
	Command  string
	Err      error
	Stderr   string
	TimedOut bool
}

func (e *CommandError) Error() string {
	switch {
	case e.TimedOut:
		return fmt.Sprintf("%s did not finish in time", e.Command)
	case e.Stderr != "":
		return fmt.Sprintf("%s failed: %v: %s", e.Command, e.Err, e.Stderr)
	default:
		return fmt.Sprintf("%s failed: %v", e.Command, e.Err)
	}
}

func (e *CommandError) Unwrap() error { return e.Err }

// startCommand takes a slot for one external command run for c, or refuses it at once
// (LimitsExceeded) when maxCommandsPerSnap run for c's snap or maxCommands in all;
// done gives the slot back.
func (s *Service) startCommand(c *Caller, name string) (done func(), err error) {
	done, err = s.commands.enter(c.Snap)
	if err != nil {
		return nil, fmt.Errorf("cannot run %s: %w", name, err)
	}
	return done, nil
}

// runFor is runOutput for c, in one of the slots of startCommand.
func (s *Service) runFor(ctx context.Context, c *Caller, timeout time.Duration, name string, args ...string) (string, error) {
	done, err := s.startCommand(c, name)
	if err != nil {
		return "", err
	}
	defer done()
	return runOutput(ctx, timeout, name, args...)
}

// runOutput runs name with args under timeout and returns its trimmed standard
// output; stderr (first KiB) goes into the error.
func runOutput(ctx context.Context, timeout time.Duration, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = waitDelay
	if err := cmd.Run(); err != nil {
		return "", commandError(ctx, name, err, stderr.String())
	}
	return strings.TrimSpace(stdout.String()), nil
}

// commandError wraps the failure of name; ctx is the command's own context.
func commandError(ctx context.Context, name string, err error, stderr string) error {
	const maxStderr = 1024
	stderr = strings.TrimSpace(stderr)
	if len(stderr) > maxStderr {
		stderr = stderr[:maxStderr]
	}
	return &CommandError{
		Command:  name,
		Err:      err,
		Stderr:   stderr,
		TimedOut: errors.Is(ctx.Err(), context.DeadlineExceeded),
	}
}
