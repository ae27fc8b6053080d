package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// httpClient dials the upgrades: no proxy from the environment, no HTTP/2.
var httpClient = &http.Client{Transport: &http.Transport{
	Proxy:               nil,
	DialContext:         (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: -1}).DialContext,
	MaxIdleConnsPerHost: -1,
	TLSHandshakeTimeout: 30 * time.Second,
}}

const (
	readLimit    = 1 << 20 // coalesced pushes exceed coder/websocket's default 32 KiB
	callTimeout  = 30 * time.Second
	writeTimeout = 10 * time.Second
)

// reply is one reply frame as the waiting caller sees it.
type reply struct {
	code  int
	frame []byte // a copy, for callers that decode the data
}

// call is a request waiting for its reply.
type call struct {
	op    string
	start time.Time
	ch    chan reply // nil: nobody waits; the reply is only counted
}

// Conn is one load-client WebSocket. A reader goroutine consumes every
// frame: replies go to their caller (or are counted), pushes are counted
// when the connection measures, with cheap byte scans only.
type Conn struct {
	ws      *websocket.Conn
	st      *Stats
	sh      *shard
	measure bool // count pushes (viewers, members); publishers do not
	every   int  // latency sample rate: 1 in every
	seen    int  // reader goroutine only

	mu      sync.Mutex
	pending map[int64]*call
	nextID  int64

	closing atomic.Bool
	done    chan struct{}
}

// dialConn opens a connection to url and starts its reader.
func dialConn(ctx context.Context, url string, st *Stats, idx int, measure bool, every int) (*Conn, error) {
	ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: httpClient})
	if err != nil {
		return nil, err
	}
	ws.SetReadLimit(readLimit)
	c := &Conn{ws: ws, st: st, sh: st.shard(idx), measure: measure, every: max(every, 1),
		pending: map[int64]*call{}, done: make(chan struct{})}
	st.conns.Add(1)
	go c.readLoop()
	return c, nil
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 8<<10); return &b }}

// readLoop reads frames until the connection ends. A buffer is borrowed
// only while a frame is being read, so idle connections hold none.
func (c *Conn) readLoop() {
	defer close(c.done)
	defer c.st.conns.Add(-1)
	ctx := context.Background() // no deadline: coder/websocket arms no timer per read
	for {
		typ, r, err := c.ws.Reader(ctx)
		if err != nil {
			c.ended(err)
			return
		}
		bp := bufPool.Get().(*[]byte)
		b, err := readAll(r, (*bp)[:0])
		if err != nil {
			c.ended(err)
			return
		}
		if typ == websocket.MessageText {
			c.handle(b)
		}
		if cap(b) <= 256<<10 {
			*bp = b[:0]
			bufPool.Put(bp)
		}
	}
}

// readAll reads r to EOF into b.
func readAll(r io.Reader, b []byte) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// ended records why a connection ended, unless we closed it.
func (c *Conn) ended(err error) {
	c.failPending()
	if c.closing.Load() {
		return
	}
	if code := websocket.CloseStatus(err); code != -1 {
		c.st.Error("close:" + strconv.Itoa(int(code)))
		return
	}
	c.st.Error("read:" + errClass(err))
}

func (c *Conn) failPending() {
	c.mu.Lock()
	p := c.pending
	c.pending = map[int64]*call{}
	c.mu.Unlock()
	for _, cl := range p {
		if cl.ch != nil {
			cl.ch <- reply{code: -1}
		}
	}
}

// handle processes one text frame.
func (c *Conn) handle(b []byte) {
	if id, code, ok := parseReply(b); ok {
		c.onReply(id, code, b)
		return
	}
	if !c.measure {
		return
	}
	sh := c.sh
	sh.frames.Add(1)
	sh.bytes.Add(uint64(len(b)))
	if !hasPrefix(b, msgPrefix) {
		sh.other.Add(1)
		return
	}
	var now int64
	n := scanStamps(b, c.every, &c.seen, func(ts int64) {
		if now == 0 {
			now = time.Now().UnixNano()
		}
		sh.lat.Record(now - ts)
	})
	if n == 0 {
		sh.other.Add(1)
		return
	}
	sh.msgFrames.Add(1)
	sh.deliveries.Add(uint64(n))
}

func hasPrefix(b, p []byte) bool { return len(b) >= len(p) && string(b[:len(p)]) == string(p) }

func (c *Conn) onReply(id int64, code int, b []byte) {
	c.mu.Lock()
	cl := c.pending[id]
	delete(c.pending, id)
	c.mu.Unlock()
	if cl == nil {
		return
	}
	if h := c.st.ops[cl.op]; h != nil {
		h.Record(int64(time.Since(cl.start)))
	}
	if cl.op == opSend {
		if code == 0 {
			c.st.sentOK.Add(1)
		}
	}
	if cl.ch != nil {
		cl.ch <- reply{code: code, frame: append([]byte(nil), b...)}
		return
	}
	if code != 0 {
		c.st.Error("reply:" + strconv.Itoa(code))
	}
}

// send writes a request; with wait, it returns the reply.
func (c *Conn) send(ctx context.Context, op string, data []byte, wait bool) (reply, error) {
	return c.sendAt(ctx, op, data, wait, time.Now())
}

// sendAt is send with the latency counted from start: a paced request's
// due time, so a request sent late because the one before it was slow
// counts its wait (no coordinated omission).
func (c *Conn) sendAt(ctx context.Context, op string, data []byte, wait bool, start time.Time) (reply, error) {
	cl := &call{op: op, start: start}
	if wait {
		cl.ch = make(chan reply, 1)
	}
	c.mu.Lock()
	c.nextID++
	id := c.nextID
	c.pending[id] = cl
	c.mu.Unlock()
	frame := appendRequest(make([]byte, 0, len(data)+48), id, op, data)
	wctx, cancel := context.WithTimeout(ctx, writeTimeout)
	err := c.ws.Write(wctx, websocket.MessageText, frame)
	cancel()
	if err != nil {
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
		return reply{}, fmt.Errorf("%s: write: %w", op, err)
	}
	if !wait {
		return reply{}, nil
	}
	t := time.NewTimer(callTimeout)
	defer t.Stop()
	select {
	case r := <-cl.ch:
		if r.code == -1 {
			return r, fmt.Errorf("%s: connection closed before the reply", op)
		}
		return r, nil
	case <-t.C:
		return reply{}, fmt.Errorf("%s: no reply within %v", op, callTimeout)
	case <-ctx.Done():
		return reply{}, ctx.Err()
	}
}

// codeError is a request answered with a non-zero code.
type codeError struct {
	op   string
	code int
	msg  string
}

func (e *codeError) Error() string { return fmt.Sprintf("%s: code %d: %s", e.op, e.code, e.msg) }

// do sends a request, waits for its reply and decodes the reply's data
// into out (when not nil). A non-zero code is a *codeError.
func (c *Conn) do(ctx context.Context, op string, data any, out any) error {
	var raw []byte
	if data != nil {
		var err error
		if raw, err = json.Marshal(data); err != nil {
			return err
		}
	}
	r, err := c.send(ctx, op, raw, true)
	if err != nil {
		return err
	}
	if r.code != 0 {
		var e struct {
			Message string `json:"message"`
		}
		_ = json.Unmarshal(r.frame, &e)
		return &codeError{op, r.code, e.Message}
	}
	if out == nil {
		return nil
	}
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(r.frame, &env); err != nil {
		return fmt.Errorf("%s: bad reply: %w", op, err)
	}
	return json.Unmarshal(env.Data, out)
}

// login logs the connection in as user with a token signed by secret.
func (c *Conn) login(ctx context.Context, user, token string) error {
	return c.do(ctx, "login", map[string]string{"userID": user, "userSig": token}, nil)
}

// Close closes the connection (normal closure) without waiting long.
func (c *Conn) Close() {
	c.closing.Store(true)
	_ = c.ws.CloseNow()
	<-c.done
}

// errClass shortens a dial or read error to a stable key.
func errClass(err error) string {
	s := err.Error()
	for _, k := range []struct{ sub, key string }{
		{"connection refused", "refused"},
		{"too many open files", "emfile"},
		{"cannot assign requested address", "eaddrnotavail"},
		{"connection reset", "reset"},
		{"broken pipe", "epipe"},
		{"timeout", "timeout"},
		{"deadline exceeded", "timeout"},
		{"EOF", "eof"},
		{"use of closed", "closed"},
		{"status code", "http-status"},
	} {
		if strings.Contains(s, k.sub) {
			return k.key
		}
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return "net"
	}
	if len(s) > 40 {
		s = s[:40]
	}
	return strings.ReplaceAll(s, " ", "_")
}
