package client

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"unicode/utf8"

	"github.com/godbus/dbus/v5"

	"github.com/snapcore-ng/usersession-agent/internal/dbuspeer"
)

// acceptAnyManager makes the client take whatever serves a manager socket for the
// user's manager until the test ends: a manager that passed the check may still send
// anything.
func acceptAnyManager(t *testing.T) {
	t.Helper()
	old := verifyManager
	t.Cleanup(func() { verifyManager = old })
	verifyManager = func(*managers, context.Context, net.Conn, string, int) error { return nil }
}

// serveManager serves base/UID/systemd/private with m until the test ends.
func serveManager(t testing.TB, base string, m *dbuspeer.Manager) {
	t.Helper()
	l, err := net.Listen("unix", managerDir(t, base))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go m.ServeAll(l, nil)
}

// socketUnit is a healthy socket unit's state; long makes each state that many
// bytes of text.
func socketUnit(long int) map[string]dbus.Variant {
	props := map[string]dbus.Variant{}
	for name, v := range map[string]string{"LoadState": "loaded", "ActiveState": "active", "SubState": "listening", "Result": "success"} {
		if long > 0 {
			v = strings.Repeat("é", long/2)
		}
		props[name] = dbus.MakeVariant(v)
	}
	return props
}

// The states a manager reports are kept as bounded as the table shows them, in
// JSON too: a state of 60 KiB (under the message limit) comes out as 200 runes.
func TestRepairedStatesAreBounded(t *testing.T) {
	onHost(t, "")
	acceptAnyManager(t)
	base := t.TempDir()
	serveManager(t, base, &dbuspeer.Manager{Props: socketUnit(60 << 10)})
	c := New(Options{RuntimeDir: base, RepairAgents: true})
	res, err := c.Repair(t.Context(), UIDs(os.Getuid()))
	if err != nil {
		t.Fatal(err)
	}
	rep := res.Outcomes[0].Repaired
	if rep == nil {
		t.Fatalf("no repair: %v", res.Outcomes[0].Err)
	}
	for _, st := range []UnitState{rep.Before, rep.After} {
		for _, s := range []string{st.LoadState, st.ActiveState, st.SubState, st.Result} {
			if n := utf8.RuneCountInString(s); n != maxManagerRunes+1 || !strings.HasSuffix(s, "…") {
				t.Errorf("a 60 KiB state is kept as %d runes (%.20q...)", n, s)
			}
		}
	}
}

// A manager that passed the check and answers the restart with 60 KiB of error text
// (under the message limit) fails the repair with that text cut to the same 200 runes
// as its states: the error reaches JSON as it is.
func TestRepairErrorsFromTheManagerAreBounded(t *testing.T) {
	onHost(t, "")
	acceptAnyManager(t)
	base := t.TempDir()
	long := strings.Repeat("é", 30<<10)
	serveManager(t, base, &dbuspeer.Manager{Props: socketUnit(0), Answer: func(c *dbuspeer.Conn, call *dbus.Message) (bool, error) {
		if dbuspeer.Member(call) != "org.freedesktop.systemd1.Manager.RestartUnit" {
			return false, nil
		}
		return true, c.ReplyError(call, "org.freedesktop.DBus.Error.Failed", long)
	}})
	c := New(Options{RuntimeDir: base, RepairAgents: true})
	res, err := c.Repair(t.Context(), UIDs(os.Getuid()))
	if err != nil {
		t.Fatal(err)
	}
	msg := res.Outcomes[0].Err.Error()
	_, why, ok := strings.Cut(msg, "and cannot repair it: ")
	if !ok || !strings.Contains(why, "éé") {
		t.Fatalf("the repair's error does not say why: %.300q", msg)
	}
	if n := utf8.RuneCountInString(why); n > maxManagerRunes+1 || !strings.HasSuffix(why, "…") {
		t.Errorf("a 60 KiB error from the manager is kept as %d runes", n)
	}
}

// hugeSignals sends signals of nearly 128 MiB (godbus's limit) until the client
// hangs up.
func hugeSignals(c *dbuspeer.Conn) error {
	for {
		if err := c.SendHuge(dbuspeer.Signal("/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager", "Reloading", ""), 128<<20-1024); err != nil {
			return err
		}
	}
}

// hugeAnswers answers every property Get with a string of nearly 128 MiB.
func hugeAnswers(c *dbuspeer.Conn, call *dbus.Message) (bool, error) {
	if dbuspeer.Member(call) != "org.freedesktop.DBus.Properties.Get" {
		return false, nil
	}
	return true, c.SendHuge(dbuspeer.ReplyTo(call, dbus.MakeVariant("")), 128<<20-1024)
}

// memoryChild is set in the child process of TestRootMemoryAgainstHugeManagerMessages.
const memoryChild = "USERSESSION_CLIENT_MEMORY_CHILD"

// runRepairChild runs `repair` of this uid in a child process against the manager
// socket under base, with the manager check accepting it, and returns the child's
// output (the outcome's error) and its peak resident memory in KiB.
func runRepairChild(t testing.TB, base string) (string, int64) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestRootMemoryAgainstHugeManagerMessages$")
	cmd.Env = append(os.Environ(), memoryChild+"="+base)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the child failed: %v\n%s", err, out)
	}
	return string(out), cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss
}

// A manager that passed the check sends messages of 128 MiB, signals and answers:
// root's repair ends with an error saying the manager sent too much, and root's
// peak memory (a child process running the repair, its maximum resident set) stays
// under 64 MiB. Before issue 19 the same cost `snap sessions list` about 1 GB per
// session (1,034,424 KB maximum resident set, as measured by the red team).
func TestRootMemoryAgainstHugeManagerMessages(t *testing.T) {
	if base := os.Getenv(memoryChild); base != "" {
		acceptAnyManager(t)
		onHost(t, "")
		c := New(Options{RuntimeDir: base, RepairAgents: true})
		res, err := c.Repair(context.Background(), UIDs(os.Getuid()))
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(res.Outcomes[0].Err)
		return
	}
	for name, m := range hugeManagers() {
		t.Run(name, func(t *testing.T) {
			base := t.TempDir()
			serveManager(t, base, m)
			out, peak := runRepairChild(t, base)
			t.Logf("peak RSS %d KiB: %s", peak, strings.TrimSpace(out))
			want := map[string]string{
				"signals": "the systemd manager sent more than 1048576 bytes",
				"answers": "over this connection's limit of 65536",
			}[name]
			if !strings.Contains(out, "cannot repair it") || !strings.Contains(out, want) {
				t.Errorf("the repair's error is %q, want it to say %q", out, want)
			}
			if peak >= 64<<10 {
				t.Errorf("root's peak memory against 128 MiB messages: %d KiB, want under 64 MiB", peak)
			}
		})
	}
}

// hugeManagers are managers that send 128 MiB messages: signals after the
// handshake, or answers to the property reads.
func hugeManagers() map[string]*dbuspeer.Manager {
	return map[string]*dbuspeer.Manager{
		"signals": {Props: socketUnit(0), Before: hugeSignals},
		"answers": {Props: socketUnit(0), Answer: hugeAnswers},
	}
}

// BenchmarkRootMemoryAgainstHugeManagerMessages reports root's peak memory (the
// maximum resident set of a child process running `repair` of one session, MiB)
// against a manager that sends 128 MiB messages, and against an honest one (the
// baseline: the same repair against a manager whose answers are a healthy socket
// unit's).
//
//	go test -run '^$' -bench RootMemoryAgainstHugeManagerMessages -benchtime 3x ./usersession/client/
func BenchmarkRootMemoryAgainstHugeManagerMessages(b *testing.B) {
	managers := hugeManagers()
	managers["honest"] = &dbuspeer.Manager{Props: socketUnit(0)}
	for _, name := range []string{"honest", "signals", "answers"} {
		b.Run(name, func(b *testing.B) {
			base := b.TempDir()
			serveManager(b, base, managers[name])
			var peak int64
			for b.Loop() {
				_, rss := runRepairChild(b, base)
				peak = max(peak, rss)
			}
			b.ReportMetric(float64(peak)/1024, "maxrss-MiB")
		})
	}
}
