package notification_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/snapcore-ng/usersession-agent/desktop/notification"
	"github.com/snapcore-ng/usersession-agent/testkit/dbustest"
	"github.com/snapcore-ng/usersession-agent/testkit/testenv"
)

// newManager returns a manager on a fresh connection to bus that owns the agent's
// name, as the agent does: objects exported (by Start) before the name is requested.
func newManager(t *testing.T, bus *dbustest.Bus, cfg notification.Config) *notification.Manager {
	t.Helper()
	conn := bus.Connect(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m := notification.New(cfg)
	if err := m.Start(ctx, conn); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	dbustest.RequestName(t, conn, notification.DefaultAppID)
	return m
}

func kindOf(err error) notification.Kind {
	if nerr, ok := errors.AsType[*notification.Error](err); ok {
		return nerr.Kind
	}
	return ""
}

func waitFinal(t *testing.T, m *notification.Manager, id string) notification.Status {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	st, err := m.Wait(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if !st.State.Final() {
		t.Fatalf("notification %s still %s after 20s", id, st.State)
	}
	return st
}

// dunst is a real freedesktop notification server on an Xvfb display, on a test bus.
// Its context menu (how dunst lets the user pick one of several actions) runs a
// stand-in for dmenu that picks the line naming the label in choiceFile.
type dunst struct {
	bus        *dbustest.Bus
	choiceFile string
	cmd        *exec.Cmd
}

func startDunst(t *testing.T, bus *dbustest.Bus) *dunst {
	t.Helper()
	for _, bin := range []string{"dunst", "dunstctl", "Xvfb"} {
		if _, err := exec.LookPath(bin); err != nil {
			testenv.SkipOrFail(t, bin+" is not installed (packages dunst, xvfb)")
		}
	}
	display := startXvfb(t)
	dir := t.TempDir()
	d := &dunst{bus: bus, choiceFile: filepath.Join(dir, "choice")}
	dmenu := filepath.Join(dir, "dmenu")
	writeFile(t, dmenu, fmt.Sprintf("#!/bin/sh\ngrep -m1 -F -- \"#$(cat %s) (\"\n", d.choiceFile), 0o755)
	config := filepath.Join(dir, "dunstrc")
	writeFile(t, config, "[global]\ndmenu = "+dmenu+"\n", 0o644)
	d.cmd = exec.Command("dunst", "-config", config)
	d.cmd.Env = bus.Env("DISPLAY=" + display)
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.stop)
	testenv.WaitFor(t, 20*time.Second, "dunst to own its name", func() bool {
		out, err := d.ctl("is-paused")
		return err == nil && strings.TrimSpace(out) == "false"
	})
	return d
}

func (d *dunst) stop() {
	if d.cmd.Process != nil {
		syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
		d.cmd.Wait()
	}
}

func (d *dunst) ctl(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "dunstctl", args...)
	cmd.Env = d.bus.Env()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("dunstctl %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

func (d *dunst) displayed(t *testing.T) int {
	t.Helper()
	out, err := d.ctl("count", "displayed")
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil {
		t.Fatalf("cannot read dunstctl count: %q", out)
	}
	return n
}

// choose makes dunst's context menu pick the action labelled label.
func (d *dunst) choose(t *testing.T, label string) {
	t.Helper()
	writeFile(t, d.choiceFile, label, 0o644)
}

// startXvfb runs an X server on a free display and returns the display's name.
func startXvfb(t *testing.T) string {
	t.Helper()
	cmd := exec.Command("Xvfb", "-displayfd", "3", "-screen", "0", "1024x768x24", "-nolisten", "tcp")
	return ":" + testenv.StartAnnouncing(t, cmd, "Xvfb")
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}
