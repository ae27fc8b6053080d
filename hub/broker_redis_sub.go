package hub

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// A node reads back every envelope it publishes to a channel it listens
// to itself, and go-redis's PubSub turns each message into three strings,
// an interface slice and a Message, handed over through a channel to
// another goroutine: the largest allocation of a chat message, for an
// envelope the node then drops unread (its own). subConn reads the
// subscription of a standalone Redis itself instead: a message's payload
// is looked at where it lies in the read buffer, and the node's own
// envelopes go without a copy.

// subConn is a subscription connection (RESP2) of its own. Run's session
// goroutine writes to it; one reader goroutine reads it.
type subConn struct {
	conn net.Conn
	r    *bufio.Reader
	w    *bufio.Writer
	kind []byte // the last push's kind, copied out of r
	chn  []byte // the last push's channel, copied out of r
	big  []byte // a payload larger than r's buffer
	held int    // bytes of r holding the last payload, for done
}

// subReadBuffer is the size of a subscription's read buffer: payloads up
// to it are read in place.
const subReadBuffer = 64 << 10

// subWriteTimeout bounds a write of SUBSCRIBE or UNSUBSCRIBE.
const subWriteTimeout = 5 * time.Second

// dialSub opens a subscription connection with the client's options
// (its dialer, so TLS too; its credentials and client name).
func dialSub(ctx context.Context, opt *redis.Options) (*subConn, error) {
	dial := opt.Dialer
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	ctx, cancel := context.WithTimeout(ctx, max(opt.DialTimeout, time.Second))
	defer cancel()
	conn, err := dial(ctx, opt.Network, opt.Addr)
	if err != nil {
		return nil, err
	}
	s := &subConn{conn: conn, r: bufio.NewReaderSize(conn, subReadBuffer), w: bufio.NewWriter(conn)}
	var setup [][]string
	if opt.Password != "" {
		if opt.Username != "" {
			setup = append(setup, []string{"AUTH", opt.Username, opt.Password})
		} else {
			setup = append(setup, []string{"AUTH", opt.Password})
		}
	}
	if opt.ClientName != "" {
		setup = append(setup, []string{"CLIENT", "SETNAME", opt.ClientName})
	}
	if len(setup) > 0 {
		if dl, ok := ctx.Deadline(); ok {
			_ = conn.SetDeadline(dl)
		}
		if err := s.setup(setup); err != nil {
			_ = conn.Close()
			return nil, err
		}
		_ = conn.SetDeadline(time.Time{})
	}
	return s, nil
}

// setup sends cmds and reads a simple reply to each.
func (s *subConn) setup(cmds [][]string) error {
	for _, c := range cmds {
		writeCommand(s.w, c[0], c[1:])
	}
	if err := s.w.Flush(); err != nil {
		return err
	}
	for _, c := range cmds {
		line, err := s.line()
		if err != nil {
			return err
		}
		if len(line) > 0 && line[0] == '-' {
			return fmt.Errorf("redis %s: %s", c[0], line[1:])
		}
	}
	return nil
}

func (s *subConn) Close() error { return s.conn.Close() }

// send writes one command (SUBSCRIBE or UNSUBSCRIBE) for channels.
func (s *subConn) send(cmd string, channels []string) error {
	if len(channels) == 0 {
		return nil
	}
	_ = s.conn.SetWriteDeadline(time.Now().Add(subWriteTimeout))
	writeCommand(s.w, cmd, channels)
	return s.w.Flush()
}

// writeCommand writes a RESP array of bulk strings.
func writeCommand(w *bufio.Writer, cmd string, args []string) {
	var n [20]byte
	w.WriteByte('*')
	w.Write(strconv.AppendInt(n[:0], int64(1+len(args)), 10))
	w.WriteString("\r\n")
	for i := -1; i < len(args); i++ {
		a := cmd
		if i >= 0 {
			a = args[i]
		}
		w.WriteByte('$')
		w.Write(strconv.AppendInt(n[:0], int64(len(a)), 10))
		w.WriteString("\r\n")
		w.WriteString(a)
		w.WriteString("\r\n")
	}
}

// subEvent is what the reader found: a message or a confirmation.
type subEvent int

const (
	subMessage     subEvent = iota // channel and payload
	subSubscribe                   // channel: subscribed
	subUnsubscribe                 // channel: unsubscribed (or none)
	subOther                       // anything else in subscribed mode (a pong)
)

var errSubProtocol = errors.New("unexpected reply on the subscription connection")

// next reads one push. The channel is valid until the next call; the
// payload (subMessage only) until done, which the caller calls when
// finished with it.
func (s *subConn) next() (ev subEvent, channel, payload []byte, err error) {
	line, err := s.line()
	if err != nil {
		return 0, nil, nil, err
	}
	if len(line) == 0 || line[0] != '*' {
		if len(line) > 0 && line[0] == '-' {
			return 0, nil, nil, fmt.Errorf("redis: %s", line[1:])
		}
		return 0, nil, nil, errSubProtocol
	}
	n, err := strconv.Atoi(string(line[1:]))
	if err != nil || n < 1 {
		return 0, nil, nil, errSubProtocol
	}
	if s.kind, err = s.bulkInto(s.kind); err != nil {
		return 0, nil, nil, err
	}
	switch kind := s.kind; {
	case n == 3 && bytes.Equal(kind, []byte("message")):
		ev = subMessage
	case n == 3 && bytes.Equal(kind, []byte("subscribe")):
		ev = subSubscribe
	case n == 3 && bytes.Equal(kind, []byte("unsubscribe")):
		ev = subUnsubscribe
	default:
		for range n - 1 {
			if err := s.skip(); err != nil {
				return 0, nil, nil, err
			}
		}
		return subOther, nil, nil, nil
	}
	if s.chn, err = s.bulkInto(s.chn); err != nil {
		return 0, nil, nil, err
	}
	if ev != subMessage {
		return ev, s.chn, nil, s.skip() // the subscription count
	}
	payload, err = s.payload()
	if err != nil {
		return 0, nil, nil, err
	}
	return ev, s.chn, payload, nil
}

// done releases the payload next returned.
func (s *subConn) done() {
	if s.held > 0 {
		_, _ = s.r.Discard(s.held)
		s.held = 0
	}
}

// line reads a line without its CRLF; valid until the next read.
func (s *subConn) line() ([]byte, error) {
	line, err := s.r.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, errSubProtocol
		}
		return nil, err
	}
	if len(line) < 2 || line[len(line)-2] != '\r' {
		return nil, errSubProtocol
	}
	return line[:len(line)-2], nil
}

// bulkLen reads a bulk string's header: its length, -1 for a nil one.
func (s *subConn) bulkLen() (int, error) {
	line, err := s.line()
	if err != nil {
		return 0, err
	}
	if len(line) < 2 || line[0] != '$' {
		return 0, errSubProtocol
	}
	if string(line[1:]) == "-1" {
		return -1, nil
	}
	n, err := strconv.Atoi(string(line[1:]))
	if err != nil || n < 0 || n > 512<<20 {
		return 0, errSubProtocol
	}
	return n, nil
}

// bulkInto reads a bulk string (a nil one reads as empty) into dst[:0],
// its CRLF consumed: for the short ones, a push's kind and channel.
func (s *subConn) bulkInto(dst []byte) ([]byte, error) {
	n, err := s.bulkLen()
	if err != nil || n < 0 {
		return dst[:0], err
	}
	return s.body(dst, n)
}

// body reads a bulk string's n bytes and CRLF into dst[:0].
func (s *subConn) body(dst []byte, n int) ([]byte, error) {
	if cap(dst) < n+2 {
		dst = make([]byte, n+2)
	}
	dst = dst[:n+2]
	if _, err := io.ReadFull(s.r, dst); err != nil {
		return nil, err
	}
	if dst[n] != '\r' || dst[n+1] != '\n' {
		return nil, errSubProtocol
	}
	return dst[:n], nil
}

// payload reads a message's payload (a nil one reads as empty): one that
// fits r's buffer is left in it, unread, until done; a larger one is read
// into s.big.
func (s *subConn) payload() ([]byte, error) {
	n, err := s.bulkLen()
	if err != nil || n < 0 {
		return nil, err
	}
	if n+2 <= s.r.Size() {
		b, err := s.r.Peek(n + 2)
		if err != nil {
			return nil, err
		}
		if b[n] != '\r' || b[n+1] != '\n' {
			return nil, errSubProtocol
		}
		s.held = n + 2
		return b[:n], nil
	}
	b, err := s.body(s.big, n)
	if err != nil {
		return nil, err
	}
	if cap(b) <= 4*subReadBuffer {
		s.big = b // kept for the next large one; a rare huge one is not
	}
	return b, nil
}

// skip reads and drops one element: a bulk string or a simple line.
func (s *subConn) skip() error {
	line, err := s.line()
	if err != nil {
		return err
	}
	if len(line) == 0 {
		return errSubProtocol
	}
	if line[0] != '$' {
		return nil // :integer, +simple
	}
	n, err := strconv.Atoi(string(line[1:]))
	if err != nil {
		return errSubProtocol
	}
	if n < 0 {
		return nil
	}
	_, err = s.r.Discard(n + 2)
	return err
}
