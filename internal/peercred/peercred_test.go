package peercred_test

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/snapcore-ng/usersession-agent/internal/peercred"
)

func self() peercred.Cred {
	return peercred.Cred{UID: uint32(os.Getuid()), GID: uint32(os.Getgid()), PID: int32(os.Getpid())}
}

// wrapped hides a connection behind NetConn, as TLS and counting wrappers do.
type wrapped struct{ net.Conn }

func (w wrapped) NetConn() net.Conn { return w.Conn }

func TestBothEndsOfAUnixSocketSeeThisProcess(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "s.socket")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	client, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, ok := <-accepted
	if !ok {
		t.Fatal("accept failed")
	}
	defer server.Close()

	for name, c := range map[string]net.Conn{
		"client side": client, "server side": server,
		"wrapped twice": wrapped{wrapped{server}},
	} {
		got, err := peercred.Read(c)
		if err != nil {
			t.Errorf("%s: %v", name, err)
		} else if got != self() {
			t.Errorf("%s: %+v, want %+v", name, got, self())
		}
	}
	// Reading does not make the socket blocking, as File() would.
	raw, err := client.(*net.UnixConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	raw.Control(func(fd uintptr) {
		flags, err := unix.FcntlInt(fd, unix.F_GETFL, 0)
		if err != nil || flags&unix.O_NONBLOCK == 0 {
			t.Errorf("socket flags %#x (%v): not non-blocking any more", flags, err)
		}
	})
}

func TestASocketpairSeesThisProcess(t *testing.T) {
	t.Parallel()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, fd := range fds {
		f := os.NewFile(uintptr(fd), "socketpair")
		c, err := net.FileConn(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		got, err := peercred.Read(c)
		if err != nil || got != self() {
			t.Errorf("end %d: %+v, %v; want %+v", i, got, err, self())
		}
	}
}

func TestAConnectionThatIsNoSocketIsAnError(t *testing.T) {
	t.Parallel()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if _, err := peercred.Read(wrapped{a}); err == nil || !strings.Contains(err.Error(), "cannot read peer credentials: *net.pipe is not a socket") {
		t.Errorf("net.Pipe: got %v", err)
	}
}
