package client_test

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/snapcore-ng/usersession-agent/usersession/client"
	"github.com/snapcore-ng/usersession-agent/usersession/client/clienttest"
	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

// Every hostile agent we can think of, plus two good ones, answer one fan-out call:
// each hostile one fails with its own typed, uid-naming error within its deadline,
// the good ones' results are intact, and the client's memory stays bounded.
func TestHostileAgentsCannotHurtTheClientOrTheOtherSessions(t *testing.T) {
	clienttest.RequireRoot(t)
	f := clienttest.NewFleet(t)

	const (
		good      = 42001
		nobody    = 65534 // a good agent of snapd's dialect, as the real nobody
		hang      = 42003
		trickleB  = 42004
		trickleH  = 42005
		huge      = 42006
		hugeCL    = 42007
		badJSON   = 42008
		wrongEnv  = 42009
		dies      = 42010
		symlink   = 42011
		otherOwn  = 42012 // socket file belongs to another uid
		otherSrv  = 42014 // socket chowned to the user, served by another uid
		rootSrv   = 42016 // socket chowned to the user, served by root
		noAgent   = 42017
		otherUser = 42099
	)
	f.Start(good, clienttest.Real)
	f.Start(nobody, clienttest.Snapd)
	for uid, b := range map[int]string{
		hang: clienttest.Hang, trickleB: clienttest.TrickleBody, trickleH: clienttest.TrickleHeaders,
		huge: clienttest.Huge, hugeCL: clienttest.HugeContentLength, badJSON: clienttest.BadJSON,
		wrongEnv: clienttest.WrongEnvelope, dies: clienttest.DieMidBody,
	} {
		f.Start(uid, b)
	}
	// The user's socket path is a symlink to another user's real agent.
	_, s := f.UserDir(symlink)
	os.Symlink(filepath.Join(f.Base, strconv.Itoa(good), client.SocketName), s)
	// Another user's agent socket moved into this user's directory...
	other := f.Start(otherUser, clienttest.Real)
	_, s = f.UserDir(otherOwn)
	must(t, os.Rename(other.Socket, s))
	// ...and one also chowned to the user, so only the peer check can tell.
	other = f.Start(otherUser, clienttest.Real)
	_, s = f.UserDir(otherSrv)
	must(t, os.Rename(other.Socket, s))
	must(t, os.Chown(s, otherSrv, otherSrv))
	// Root serving the user's socket (an agent process of its own, as the others are,
	// so that the goroutines counted below are the client's alone).
	_, s = f.UserDir(rootSrv)
	f.StartAt(0, s, clienttest.Real)
	must(t, os.Chown(s, rootSrv, rootSrv))

	const (
		connect = 1 * time.Second
		headers = 2 * time.Second
		total   = 3 * time.Second
		margin  = 1500 * time.Millisecond
	)
	c := client.New(client.Options{RuntimeDir: f.Base, ConnectTimeout: connect, HeaderTimeout: headers, Timeout: total})
	uids := []int{nobody, hang, good, trickleB, trickleH, huge, hugeCL, badJSON, wrongEnv, dies, symlink, otherOwn, otherSrv, rootSrv, noAgent}

	goroutines := runtime.NumGoroutine()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	res, err := c.SessionInfo(t.Context(), client.UIDs(uids...))
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if elapsed > total+margin {
		t.Errorf("fan-out took %v, more than the per-agent deadline %v plus %v", elapsed, total, margin)
	}
	// Two agents sent 100 MB each; the client may have read a little more than
	// its 1 MiB cap from each, never the bodies.
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 40<<20 {
		t.Errorf("the client allocated %d MiB during the call", grew>>20)
	}

	// Every goroutine the call started (its own and its transports') is gone
	// once the connections' last bytes are through.
	for wait := time.Now(); runtime.NumGoroutine() > goroutines && time.Since(wait) < 2*time.Second; {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > goroutines {
		t.Errorf("%d goroutines before the call, %d after", goroutines, n)
	}

	byUID := map[int]client.Outcome[wire.SessionInfo]{}
	for i, o := range res.Outcomes {
		byUID[o.UID] = o
		if i > 0 && res.Outcomes[i-1].UID >= o.UID {
			t.Errorf("outcomes not sorted by uid")
		}
	}
	if len(res.Outcomes) != len(uids) {
		t.Fatalf("want %d outcomes, got %d", len(uids), len(res.Outcomes))
	}
	if o := byUID[good]; !o.OK() || o.Result.Version != "fake-1.0" || *o.Result.UID != good {
		t.Errorf("good agent: %+v", o)
	}
	if o := byUID[nobody]; !o.OK() || o.Result.Version != "2.63" {
		t.Errorf("nobody's agent: %+v", o)
	}

	timeout := func(phase string, limit time.Duration) func(error) string {
		return func(err error) string {
			var te *client.TimeoutError
			if !errors.As(err, &te) || te.Phase != phase || te.Limit != limit {
				return "want a " + phase + " timeout after " + limit.String()
			}
			return ""
		}
	}
	kind := func(k client.Kind, extra func(error) bool) func(error) string {
		return func(err error) string {
			if client.KindOf(err) != k || (extra != nil && !extra(err)) {
				return "want kind " + string(k)
			}
			return ""
		}
	}
	peer := func(peerUID int) func(error) bool {
		return func(err error) bool {
			var ie *client.IdentityError
			return errors.As(err, &ie) && ie.PeerUID == peerUID
		}
	}
	for uid, check := range map[int]func(error) string{
		hang:     timeout(client.PhaseHeaders, headers),
		trickleH: timeout(client.PhaseHeaders, headers),
		trickleB: timeout(client.PhaseBody, total),
		huge:     kind(client.KindInvalidResponse, client.IsTooLarge),
		hugeCL:   kind(client.KindInvalidResponse, client.IsTooLarge),
		badJSON:  kind(client.KindInvalidResponse, nil),
		wrongEnv: kind(client.KindInvalidResponse, nil),
		dies:     kind(client.KindTransportError, nil),
		symlink:  kind(client.KindUnsafeSocket, nil),
		otherOwn: kind(client.KindUnsafeSocket, nil),
		otherSrv: kind(client.KindRefused, peer(otherUser)),
		rootSrv:  kind(client.KindRefused, peer(0)),
		noAgent:  kind(client.KindNoAgent, nil),
	} {
		o := byUID[uid]
		if o.Err == nil {
			t.Errorf("uid %d: no error", uid)
			continue
		}
		if problem := check(o.Err); problem != "" {
			t.Errorf("uid %d: %s, got %s: %v", uid, problem, o.Kind(), o.Err)
		}
		if want := "cannot get session info for uid " + strconv.Itoa(uid) + ": "; !strings.HasPrefix(o.Err.Error(), want) {
			t.Errorf("uid %d: error %q does not start with %q", uid, o.Err, want)
		}
	}

	if n := len(res.Failed()); n != len(uids)-2 {
		t.Errorf("%d failed outcomes, want %d", n, len(uids)-2)
	}
	joined := res.Err().Error()
	for _, uid := range uids[1:] {
		if uid != good && !strings.Contains(joined, "uid "+strconv.Itoa(uid)+":") {
			t.Errorf("joined error does not name uid %d", uid)
		}
	}
	counts := res.Counts()
	if counts[client.KindOK] != 2 || counts[client.KindTimeout] != 3 || counts[client.KindRefused] != 2 || counts[client.KindInvalidResponse] != 4 {
		t.Errorf("counts = %v", counts)
	}
	t.Logf("%d sessions in %v:\n%v", len(uids), elapsed.Round(time.Millisecond), res.Err())
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// An agent answering "101 Switching Protocols" gets its answer refused at once, as an
// invalid answer; neither the call, nor the caller's cancellation, nor the other
// sessions' results wait on the raw connection it tried to take over.
func TestProtocolSwitchIsAnInvalidAnswer(t *testing.T) {
	clienttest.RequireRoot(t)
	f := clienttest.NewFleet(t)
	const good, switcher = 42101, 42102
	f.Start(good, clienttest.Real)
	f.Start(switcher, clienttest.SwitchProtocols)
	// A long whole-call deadline, so that only refusing the answer can end the
	// call before the test's own guard.
	c := client.New(client.Options{RuntimeDir: f.Base}).WithTimeout(time.Hour)

	type answer struct {
		res *client.Results[[]wire.ServiceUnitStatus]
		err error
	}
	done := make(chan answer, 1)
	go func() {
		res, err := c.ServiceStatus(t.Context(), client.UIDs(good, switcher), []string{"snap.a.b.service"})
		done <- answer{res, err}
	}()
	var a answer
	select {
	case a = <-done:
	case <-time.After(time.Minute):
		t.Fatal("the call still waits on the agent that switched protocols")
	}
	if a.err != nil {
		t.Fatal(a.err)
	}
	if o := a.res.Outcomes[0]; o.UID != good || !o.OK() {
		t.Errorf("good agent: %+v", o)
	}
	o := a.res.Outcomes[1]
	var ie *client.InvalidResponseError
	if !errors.As(o.Err, &ie) || ie.Status != 101 {
		t.Fatalf("switching agent: want an invalid answer with status 101, got %v", o.Err)
	}
	t.Log(o.Err)
}

// Whatever the status line says, the connection itself carries the whole-call
// deadline: a read past it fails, so no byte from an agent is awaited longer.
func TestAgentConnectionsCarryTheWholeCallDeadline(t *testing.T) {
	clienttest.RequireRoot(t)
	f := clienttest.NewFleet(t)
	const hang = 42103
	a := f.Start(hang, clienttest.Hang)
	deadline := time.Now().Add(300 * time.Millisecond)
	conn, err := client.DialForTest(t.Context(), client.Session{UID: hang, Socket: a.Socket}, time.Second, deadline)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("GET /v1/session-info HTTP/1.1\r\nHost: localhost\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	read := make(chan error, 1)
	go func() {
		_, err := conn.Read(make([]byte, 1))
		read <- err
	}()
	select {
	case err = <-read:
	case <-time.After(time.Minute):
		t.Fatal("a read from a silent agent outlived the call's deadline")
	}
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("read from a silent agent: want the deadline's error, got %v", err)
	}
}

// What root builds from an answer is bounded by what it asked: a 1 MiB answer of
// empty entries, or an entry for a unit nobody asked for, is an invalid answer, and
// the honest session's result is intact.
func TestStatusAnswersAreBoundedByWhatWasAsked(t *testing.T) {
	clienttest.RequireRoot(t)
	f := clienttest.NewFleet(t)
	const good, flood, extra = 42201, 42202, 42203
	f.Start(good, clienttest.Real)
	f.Start(flood, clienttest.StatusFlood)
	f.Start(extra, clienttest.StatusExtra)
	c := client.New(client.Options{RuntimeDir: f.Base})
	units := []string{"snap.a.one.service", "snap.a.two.service"}

	res, err := c.ServiceStatus(t.Context(), client.UIDs(good, flood, extra), units)
	if err != nil {
		t.Fatal(err)
	}
	if o := res.Outcomes[0]; !o.OK() || len(o.Result) != 2 || o.Result[0].Name != units[0] || o.Result[1].Name != units[1] {
		t.Errorf("good agent: %+v", o)
	}
	for _, tc := range []struct {
		o    client.Outcome[[]wire.ServiceUnitStatus]
		want string
	}{
		{res.Outcomes[1], "answer holds more than 384 entries"},
		{res.Outcomes[2], `status entry for "snap.unasked.app.service", which was not asked for`},
	} {
		var ie *client.InvalidResponseError
		if !errors.As(tc.o.Err, &ie) || !strings.Contains(ie.Reason, tc.want) || tc.o.Result != nil {
			t.Errorf("uid %d: want an invalid answer (%s) and no result, got %v, %d entries", tc.o.UID, tc.want, tc.o.Err, len(tc.o.Result))
		}
	}
}

// A user swapping their socket's path between the socket and a symlink to a
// root-only socket, as fast as they can, never makes root connect to the root-only
// one: root connects to the inode it checked, or refuses.
func TestSocketSwappedForASymlinkIsNeverConnected(t *testing.T) {
	clienttest.RequireRoot(t)
	f := clienttest.NewFleet(t)
	// A socket only root can reach, counting who connects.
	rootOnly := filepath.Join(t.TempDir(), "root-only.socket")
	l, err := net.Listen("unix", rootOnly)
	if err != nil {
		t.Fatal(err)
	}
	var reached atomic.Int32
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			reached.Add(1)
			conn.Close()
		}
	}()
	t.Cleanup(func() { l.Close() })

	// What discovery checked is replaced before the connect: by a symlink to the
	// root-only socket, or by another user's socket. Either is refused.
	const swapped, other = 42302, 42303
	a := f.Start(swapped, clienttest.Real)
	otherSocket := f.Start(other, clienttest.Real).Socket
	s := client.Session{UID: swapped, Socket: a.Socket}
	for what, swap := range map[string]func() error{
		"a symlink":             func() error { return os.Symlink(rootOnly, a.Socket) },
		"another user's socket": func() error { return os.Rename(otherSocket, a.Socket) },
	} {
		must(t, os.Remove(a.Socket))
		must(t, swap())
		conn, err := client.DialForTest(t.Context(), s, time.Second, time.Now().Add(time.Minute))
		if err == nil {
			conn.Close()
		}
		if client.KindOf(err) != client.KindUnsafeSocket {
			t.Errorf("socket swapped for %s after discovery: want an unsafe socket, got %v", what, err)
		}
	}

	if n := reached.Swap(0); n > 0 {
		t.Errorf("root connected to the root-only socket %d times", n)
	}

	// The attack itself, at full speed, by the user.
	const flipper = 42301
	f.Start(flipper, clienttest.FlipTo(rootOnly))
	c := client.New(client.Options{RuntimeDir: f.Base})
	counts := map[client.Kind]int{}
	for range 200 {
		res, err := c.SessionInfo(t.Context(), client.UIDs(flipper))
		o := only(t, res, err)
		counts[o.Kind()]++
		if !o.OK() && o.Kind() != client.KindUnsafeSocket {
			t.Errorf("want an answer or an unsafe socket, got %v", o.Err)
		}
	}
	if n := reached.Load(); n > 0 {
		t.Errorf("root connected to the root-only socket %d times out of 200", n)
	}
	t.Logf("200 calls while the path flipped: %v", counts)
}

// An agent that takes the whole request and hangs up without answering (as one
// exiting in the middle of the work does) is reported as such: the request was
// sent, its answer never came.
func TestAgentClosingBeforeAnswerNamesThePhase(t *testing.T) {
	clienttest.RequireRoot(t)
	f := clienttest.NewFleet(t)
	const closer = 42401
	f.Start(closer, clienttest.CloseBeforeAnswer)
	c := client.New(client.Options{RuntimeDir: f.Base})
	res, err := c.ServicesStart(t.Context(), client.UIDs(closer), []string{"snap.a.one.service", "snap.a.two.service"}, false)
	o := only(t, res, err)
	var te *client.TransportError
	if !errors.As(o.Err, &te) || te.Op != "read response" || !errors.Is(o.Err, client.ErrClosedBeforeAnswer) {
		t.Fatalf("want the agent named as closing after the request was sent, got %v", o.Err)
	}
	t.Log(o.Err)
}
