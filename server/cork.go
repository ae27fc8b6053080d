package server

import (
	"bufio"
	"net"
	"net/http"
	"sync"
)

// corkConn is the network connection under a WebSocket. While corked it
// gathers what coder/websocket writes (which flushes every frame on its
// own) and Uncork sends it in one write: the frames of one writer batch,
// such as a request's own pushes and its reply, cost the kernel one send
// instead of one each. Idle connections hold no buffer.
type corkConn struct {
	net.Conn

	mu     sync.Mutex // guards corked and buf; held across Uncork's write, so later writes keep their order
	corked bool
	buf    *[]byte
}

// corkBufs lends corked connections their buffers.
var corkBufs = sync.Pool{New: func() any { b := make([]byte, 0, 8<<10); return &b }}

// maxCorkBuf is the largest buffer returned to corkBufs.
const maxCorkBuf = 256 << 10

func (c *corkConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.corked {
		*c.buf = append(*c.buf, p...)
		return len(p), nil
	}
	return c.Conn.Write(p)
}

// Cork holds writes back until Uncork.
func (c *corkConn) Cork() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.corked {
		c.corked = true
		c.buf = corkBufs.Get().(*[]byte)
	}
}

// Uncork writes what was held back, in one write, and lets writes
// through again.
func (c *corkConn) Uncork() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.corked {
		return nil
	}
	c.corked = false
	b := c.buf
	c.buf = nil
	var err error
	if len(*b) > 0 {
		_, err = c.Conn.Write(*b)
	}
	if cap(*b) <= maxCorkBuf {
		*b = (*b)[:0]
		corkBufs.Put(b)
	}
	return err
}

// corkingWriter hands coder/websocket's Accept a corkConn when it
// hijacks the connection, and points the hijacked bufio.Writer at it
// (nothing is buffered there then: net/http flushes the 101 response
// before it hands the connection over).
type corkingWriter struct {
	http.ResponseWriter
	conn *corkConn
}

func (w *corkingWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	w.conn = &corkConn{Conn: c}
	brw.Writer.Reset(w.conn)
	return w.conn, brw, nil
}

// Unwrap lets http.ResponseController reach the writer's other methods.
func (w *corkingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
