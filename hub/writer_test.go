package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// blockedSession returns a subscribed session whose writer is stuck in
// the Write of a first frame until release is called.
func blockedSession(t *testing.T, h *Hub) (s *Session, c *fakeConn, release func()) {
	t.Helper()
	s, c = session(h, "bob")
	h.Subscribe(s, "g", false)
	release = c.block()
	t.Cleanup(release)
	s.Send([]byte(`{"event":"first"}`))
	<-c.started
	return s, c, release
}

// TestCoalesce: elements queued while the writer is busy go out as one
// onMessageReceived frame with all of them, in order.
func TestCoalesce(t *testing.T) {
	h := newTestHub(t, Options{})
	s, c, release := blockedSession(t, h)
	for i := range 5 {
		h.Publish(push(fmt.Sprint("m", i), "g", ""))
	}
	release()
	frames := flushed(t, s, c)
	if len(frames) != 2 {
		t.Fatalf("got %d frames, want 2: %q", len(frames), frames)
	}
	var f struct {
		Event string
		Data  []map[string]string
	}
	if err := json.Unmarshal([]byte(frames[1]), &f); err != nil {
		t.Fatalf("coalesced frame is not JSON: %v: %s", err, frames[1])
	}
	if f.Event != "onMessageReceived" || len(f.Data) != 5 {
		t.Fatalf("got %s", frames[1])
	}
	for i, m := range f.Data {
		if m["ID"] != fmt.Sprint("m", i) {
			t.Errorf("element %d is %v", i, m)
		}
	}
}

// TestCoalesceOrder: a frame between elements splits them, keeping order.
func TestCoalesceOrder(t *testing.T) {
	h := newTestHub(t, Options{})
	s, c, release := blockedSession(t, h)
	h.Publish(push("e1", "g", ""))
	h.Publish(push("e2", "g", ""))
	s.Send([]byte(`{"id":1,"code":0}`))
	h.Publish(push("e3", "g", ""))
	release()
	frames := flushed(t, s, c)
	if len(frames) != 4 || frames[2] != `{"id":1,"code":0}` {
		t.Fatalf("frames %q", frames)
	}
	if got := join(tokens(t, frames)); got != "first e1/in e2/in  e3/in" {
		t.Errorf("got %q", got)
	}
}

// TestCoalesceCap: a burst larger than maxCoalesce is split into frames
// under the cap, in order.
func TestCoalesceCap(t *testing.T) {
	h := newTestHub(t, Options{})
	s, c, release := blockedSession(t, h)
	pad := strings.Repeat("x", 10<<10)
	var want []string
	for i := range 20 {
		id := fmt.Sprint("big", i)
		h.Publish(&Push{GroupID: "g", In: []byte(`{"ID":"` + id + `","flow":"in","pad":"` + pad + `"}`)})
		want = append(want, id+"/in")
	}
	release()
	frames := flushed(t, s, c)[1:]
	if len(frames) < 4 {
		t.Errorf("%d frames for 200 KiB of elements", len(frames))
	}
	for i, f := range frames {
		if len(f) > len(framePrefix)+maxCoalesce+len(frameSuffix) {
			t.Errorf("frame %d has %d bytes", i, len(f))
		}
	}
	if got := join(tokens(t, frames)); got != join(want) {
		t.Errorf("got %q", got)
	}
}

// TestCloseGraceful: frames queued before Close are written, then the
// close code; later Sends and Closes change nothing.
func TestCloseGraceful(t *testing.T) {
	h := newTestHub(t, Options{})
	s, c, release := blockedSession(t, h)
	s.Send([]byte(`{"event":"a"}`))
	h.Publish(push("e", "g", ""))
	s.Close(4001, "draining")
	s.Send([]byte(`{"event":"late"}`))
	s.Close(4500, "second")
	release()
	waitDoneT(t, s)
	if got := join(tokens(t, c.written())); got != "first a e/in" {
		t.Errorf("written %q", got)
	}
	if code, _ := c.closeCode(); code != 4001 || s.CloseCode() != 4001 {
		t.Errorf("closed with %d, CloseCode %d, want 4001", code, s.CloseCode())
	}
	if h.Len() != 0 || h.GroupSessions("g") != 0 || len(h.UserSessions("bob")) != 0 {
		t.Errorf("still indexed: len %d", h.Len())
	}
}

// TestCloseNow: the queue is dropped and the write in flight cancelled.
func TestCloseNow(t *testing.T) {
	h := newTestHub(t, Options{})
	s, c, _ := blockedSession(t, h)
	s.Send([]byte(`{"event":"a"}`))
	s.CloseNow(4503, "kicked")
	s.CloseNow(4008, "second")
	waitDoneT(t, s)
	if w := c.written(); len(w) != 0 {
		t.Errorf("written %q", w)
	}
	if code, _ := c.closeCode(); code != 4503 || s.CloseCode() != 4503 {
		t.Errorf("closed with %d, CloseCode %d, want 4503", code, s.CloseCode())
	}
}

// TestSlowConsumer: a session that does not read is closed with 4008,
// counted once, while a fast one gets every push.
func TestSlowConsumer(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := newTestHub(t, Options{QueueSize: 8, Metrics: NewMetrics(reg)})
	slow, sc, _ := blockedSession(t, h)
	fast, fc := session(h, "alice")
	h.Subscribe(fast, "g", false)
	var want []string
	for i := range 50 {
		id := fmt.Sprint("m", i)
		h.Publish(push(id, "g", ""))
		want = append(want, id+"/in")
		// The fast reader keeps up: it has each push before the next.
		waitFor(t, id, func() bool { return len(tokens(t, fc.written())) == i+1 })
	}
	waitDoneT(t, slow)
	if code, _ := sc.closeCode(); code != codeSlowConsumer || slow.CloseCode() != codeSlowConsumer {
		t.Errorf("slow closed with %d, CloseCode %d", code, slow.CloseCode())
	}
	if got := join(tokens(t, flushed(t, fast, fc))); got != join(want) {
		t.Errorf("fast got %q", got)
	}
	if n := metricValue(t, reg, "chat_hub_queue_overflows_total"); n != 1 {
		t.Errorf("overflows %v, want 1", n)
	}
	if n := h.GroupSessions("g"); n != 1 {
		t.Errorf("group has %d sessions, want 1", n)
	}
}

// TestWriteFailure: a failed or timed-out write ends the session with no
// close code, counted.
func TestWriteFailure(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(c *fakeConn)
		aborts int // Conn.Abort calls: only a write stuck past the timeout is aborted
	}{
		{"error", func(c *fakeConn) { c.writeErr = errors.New("broken pipe") }, 0},
		{"timeout", func(c *fakeConn) { c.block() }, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			h := newTestHub(t, Options{WriteTimeout: 20 * time.Millisecond, Metrics: NewMetrics(reg)})
			c := &fakeConn{}
			tt.setup(c)
			s := h.Register(c)
			s.Send([]byte(`{"event":"x"}`))
			waitDoneT(t, s)
			if s.CloseCode() != 0 {
				t.Errorf("CloseCode %d, want 0", s.CloseCode())
			}
			if code, _ := c.closeCode(); code != codeInternal {
				t.Errorf("conn closed with %d", code)
			}
			if n := metricValue(t, reg, "chat_hub_write_errors_total"); n != 1 {
				t.Errorf("write errors %v", n)
			}
			waitFor(t, "the abort", func() bool { return c.abortCount() >= tt.aborts })
			if n := c.abortCount(); n != tt.aborts {
				t.Errorf("Conn.Abort called %d times, want %d", n, tt.aborts)
			}
		})
	}
}

// A session closed at once while idle is closed with its code, not
// aborted; one closed at once during a stuck write is aborted, so the
// writer is not held up by the write.
func TestCloseNowAborts(t *testing.T) {
	h := newTestHub(t, Options{WriteTimeout: time.Hour})
	idle := &fakeConn{}
	s := h.Register(idle)
	s.CloseNow(4001, "bye")
	waitDoneT(t, s)
	if code, _ := idle.closeCode(); code != 4001 || idle.abortCount() != 0 {
		t.Errorf("idle session: closed with %d, %d aborts; want 4001 and none", code, idle.abortCount())
	}
	stuck := &fakeConn{}
	stuck.block()
	s = h.Register(stuck)
	s.Send([]byte(`{"event":"x"}`))
	<-stuck.started
	s.CloseNow(4001, "bye")
	waitDoneT(t, s) // the hour-long write timeout did not hold it
	if stuck.abortCount() != 1 {
		t.Errorf("stuck session: %d aborts, want 1", stuck.abortCount())
	}
}

// TestMetrics: frames, bytes and elements written, sessions registered.
func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := newTestHub(t, Options{Metrics: NewMetrics(reg)})
	s, c, release := blockedSession(t, h)
	h.Publish(push("a", "g", ""))
	h.Publish(push("b", "g", ""))
	if n := metricValue(t, reg, "chat_hub_sessions"); n != 1 {
		t.Errorf("sessions %v", n)
	}
	release()
	frames := flushed(t, s, c)
	bytes := len(mark)
	for _, f := range frames {
		bytes += len(f)
	}
	for name, want := range map[string]float64{
		"chat_hub_frames_written_total":     3,
		"chat_hub_bytes_written_total":      float64(bytes),
		"chat_hub_messages_delivered_total": 2,
	} {
		if n := metricValue(t, reg, name); n != want {
			t.Errorf("%s = %v, want %v", name, n, want)
		}
	}
	s.Close(4001, "")
	waitDoneT(t, s)
	if n := metricValue(t, reg, "chat_hub_sessions"); n != 0 {
		t.Errorf("sessions %v after close", n)
	}
}

// Every Send through a broker is timed once (chat_hub_broker_publish_seconds
// counts them); without a broker nothing is.
func TestBrokerPublishMetric(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := newTestHub(t, Options{Metrics: NewMetrics(reg), Broker: recordingBroker{&listenLog{}}, NodeID: "n1"})
	for range 3 {
		if err := h.Send(context.Background(), &Envelope{Kind: KindPush, GroupID: "g", ToGroup: true}); err != nil {
			t.Fatal(err)
		}
	}
	if n := metricValue(t, reg, "chat_hub_broker_publish_seconds"); n != 3 {
		t.Errorf("%v publishes timed, want 3", n)
	}
}

// Every Post is timed once too, and counted as pending until the broker
// answers it.
func TestBrokerPostMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	br := &heldBroker{}
	h := newTestHub(t, Options{Metrics: NewMetrics(reg), Broker: br, NodeID: "n1"})
	for range 3 {
		h.Post(context.Background(), &Envelope{Kind: KindPush, GroupID: "g", ToGroup: true})
	}
	if n := metricValue(t, reg, "chat_hub_broker_posts_pending"); n != 3 {
		t.Errorf("%v posts pending, want 3", n)
	}
	br.answer(nil)
	if n := metricValue(t, reg, "chat_hub_broker_posts_pending"); n != 0 {
		t.Errorf("%v posts pending after the answers, want 0", n)
	}
	if n := metricValue(t, reg, "chat_hub_broker_publish_seconds"); n != 3 {
		t.Errorf("%v posts timed, want 3", n)
	}
}
