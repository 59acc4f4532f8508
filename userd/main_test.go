package userd_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"golang.org/x/sys/unix"
)

// The test binary is also the client the tests run as a (confined) caller: with
// USERD_TEST_CLIENT=1 it makes one call, prints "OK result" or "ERROR name: message"
// and exits 0 or 1.
func TestMain(m *testing.M) {
	if os.Getenv("USERD_TEST_CLIENT") == "1" {
		os.Exit(runClient(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// runClient makes the call args say: "OpenFile MODE PATH [OTHER]" (MODE: read,
// opath, swap: OTHER is renamed over PATH once it is open) or "INTERFACE.METHOD
// STRING...", on the object of INTERFACE.
func runClient(args []string) int {
	conn, err := dbus.Connect(os.Getenv("DBUS_SESSION_BUS_ADDRESS"))
	if err != nil {
		fmt.Println("ERROR connect:", err)
		return 1
	}
	defer conn.Close()
	var iface, method string
	var callArgs []any
	if args[0] == "OpenFile" {
		iface, method = "io.snapcraft.Launcher", "OpenFile"
		fd, err := openForClient(args[1], args[2:])
		if err != nil {
			fmt.Println("ERROR open:", err)
			return 1
		}
		callArgs = []any{"", dbus.UnixFD(fd)}
	} else {
		i := strings.LastIndexByte(args[0], '.')
		iface, method = args[0][:i], args[0][i+1:]
		for _, a := range args[1:] {
			callArgs = append(callArgs, a)
		}
	}
	path := dbus.ObjectPath("/" + strings.ReplaceAll(iface, ".", "/"))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	call := conn.Object(iface, path).CallWithContext(ctx, iface+"."+method, 0, callArgs...)
	var dbusErr dbus.Error
	switch {
	case errors.As(call.Err, &dbusErr):
		fmt.Printf("ERROR %s: %v\n", dbusErr.Name, dbusErr.Body)
		return 1
	case call.Err != nil:
		fmt.Println("ERROR call:", call.Err)
		return 1
	}
	var result string
	if len(call.Body) > 0 {
		result, _ = call.Body[0].(string)
	}
	fmt.Println("OK", result)
	return 0
}

func openForClient(mode string, paths []string) (int, error) {
	switch mode {
	case "read":
		return unix.Open(paths[0], unix.O_RDONLY, 0)
	case "opath":
		return unix.Open(paths[0], unix.O_PATH, 0)
	case "swap":
		fd, err := unix.Open(paths[0], unix.O_RDONLY, 0)
		if err != nil {
			return -1, err
		}
		return fd, os.Rename(paths[1], paths[0])
	}
	return -1, fmt.Errorf("unknown mode %q", mode)
}
