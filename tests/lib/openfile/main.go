// Command openfile calls io.snapcraft.Launcher.OpenFile on the session bus with a
// descriptor of the file it is given, as a snap's app does, for the spread suite
// (tests/main/userd-open-file), the integration tests and bench/userd-flood.sh. No
// packaged tool passes a descriptor over D-Bus on the suite's systems: dbus-send and
// `gdbus call` cannot, and python3-dbus is not in the booted Debian container.
//
// Usage: openfile [-n COUNT] PATH. With COUNT (default 1) above 1, the calls are made
// all at once on one connection, as an app flooding userd would, each distinct
// outcome is printed on stdout as "N OK" or "N ERROR-NAME: MESSAGE", most frequent
// first, and how long all answers but the last took on stderr (the last is the one the
// user is asked about). The exit status is 0 when every call succeeded, 1 (with the
// D-Bus error on stderr for a single call) when one failed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/godbus/dbus/v5"
)

// callTimeout bounds the connection and the calls; it is above the 30 s of
// dbus-send --reply-timeout the other tasks use for a cold start of userd.
const callTimeout = 60 * time.Second

func main() {
	count := flag.Int("n", 1, "how many calls to make at once")
	flag.Usage = func() { fmt.Fprintln(os.Stderr, "usage: openfile [-n COUNT] PATH") }
	flag.Parse()
	if flag.NArg() != 1 || *count < 1 {
		flag.Usage()
		os.Exit(2)
	}
	path := flag.Arg(0)
	if *count == 1 {
		if err := openFile(path); err != nil {
			fmt.Fprintln(os.Stderr, "openfile:", err)
			os.Exit(1)
		}
		return
	}
	outcomes, err := flood(path, *count)
	if err != nil {
		fmt.Fprintln(os.Stderr, "openfile:", err)
		os.Exit(1)
	}
	fmt.Print(outcomes)
	if outcomes.failed() {
		os.Exit(1)
	}
}

// call starts one OpenFile call with f's descriptor on conn.
func call(ctx context.Context, conn *dbus.Conn, f *os.File, done chan *dbus.Call) *dbus.Call {
	return conn.Object("io.snapcraft.Launcher", "/io/snapcraft/Launcher").GoWithContext(ctx,
		"io.snapcraft.Launcher.OpenFile", 0, done, "", dbus.UnixFD(f.Fd()))
}

func connect(ctx context.Context) (*dbus.Conn, error) {
	conn, err := dbus.ConnectSessionBus(dbus.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("cannot connect to the session bus: %w", err)
	}
	return conn, nil
}

func openFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	conn, err := connect(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	c := <-call(ctx, conn, f, make(chan *dbus.Call, 1)).Done
	var dbusErr dbus.Error
	if errors.As(c.Err, &dbusErr) {
		// The error's name is what callers branch on (AccessDenied or Failed).
		return fmt.Errorf("cannot open %s: %s: %v", path, dbusErr.Name, dbusErr)
	}
	if c.Err != nil {
		return fmt.Errorf("cannot open %s: %w", path, c.Err)
	}
	return nil
}

// outcomes counts the answers of a flood by what they said.
type outcomes map[string]int

func (o outcomes) failed() bool { return len(o) != 1 || o["OK"] == 0 }

func (o outcomes) String() string {
	keys := make([]string, 0, len(o))
	for k := range o {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if o[keys[i]] != o[keys[j]] {
			return o[keys[i]] > o[keys[j]]
		}
		return keys[i] < keys[j]
	})
	var s string
	for _, k := range keys {
		s += fmt.Sprintf("%d %s\n", o[k], k)
	}
	return s
}

// flood makes count calls at once on one connection and waits for every answer.
func flood(path string, count int) (outcomes, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	conn, err := connect(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	done := make(chan *dbus.Call, count)
	start := time.Now()
	for i := 0; i < count; i++ {
		call(ctx, conn, f, done)
	}
	out := make(outcomes)
	for i := 0; i < count; i++ {
		if i == count-1 {
			fmt.Fprintf(os.Stderr, "%d answers but the last took %.1f ms\n", count-1, float64(time.Since(start).Microseconds())/1000)
		}
		c := <-done
		var dbusErr dbus.Error
		switch {
		case c.Err == nil:
			out["OK"]++
		case errors.As(c.Err, &dbusErr):
			out[fmt.Sprintf("%s: %v", dbusErr.Name, dbusErr.Body)]++
		default:
			out["error: "+c.Err.Error()]++
		}
	}
	return out, nil
}
