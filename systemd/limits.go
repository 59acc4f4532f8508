package systemd

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"

	godbus "github.com/godbus/dbus/v5"
)

// Limits bound what a Manager reads from a manager root does not trust (a user's:
// the user can put a program of their own in its place, and whatever passes root's
// check may still send anything). The zero Limits bound nothing.
type Limits struct {
	// ReadBudget caps the bytes read from the manager over all of the Manager's
	// connections, the authentication included. Past it the connection fails with
	// a *ReadBudgetError, and the Manager does not dial again.
	ReadBudget int64
	// MaxMessageSize caps one D-Bus message, header included. A larger signal (or
	// method call) is skipped before godbus sees a byte of it (its bytes still count
	// against ReadBudget); a larger reply or error fails the connection with a
	// *MessageTooLargeError, since a reply dropped would leave its call waiting
	// until its deadline and then fail without saying why.
	//
	// This is our own framing of the stream because godbus accepts messages of up
	// to 128 MiB, reads each one whole before anything else, and has no option to
	// lower that.
	MaxMessageSize int64
}

// ReadBudgetError says a manager sent more than Limits.ReadBudget allows; the
// connection was closed.
type ReadBudgetError struct {
	Limit int64
}

func (e *ReadBudgetError) Error() string {
	return fmt.Sprintf("the systemd manager sent more than %d bytes, this connection's limit", e.Limit)
}

// MessageTooLargeError says a manager answered with a message larger than
// Limits.MaxMessageSize; the connection was closed.
type MessageTooLargeError struct {
	Size, Limit int64
}

func (e *MessageTooLargeError) Error() string {
	return fmt.Sprintf("the systemd manager answered with a message of %d bytes, over this connection's limit of %d", e.Size, e.Limit)
}

// errNotDBus says the stream is not D-Bus messages where one should start.
var errNotDBus = errors.New("the systemd manager sent something that is not a D-Bus message")

// readBufferSize is the read buffer of the connection to the manager: the size of
// a few of its signals (a JobRemoved is about 200 bytes, a PropertiesChanged of a
// unit up to a few KiB).
//
// godbus decodes a message from a connection it was given (rather than one it
// dialled itself) field by field, with a read(2) for each field: about 40 system
// calls per message. The manager sends every signal to every connection on its
// private socket, whether asked for or not (a daemon-reload of a small session is
// about 80 of them per connection, a start or a stop several per unit), so those
// reads were most of the agent's work: its CPU time for a start, a restart, a stop
// and a daemon-reload of 10 units went from about 230 ms to 100 ms with the buffer
// (bench/services.sh, docs/benchmarks.md).
const readBufferSize = 16 << 10

// readBudget is what is left of a Manager's Limits.ReadBudget. A nil *readBudget is
// no budget.
type readBudget struct {
	mu          sync.Mutex
	limit, left int64
	// exceeded: a read was refused; the connection failed.
	exceeded bool
}

// spent returns a *ReadBudgetError once a read was refused.
func (b *readBudget) spent() error {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.exceeded {
		return &ReadBudgetError{Limit: b.limit}
	}
	return nil
}

// countingReader reads the socket within the budget: it never asks for more than is
// left, and refuses to read once nothing is.
type countingReader struct {
	r io.Reader
	b *readBudget
}

func (c countingReader) Read(p []byte) (int, error) {
	c.b.mu.Lock()
	left := c.b.left
	if left <= 0 {
		c.b.exceeded = true
	}
	c.b.mu.Unlock()
	if left <= 0 {
		return 0, &ReadBudgetError{Limit: c.b.limit}
	}
	if int64(len(p)) > left {
		p = p[:left]
	}
	n, err := c.r.Read(p)
	c.b.mu.Lock()
	c.b.left -= int64(n)
	c.b.mu.Unlock()
	return n, err
}

// limitedReader is what godbus reads a connection through: the socket, counted
// against the budget (if any), through the read buffer, and, with a message size
// limit, cut into messages by their headers so that none larger than the limit
// reaches godbus. The SASL exchange before the first message is lines, passed on
// one line per read so that godbus's own line reader never takes the start of the
// first message with it.
type limitedReader struct {
	buf    *bufio.Reader
	budget *readBudget
	max    int64
	// auth: the server's authentication lines are still coming; line holds the
	// first bytes of the current one.
	auth bool
	line []byte
	// left is what godbus is yet to read of the current message.
	left int64

	mu  sync.Mutex
	err error
}

func newLimitedReader(s net.Conn, lim Limits, budget *readBudget) *limitedReader {
	var src io.Reader = s
	if budget != nil {
		src = countingReader{r: s, b: budget}
	}
	return &limitedReader{
		buf:    bufio.NewReaderSize(src, readBufferSize),
		budget: budget,
		max:    lim.MaxMessageSize,
		auth:   true,
	}
}

// failure says why the connection was failed for breaking the limits, or is nil. A
// nil *limitedReader has no failure.
func (r *limitedReader) failure() error {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	err := r.err
	r.mu.Unlock()
	if err != nil {
		return err
	}
	return r.budget.spent()
}

func (r *limitedReader) fail(err error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err == nil {
		r.err = err
	}
	return r.err
}

func (r *limitedReader) Read(p []byte) (int, error) {
	if r.max == 0 {
		// The budget, if any, is the countingReader's.
		return r.buf.Read(p)
	}
	if err := r.failure(); err != nil {
		return 0, err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if r.auth {
		return r.readAuth(p)
	}
	for r.left == 0 {
		hdr, err := r.buf.Peek(16)
		if err != nil {
			return 0, err
		}
		size, typ, err := messageSize(hdr)
		if err != nil {
			return 0, r.fail(err)
		}
		if size <= r.max {
			r.left = size
			break
		}
		if typ == godbus.TypeMethodReply || typ == godbus.TypeError {
			return 0, r.fail(&MessageTooLargeError{Size: size, Limit: r.max})
		}
		if _, err := r.buf.Discard(int(size)); err != nil {
			return 0, err
		}
	}
	if int64(len(p)) > r.left {
		p = p[:r.left]
	}
	n, err := r.buf.Read(p)
	r.left -= int64(n)
	return n, err
}

// readAuth passes on what is buffered of the current authentication line, up to its
// end. After the server's "OK <guid>" line, D-Bus messages follow.
func (r *limitedReader) readAuth(p []byte) (int, error) {
	if _, err := r.buf.Peek(1); err != nil {
		return 0, err
	}
	avail, _ := r.buf.Peek(r.buf.Buffered())
	n := len(avail)
	if end := bytes.IndexByte(avail, '\n'); end >= 0 {
		n = end + 1
	}
	n, _ = r.buf.Read(p[:min(n, len(p))])
	for _, b := range p[:n] {
		if len(r.line) < 3 {
			r.line = append(r.line, b)
		}
		if b == '\n' {
			r.auth = string(r.line) != "OK "
			r.line = r.line[:0]
		}
	}
	return n, nil
}

// messageSize reads a D-Bus message's size and type from its first 16 bytes: the
// byte order, the type, the body's length (bytes 4 to 7) and the length of the
// header fields array (bytes 12 to 15), which starts at byte 16; the body starts at
// the next multiple of 8 after the array (D-Bus specification, "Message Format").
func messageSize(hdr []byte) (int64, godbus.Type, error) {
	var order binary.ByteOrder
	switch hdr[0] {
	case 'l':
		order = binary.LittleEndian
	case 'B':
		order = binary.BigEndian
	default:
		return 0, 0, errNotDBus
	}
	body, fields := int64(order.Uint32(hdr[4:8])), int64(order.Uint32(hdr[12:16]))
	header := (16 + fields + 7) &^ 7
	return header + body, godbus.Type(hdr[1]), nil
}

// readerConn is a socket read through r; writes and deadlines go to the socket.
type readerConn struct {
	net.Conn
	r io.Reader
}

func (c readerConn) Read(p []byte) (int, error) { return c.r.Read(p) }
