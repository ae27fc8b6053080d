package hub

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fakeConn records what the hub writes. Its zero value accepts every
// write at once and answers every ping.
type fakeConn struct {
	mu       sync.Mutex
	frames   [][]byte
	closed   bool
	code     int
	reason   string
	pings    int
	gate     chan struct{} // when set, Write waits until it is closed (or Abort)
	aborted  chan struct{} // closed by Abort
	aborts   int
	writeErr error         // when set, Write fails with it
	pingErr  error         // when set, Ping fails with it
	pingWait bool          // Ping waits for ctx: no pong ever comes
	started  chan struct{} // when set, gets a value as each Write starts
}

// abortCh returns the channel Abort closes; c.mu is held.
func (c *fakeConn) abortCh() chan struct{} {
	if c.aborted == nil {
		c.aborted = make(chan struct{})
	}
	return c.aborted
}

func (c *fakeConn) Abort() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.aborts++; c.aborts == 1 {
		close(c.abortCh())
	}
}

func (c *fakeConn) abortCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.aborts
}

func (c *fakeConn) Write(p []byte) error {
	c.mu.Lock()
	gate, started, werr, aborted := c.gate, c.started, c.writeErr, c.abortCh()
	c.mu.Unlock()
	select {
	case <-aborted:
		return errors.New("write on an aborted connection")
	default:
	}
	if started != nil {
		select {
		case started <- struct{}{}:
		default:
		}
	}
	if gate != nil {
		select {
		case <-gate:
		case <-aborted:
			return errors.New("connection aborted during the write")
		}
	}
	if werr != nil {
		return werr
	}
	c.mu.Lock()
	c.frames = append(c.frames, append([]byte(nil), p...))
	c.mu.Unlock()
	return nil
}

func (c *fakeConn) Ping(ctx context.Context) error {
	c.mu.Lock()
	c.pings++
	wait, err := c.pingWait, c.pingErr
	c.mu.Unlock()
	if wait {
		<-ctx.Done()
		return ctx.Err()
	}
	return err
}

func (c *fakeConn) Close(code int, reason string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errors.New("closed twice")
	}
	c.closed, c.code, c.reason = true, code, reason
	return nil
}

// block makes writes wait until the returned func is called.
func (c *fakeConn) block() (release func()) {
	gate := make(chan struct{})
	c.mu.Lock()
	c.gate = gate
	c.started = make(chan struct{}, 1)
	c.mu.Unlock()
	var once sync.Once
	return func() { once.Do(func() { close(gate) }) }
}

func (c *fakeConn) written() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, len(c.frames))
	for i, f := range c.frames {
		out[i] = string(f)
	}
	return out
}

func (c *fakeConn) closeCode() (int, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.code, c.closed
}

func (c *fakeConn) pingCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pings
}

// waitFor polls cond until it holds; the limit only bounds a broken test.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func waitDoneT(t *testing.T, s *Session) {
	t.Helper()
	select {
	case <-s.Done():
	case <-time.After(10 * time.Second):
		t.Fatalf("session %d not done", s.ID())
	}
}

// newTestHub returns a hub closed at the end of the test.
func newTestHub(t *testing.T, o Options) *Hub {
	t.Helper()
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	h := New(o)
	t.Cleanup(h.Close)
	return h
}

// session registers a fake conn, logged in as user unless "".
func session(h *Hub, user string) (*Session, *fakeConn) {
	c := &fakeConn{}
	s := h.Register(c)
	if user != "" {
		h.SetUser(s, user)
	}
	return s, c
}

const mark = `{"event":"mark"}`

// flushed queues a marker frame and waits until it is written: then
// everything queued before it has been written too.
func flushed(t *testing.T, s *Session, c *fakeConn) []string {
	t.Helper()
	n := marks(c.written())
	s.Send([]byte(mark))
	waitFor(t, "the marker", func() bool { return marks(c.written()) > n })
	var out []string
	for _, f := range c.written() {
		if f != mark {
			out = append(out, f)
		}
	}
	return out
}

func marks(frames []string) int {
	n := 0
	for _, f := range frames {
		if f == mark {
			n++
		}
	}
	return n
}

// tokens flattens frames: each element of an onMessageReceived frame is
// its "ID" with its "flow", any other frame is its event name.
func tokens(t *testing.T, frames []string) []string {
	t.Helper()
	var out []string
	for _, f := range frames {
		var fr struct {
			Event string          `json:"event"`
			Data  json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal([]byte(f), &fr); err != nil {
			t.Fatalf("frame is not JSON: %v: %s", err, f)
		}
		if fr.Event != "onMessageReceived" {
			out = append(out, fr.Event)
			continue
		}
		var elems []json.RawMessage
		if err := json.Unmarshal(fr.Data, &elems); err != nil {
			t.Fatalf("onMessageReceived data is not an array: %s", f)
		}
		for _, e := range elems {
			var m struct{ ID, Flow string }
			if err := json.Unmarshal(e, &m); err != nil {
				t.Fatalf("element is not a JSON object: %s", e)
			}
			out = append(out, m.ID+"/"+m.Flow)
		}
	}
	return out
}

// msg returns a Push's In and Out for a message with id.
func msg(id string) (in, out []byte) {
	return []byte(`{"ID":"` + id + `","flow":"in"}`), []byte(`{"ID":"` + id + `","flow":"out"}`)
}

func push(id, group, from string) *Push {
	in, out := msg(id)
	return &Push{GroupID: group, From: from, In: in, Out: out}
}

// metricValue reads one unlabelled metric from reg.
func metricValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		m := f.GetMetric()[0]
		if g := m.GetGauge(); g != nil {
			return g.GetValue()
		}
		if h := m.GetHistogram(); h != nil {
			return float64(h.GetSampleCount())
		}
		return m.GetCounter().GetValue()
	}
	t.Fatalf("no metric %s", name)
	return 0
}

func join(s []string) string { return strings.Join(s, " ") }
