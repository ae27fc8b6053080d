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
	chn  []byte // the last message's channel, copied out of r
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
	kind, err := s.bulk(false)
	if err != nil {
		return 0, nil, nil, err
	}
	switch {
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
	ch, err := s.bulk(false)
	if err != nil {
		return 0, nil, nil, err
	}
	s.chn = append(s.chn[:0], ch...)
	if ev != subMessage {
		return ev, s.chn, nil, s.skip() // the subscription count
	}
	payload, err = s.bulk(true)
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

// bulk reads a bulk string ($-1, a nil one, reads as empty). Unless
// inPlace, the string is consumed with its CRLF and is valid until the
// next read. inPlace leaves a string that fits r's buffer in it, unread
// (done discards it), and reads a larger one into s.big.
func (s *subConn) bulk(inPlace bool) ([]byte, error) {
	line, err := s.line()
	if err != nil {
		return nil, err
	}
	if len(line) < 2 || line[0] != '$' {
		return nil, errSubProtocol
	}
	if string(line[1:]) == "-1" {
		return nil, nil
	}
	n, err := strconv.Atoi(string(line[1:]))
	if err != nil || n < 0 || n > 512<<20 {
		return nil, errSubProtocol
	}
	if n+2 <= s.r.Size() {
		b, err := s.r.Peek(n + 2)
		if err != nil {
			return nil, err
		}
		if b[n] != '\r' || b[n+1] != '\n' {
			return nil, errSubProtocol
		}
		if inPlace {
			s.held = n + 2
		} else {
			// Discarding moves no bytes: b stays valid until the next
			// read fills the buffer, and the caller is done with it by then.
			_, _ = s.r.Discard(n + 2)
		}
		return b[:n], nil
	}
	if cap(s.big) < n+2 {
		s.big = make([]byte, n+2)
	}
	s.big = s.big[:n+2]
	if _, err := io.ReadFull(s.r, s.big); err != nil {
		return nil, err
	}
	if s.big[n] != '\r' || s.big[n+1] != '\n' {
		return nil, errSubProtocol
	}
	b := s.big[:n]
	if cap(s.big) > 4*subReadBuffer {
		s.big = nil // do not keep a rare huge one (b still holds it)
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
