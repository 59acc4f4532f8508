package sessionagent

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/snapcore-ng/usersession-agent/internal/apierror"
	"github.com/snapcore-ng/usersession-agent/usersession/wire"
)

const (
	// maxRefusing bounds the connections being refused at once; past it, further
	// ones are closed without an answer.
	maxRefusing = 64
	// refuseTimeout bounds the time spent refusing one connection.
	refuseTimeout = time.Second
	// refuseLogInterval spaces the warnings about refused connections.
	refuseLogInterval = time.Minute
)

// connLimiter caps the connections open at once. A connection past the cap is answered
// 503 and closed by a short-lived goroutine of its own, which reads the request so that
// closing does not reset the connection before the client has read the answer. It also
// says when every connection it accepted is closed, for the drain at exit.
type connLimiter struct {
	net.Listener
	max int
	log *slog.Logger

	mu       sync.Mutex
	open     int
	draining bool
	drained  chan struct{}

	closeOnce sync.Once
	closeErr  error

	refusing atomic.Int64
	lastLog  atomic.Int64 // unix time of the last warning
	refusers sync.WaitGroup
}

func newConnLimiter(l net.Listener, maxConns int, log *slog.Logger) *connLimiter {
	return &connLimiter{Listener: l, max: maxConns, log: log, drained: make(chan struct{})}
}

// busyAnswer is the whole HTTP answer to a connection past the cap, encoded on first
// use: encoding it at every start cost about 3% of a cold start's CPU (perf), for an
// answer almost never given.
var busyAnswer = sync.OnceValue(func() []byte {
	rsp := errorResponse(apierror.Errorf(wire.ErrorKindTooManyConnections,
		"too many connections to the session agent, try again later"))
	body, _ := rsp.encode()
	return []byte(fmt.Sprintf("HTTP/1.1 %d %s\r\n", rsp.status, http.StatusText(rsp.status)) +
		"Content-Type: application/json\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n" +
		"Connection: close\r\n\r\n" + string(body))
})

func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.take() {
			return &countedConn{Conn: c, l: l}, nil
		}
		l.refuse(c)
	}
}

// take counts a new connection, unless the cap is reached.
func (l *connLimiter) take() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open >= l.max {
		return false
	}
	l.open++
	return true
}

// release gives back the slot of a closed connection.
func (l *connLimiter) release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if l.open == 0 && l.draining {
		close(l.drained)
	}
}

// Close stops accepting connections; it may be called more than once (the server
// closes its listeners too).
func (l *connLimiter) Close() error {
	l.closeOnce.Do(func() { l.closeErr = l.Listener.Close() })
	return l.closeErr
}

// drain closes the listener and returns a channel closed once every connection it
// accepted is closed.
func (l *connLimiter) drain() <-chan struct{} {
	l.Close()
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.draining {
		l.draining = true
		if l.open == 0 {
			close(l.drained)
		}
	}
	return l.drained
}

func (l *connLimiter) refuse(c net.Conn) {
	if now := time.Now().Unix(); now-l.lastLog.Load() >= int64(refuseLogInterval/time.Second) {
		l.lastLog.Store(now)
		l.log.Warn("refusing connections: too many open", "max", l.max)
	}
	if l.refusing.Add(1) > maxRefusing {
		l.refusing.Add(-1)
		c.Close()
		return
	}
	l.refusers.Add(1)
	go func() {
		defer l.refusers.Done()
		defer l.refusing.Add(-1)
		defer c.Close()
		c.SetDeadline(time.Now().Add(refuseTimeout))
		// Answer once the request's headers are in (or the deadline passed): an HTTP
		// client that gets an answer before it sent its request takes it for an
		// unsolicited response on an idle connection and reports the connection as
		// closed, instead of the 503.
		readHeaders(io.LimitReader(c, int64(DefaultMaxHeaderBytes)))
		if _, err := c.Write(busyAnswer()); err != nil {
			return
		}
		if cw, ok := c.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		}
		io.Copy(io.Discard, io.LimitReader(c, int64(DefaultMaxHeaderBytes)))
	}()
}

// readHeaders reads up to the blank line that ends a request's headers, or until r
// ends or fails.
func readHeaders(r io.Reader) {
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadSlice('\n')
		if err != nil || len(bytes.TrimRight(line, "\r\n")) == 0 {
			return
		}
	}
}

// wait returns once every connection being refused is closed; call it after drain.
func (l *connLimiter) wait() {
	l.refusers.Wait()
}

// countedConn gives its slot back when closed.
type countedConn struct {
	net.Conn
	l      *connLimiter
	closed atomic.Bool
}

func (c *countedConn) Close() error {
	if c.closed.CompareAndSwap(false, true) {
		c.l.release()
	}
	return c.Conn.Close()
}

// NetConn returns the wrapped connection, so that its peer credentials can be read.
func (c *countedConn) NetConn() net.Conn {
	return c.Conn
}
