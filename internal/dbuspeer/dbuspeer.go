// Package dbuspeer is the server end of a peer-to-peer D-Bus connection, written by
// hand: the SASL EXTERNAL handshake, then messages read and written with godbus's
// DecodeMessage and EncodeTo. godbus has no server side; test stand-ins of a systemd
// manager (an impostor serving a user's manager socket, a manager sending messages of
// any size) use this to answer root's client on a real unix socket, and to write
// messages godbus itself would refuse to build.
package dbuspeer

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/godbus/dbus/v5"
)

// maxAuthLine bounds one line of the client's SASL exchange.
const maxAuthLine = 1024

// Conn is an accepted connection after the SASL handshake.
type Conn struct {
	net.Conn
	r      *bufio.Reader
	serial uint32
}

// Accept does the server side of the SASL handshake on c: it takes the client's NUL
// byte, rejects an AUTH without a mechanism by offering EXTERNAL, accepts AUTH
// EXTERNAL (whatever identity it names: the peer's credentials are the socket's
// business), refuses unix fd passing and returns at BEGIN. Nothing is written to c
// before the client has sent its first bytes.
func Accept(c net.Conn) (*Conn, error) {
	r := bufio.NewReader(c)
	nul, err := r.ReadByte()
	if err != nil {
		return nil, fmt.Errorf("cannot read the client's first byte: %w", err)
	}
	if nul != 0 {
		return nil, fmt.Errorf("client sent %#x before authenticating, not a NUL byte", nul)
	}
	for {
		line, err := readLine(r)
		if err != nil {
			return nil, err
		}
		var reply string
		switch cmd, arg, _ := bytes.Cut(line, []byte(" ")); {
		case string(cmd) == "AUTH" && len(arg) == 0:
			reply = "REJECTED EXTERNAL"
		case string(cmd) == "AUTH" && bytes.HasPrefix(arg, []byte("EXTERNAL")):
			reply = "OK 0123456789abcdef0123456789abcdef"
		case string(cmd) == "NEGOTIATE_UNIX_FD":
			reply = "ERROR"
		case string(cmd) == "BEGIN":
			return &Conn{Conn: c, r: r}, nil
		default:
			reply = "ERROR"
		}
		if _, err := io.WriteString(c, reply+"\r\n"); err != nil {
			return nil, err
		}
	}
}

func readLine(r *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		b, err := r.ReadByte()
		if err != nil {
			return nil, fmt.Errorf("cannot read the client's authentication: %w", err)
		}
		if b == '\n' {
			return bytes.TrimSuffix(line, []byte("\r")), nil
		}
		if line = append(line, b); len(line) > maxAuthLine {
			return nil, errors.New("client's authentication line is too long")
		}
	}
}

// Read returns the next message the client sent.
func (c *Conn) Read() (*dbus.Message, error) {
	return dbus.DecodeMessage(c.r)
}

// Encode returns msg in the wire format (little-endian), with the connection's next
// serial: godbus keeps a message's serial to itself, so it is written into the
// encoded header (bytes 8 to 11).
func (c *Conn) Encode(msg *dbus.Message) ([]byte, error) {
	var buf bytes.Buffer
	if err := msg.EncodeTo(&buf, binary.LittleEndian); err != nil {
		return nil, err
	}
	c.serial++
	b := buf.Bytes()
	binary.LittleEndian.PutUint32(b[8:12], c.serial)
	return b, nil
}

// Send encodes msg and writes it.
func (c *Conn) Send(msg *dbus.Message) error {
	b, err := c.Encode(msg)
	if err != nil {
		return err
	}
	_, err = c.Write(b)
	return err
}

// ReplyTo returns the reply to call with body; Send or SendHuge sends it.
func ReplyTo(call *dbus.Message, body ...any) *dbus.Message {
	msg := &dbus.Message{
		Type:    dbus.TypeMethodReply,
		Headers: map[dbus.HeaderField]dbus.Variant{dbus.FieldReplySerial: dbus.MakeVariant(call.Serial())},
		Body:    body,
	}
	if len(body) > 0 {
		msg.Headers[dbus.FieldSignature] = dbus.MakeVariant(dbus.SignatureOf(body...))
	}
	return msg
}

// Reply answers call with body.
func (c *Conn) Reply(call *dbus.Message, body ...any) error {
	return c.Send(ReplyTo(call, body...))
}

// ReplyError answers call with the D-Bus error name and message.
func (c *Conn) ReplyError(call *dbus.Message, name, message string) error {
	return c.Send(&dbus.Message{
		Type: dbus.TypeError,
		Headers: map[dbus.HeaderField]dbus.Variant{
			dbus.FieldReplySerial: dbus.MakeVariant(call.Serial()),
			dbus.FieldErrorName:   dbus.MakeVariant(name),
			dbus.FieldSignature:   dbus.MakeVariant(dbus.SignatureOf(message)),
		},
		Body: []any{message},
	})
}

// Signal returns a signal message; Send sends it.
func Signal(path dbus.ObjectPath, iface, member string, body ...any) *dbus.Message {
	msg := &dbus.Message{
		Type: dbus.TypeSignal,
		Headers: map[dbus.HeaderField]dbus.Variant{
			dbus.FieldPath:      dbus.MakeVariant(path),
			dbus.FieldInterface: dbus.MakeVariant(iface),
			dbus.FieldMember:    dbus.MakeVariant(member),
		},
		Body: body,
	}
	if len(body) > 0 {
		msg.Headers[dbus.FieldSignature] = dbus.MakeVariant(dbus.SignatureOf(body...))
	}
	return msg
}

// SendHuge writes msg, whose body must end with an empty string (of signature "s",
// or in a variant), with that string n bytes long instead, streamed in pieces: a
// message of any size, up to the 4 GiB its header can say, costs the sender no more
// memory than a small one.
func (c *Conn) SendHuge(msg *dbus.Message, n uint32) error {
	b, err := c.Encode(msg)
	if err != nil {
		return err
	}
	// The encoded empty string: its length (4 bytes, 0) and its NUL.
	if len(b) < 21 || !bytes.Equal(b[len(b)-5:], make([]byte, 5)) {
		return errors.New("dbuspeer: SendHuge needs a body that ends with an empty string")
	}
	head := b[:len(b)-5]
	binary.LittleEndian.PutUint32(head[4:8], binary.LittleEndian.Uint32(head[4:8])+n)
	if _, err := c.Write(head); err != nil {
		return err
	}
	if err := binary.Write(c, binary.LittleEndian, n); err != nil {
		return err
	}
	chunk := bytes.Repeat([]byte{'x'}, 64<<10)
	for left := n; left > 0; {
		k := min(left, uint32(len(chunk)))
		if _, err := c.Write(chunk[:k]); err != nil {
			return err
		}
		left -= k
	}
	_, err = c.Write([]byte{0})
	return err
}

// Member is "interface.member" of a message ("org.freedesktop.DBus.Properties.Get"),
// or its type's name when it has neither.
func Member(msg *dbus.Message) string {
	iface, _ := msg.Headers[dbus.FieldInterface].Value().(string)
	member, _ := msg.Headers[dbus.FieldMember].Value().(string)
	if member == "" {
		return msg.Type.String()
	}
	if iface == "" {
		return member
	}
	return iface + "." + member
}

// Manager answers calls as a systemd manager whose units are all fine would: AddMatch
// and ResetFailedUnit with an empty reply, Properties.Get and GetAll from Props,
// RestartUnit (and StartUnit, StopUnit) with a job, followed by its JobRemoved
// signal with the result "done". Other calls get UnknownMethod.
type Manager struct {
	// Props are every unit's properties, by name.
	Props map[string]dbus.Variant
	// Before, if set, runs once the handshake is done, before the first message
	// is read: to send what was not asked for.
	Before func(c *Conn) error
	// Answer, if set, is offered every call first; it returns false to leave the
	// call to the default answer.
	Answer func(c *Conn, call *dbus.Message) (bool, error)
	// Received, if set, is told of every message, before it is answered.
	Received func(msg *dbus.Message)
}

// ServeAll accepts connections on l until l is closed, and serves each (handshake,
// then Serve) on a goroutine of its own; accepted, if set, is told of each first.
func (m *Manager) ServeAll(l net.Listener, accepted func()) {
	for {
		raw, err := l.Accept()
		if err != nil {
			return
		}
		if accepted != nil {
			accepted()
		}
		go func() {
			defer raw.Close()
			if c, err := Accept(raw); err == nil {
				_ = m.Serve(c)
			}
		}()
	}
}

// Serve answers c's messages until c fails or closes; it returns the error.
func (m *Manager) Serve(c *Conn) error {
	if m.Before != nil {
		if err := m.Before(c); err != nil {
			return err
		}
	}
	for job := uint32(1); ; {
		msg, err := c.Read()
		if err != nil {
			return err
		}
		if m.Received != nil {
			m.Received(msg)
		}
		if msg.Type != dbus.TypeMethodCall {
			continue
		}
		if m.Answer != nil {
			done, err := m.Answer(c, msg)
			if err != nil {
				return err
			}
			if done {
				continue
			}
		}
		if err := m.answer(c, msg, &job); err != nil {
			return err
		}
	}
}

func (m *Manager) answer(c *Conn, call *dbus.Message, job *uint32) error {
	switch member := Member(call); member {
	case "org.freedesktop.DBus.AddMatch", "org.freedesktop.systemd1.Manager.ResetFailedUnit":
		return c.Reply(call)
	case "org.freedesktop.DBus.Properties.GetAll":
		return c.Reply(call, m.Props)
	case "org.freedesktop.DBus.Properties.Get":
		name := ""
		if len(call.Body) == 2 {
			name, _ = call.Body[1].(string)
		}
		if v, ok := m.Props[name]; ok {
			return c.Reply(call, v)
		}
		return c.ReplyError(call, "org.freedesktop.DBus.Error.UnknownProperty", "no property "+name)
	case "org.freedesktop.systemd1.Manager.RestartUnit", "org.freedesktop.systemd1.Manager.StartUnit", "org.freedesktop.systemd1.Manager.StopUnit":
		unit := ""
		if len(call.Body) > 0 {
			unit, _ = call.Body[0].(string)
		}
		*job++
		path := dbus.ObjectPath(fmt.Sprintf("/org/freedesktop/systemd1/job/%d", *job))
		if err := c.Reply(call, path); err != nil {
			return err
		}
		return c.Send(Signal("/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager", "JobRemoved", *job, path, unit, "done"))
	default:
		return c.ReplyError(call, "org.freedesktop.DBus.Error.UnknownMethod", "unknown method "+member)
	}
}
