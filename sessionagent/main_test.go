package sessionagent_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"testing"
)

// clientModeEnv, when set to a socket path, makes the test binary a tiny client that
// asks for session-info there and prints the status and body: the tests run it as
// another user. With rawRequestEnv set too, it sends that request, as is, instead.
const (
	clientModeEnv = "SESSIONAGENT_TEST_CLIENT"
	rawRequestEnv = "SESSIONAGENT_TEST_RAW_REQUEST"
)

func TestMain(m *testing.M) {
	if path := os.Getenv(clientModeEnv); path != "" {
		os.Exit(runTestClient(path))
	}
	// Keep the agents under test off the session bus and service manager of whoever
	// runs the tests; the tests that want them say so in Config or set them again.
	// The runtime directory is an empty one: unset, it would be /run/user/UID
	// (runtimedir.Dir), the tester's own.
	for _, name := range []string{"DBUS_SESSION_BUS_ADDRESS", "NOTIFY_SOCKET", "LISTEN_PID", "LISTEN_FDS"} {
		os.Unsetenv(name)
	}
	runDir, err := os.MkdirTemp("", "sessionagent-test-rundir-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv("XDG_RUNTIME_DIR", runDir)
	code := m.Run()
	os.RemoveAll(runDir)
	os.Exit(code)
}

func runTestClient(path string) int {
	conn, err := net.Dial("unix", path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer conn.Close()
	req, _ := http.NewRequest("GET", "http://agent/v1/session-info", nil)
	if raw := os.Getenv(rawRequestEnv); raw != "" {
		_, err = io.WriteString(conn, raw)
	} else {
		err = req.Write(conn)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	rsp, err := http.ReadResponse(newReader(conn), req)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	body, _ := io.ReadAll(rsp.Body)
	fmt.Printf("%d %s", rsp.StatusCode, body)
	return 0
}
