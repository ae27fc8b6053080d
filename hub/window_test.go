package hub

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestWindowFor(t *testing.T) {
	o := Options{WindowFrames: 60_000, MaxWindow: 200 * time.Millisecond}
	tests := []struct {
		viewers, rate int
		want          time.Duration
	}{
		{1, 40, 0},
		{1000, 40, 0}, // 40,000 frames/s fit the budget: no window
		{1500, 40, 0}, // exactly the budget
		{1501, 40, 25016666},
		{6000, 40, 100 * time.Millisecond},
		{10_000, 40, 166666666},
		{10_000, 5, 0},
		{100_000, 40, 200 * time.Millisecond}, // capped
	}
	for _, tt := range tests {
		if got := o.windowFor(tt.viewers, tt.rate); got != tt.want {
			t.Errorf("%d viewers at %d/s: window %v, want %v", tt.viewers, tt.rate, got, tt.want)
		}
	}
	if got := (Options{MaxWindow: time.Second}).windowFor(1e6, 40); got != 0 {
		t.Errorf("disabled windows: %v", got)
	}
}

// windowHub is a hub whose room "room" gets a window (of 40 ms) once 4
// viewers receive 3 or more messages a second; viewers are v1..v3 and the
// sender's two sessions, alice (sending) and alice2.
type windowRoom struct {
	h        *Hub
	reg      *prometheus.Registry
	viewers  map[string]*Session
	conns    map[string]*fakeConn
	sender   *Session
	seq      uint64
	released []string
}

func newWindowRoom(t *testing.T) *windowRoom {
	reg := prometheus.NewRegistry()
	r := &windowRoom{reg: reg, viewers: map[string]*Session{}, conns: map[string]*fakeConn{}}
	r.h = newTestHub(t, Options{WindowFrames: 10, MaxWindow: 40 * time.Millisecond, Metrics: NewMetrics(reg)})
	for _, name := range []string{"v1", "v2", "v3", "alice", "alice2"} {
		user := name
		if name == "alice2" {
			user = "alice"
		}
		s, c := session(r.h, user)
		r.h.Subscribe(s, "room", true)
		r.viewers[name], r.conns[name] = s, c
	}
	r.sender = r.viewers["alice"]
	return r
}

// send releases a chat message of alice (from her first session) to the room.
func (r *windowRoom) send(id string) {
	p := push(id, "room", "alice")
	p.Chat, p.Gather, p.Exclude = true, true, r.sender
	r.seq++
	r.h.order.push(p, "room", r.seq)
}

// TestWindowGathers: the first messages of a quiet room go out one by one;
// once viewers × rate passes the budget the room's messages are held for
// the window and every viewer gets them in one shared frame, while the
// sender's sessions get theirs one by one (none of her own for the
// sending session, "out" for her other one).
func TestWindowGathers(t *testing.T) {
	r := newWindowRoom(t)
	for i := 1; i <= 6; i++ {
		r.send(fmt.Sprint("m", i))
	}
	// m1, m2: 5 viewers × ≤ 2/s fits the budget of 10; m3 opens a window
	// (5 × 3 > 10) that m4..m6 join.
	var shared string
	for _, v := range []string{"v1", "v2", "v3"} {
		frames := waitFrames(t, r, v, 6)
		if got := tokens(t, frames); !reflect.DeepEqual(got, []string{"m1/in", "m2/in", "m3/in", "m4/in", "m5/in", "m6/in"}) {
			t.Errorf("%s got %v", v, got)
		}
		last := frames[len(frames)-1]
		if got := tokens(t, []string{last}); len(got) != 4 {
			t.Errorf("%s: the window's frame holds %v, want m3..m6", v, got)
		}
		if shared == "" {
			shared = last
		} else if last != shared {
			t.Errorf("%s: window frame differs from v1's", v)
		}
	}
	got := tokens(t, waitFrames(t, r, "alice2", 6))
	if want := []string{"m1/out", "m2/out", "m3/out", "m4/out", "m5/out", "m6/out"}; !reflect.DeepEqual(got, want) {
		t.Errorf("alice's other session got %v, want %v", got, want)
	}
	time.Sleep(100 * time.Millisecond) // every phase of the 40 ms window has gone
	if got := tokens(t, flushed(t, r.viewers["alice"], r.conns["alice"])); len(got) != 0 {
		t.Errorf("the sending session got %v, want nothing", got)
	}
	if n := metricValue(t, r.reg, "chat_hub_messages_delivered_total"); n != 6*4 {
		t.Errorf("delivered %v, want 24", n)
	}
}

// waitFrames waits until viewer v has received n messages and returns its
// frames.
func waitFrames(t *testing.T, r *windowRoom, v string, n int) []string {
	t.Helper()
	var frames []string
	waitFor(t, fmt.Sprintf("%d messages at %s", n, v), func() bool {
		frames = r.conns[v].written()
		return len(tokens(t, frames)) >= n
	})
	return frames
}

// TestWindowOrder: a push to the room that is not gathered (a tip, a
// notice to a user) flushes the messages held first.
func TestWindowOrder(t *testing.T) {
	r := newWindowRoom(t)
	for i := 1; i <= 4; i++ {
		r.send(fmt.Sprint("m", i))
	}
	tip := push("tip", "room", "")
	r.seq++
	r.h.order.push(tip, "room", r.seq)
	got := tokens(t, waitFrames(t, r, "v1", 5))
	if want := []string{"m1/in", "m2/in", "m3/in", "m4/in", "tip/in"}; !reflect.DeepEqual(got, want) {
		t.Errorf("v1 got %v, want %v", got, want)
	}
}

// TestWindowDiscard: a viewer whose user set Discard gets no chat, with
// or without a window; the frames of a window stay under maxCoalesce.
func TestWindowDiscard(t *testing.T) {
	r := newWindowRoom(t)
	r.h.SetDiscard("v2", "room", true)
	big := strings.Repeat("x", maxCoalesce/3)
	for i := 1; i <= 8; i++ {
		p := push(fmt.Sprint("m", i), "room", "alice")
		p.In = []byte(`{"ID":"` + fmt.Sprint("m", i) + `","flow":"in","pad":"` + big + `"}`)
		p.Chat, p.Gather, p.Exclude = true, true, r.sender
		r.seq++
		r.h.order.push(p, "room", r.seq)
	}
	frames := waitFrames(t, r, "v1", 8)
	if got := tokens(t, frames); len(got) != 8 {
		t.Fatalf("v1 got %d messages, want 8", len(got))
	}
	for _, f := range frames {
		if len(f) > len(framePrefix)+maxCoalesce+len(frameSuffix) {
			t.Errorf("a frame of %d bytes", len(f))
		}
	}
	time.Sleep(100 * time.Millisecond) // every phase of the 40 ms window has gone
	if got := flushed(t, r.viewers["v2"], r.conns["v2"]); len(got) != 0 {
		t.Errorf("v2 (Discard) got %d frames", len(got))
	}
}

// TestWindowFanout: a window to thousands of viewers (split over the
// cores when there are several) reaches every one of them once.
func TestWindowFanout(t *testing.T) {
	h := newTestHub(t, Options{WindowFrames: 1000, MaxWindow: 20 * time.Millisecond})
	const n = 2*fanoutChunk + 100
	conns := make([]*fakeConn, n)
	for i := range conns {
		var s *Session
		s, conns[i] = session(h, fmt.Sprint("u", i))
		h.Subscribe(s, "room", true)
	}
	for i := 1; i <= 3; i++ {
		p := push(fmt.Sprint("m", i), "room", "someone")
		p.Chat, p.Gather = true, true
		h.order.push(p, "room", uint64(i))
	}
	for i, c := range conns {
		waitFor(t, fmt.Sprint("viewer ", i), func() bool { return len(tokens(t, c.written())) == 3 })
	}
}

// TestWindowPhases: the viewers of a windowed room are sent in phases
// spread over the window, each phase once per window with what it has not
// had, and the window closes once the room is quiet.
func TestWindowPhases(t *testing.T) {
	h := newTestHub(t, Options{WindowFrames: 100, MaxWindow: 100 * time.Millisecond})
	conns := make([]*fakeConn, 2*windowPhases)
	for i := range conns {
		var s *Session
		s, conns[i] = session(h, fmt.Sprint("u", i))
		h.Subscribe(s, "room", true)
	}
	start := time.Now()
	for i := 1; i <= 10; i++ { // 20 viewers × 10/s > 100: a 100 ms window from m6 on
		p := push(fmt.Sprint("m", i), "room", "someone")
		p.Chat, p.Gather = true, true
		h.order.push(p, "room", uint64(i))
	}
	arrival := make([]time.Duration, len(conns))
	for i, c := range conns {
		waitFor(t, fmt.Sprint("viewer ", i), func() bool { return len(tokens(t, c.written())) == 10 })
		arrival[i] = time.Since(start)
		if n := len(c.written()); n > 6 { // m1..m5 (maybe coalesced) and one window frame
			t.Errorf("viewer %d got %d frames", i, n)
		}
	}
	if last := slices.Max(arrival); last < 50*time.Millisecond {
		t.Errorf("every viewer had the window within %v: not spread over the window", last)
	}
	waitFor(t, "the window to close", func() bool {
		v, _ := h.windows.Load("room")
		w := v.(*roomWindow)
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.timer == nil && len(w.log) == 0
	})
}

// TestWindowClose: closing the hub stops an open window's ticker.
func TestWindowClose(t *testing.T) {
	r := newWindowRoom(t)
	for i := 1; i <= 4; i++ {
		r.send(fmt.Sprint("m", i))
	}
	v, ok := r.h.windows.Load("room")
	if !ok {
		t.Fatal("no window for the room")
	}
	w := v.(*roomWindow)
	r.h.Close()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.timer != nil || len(w.log) != 0 {
		t.Errorf("after Close: ticker %v, %d messages held", w.timer != nil, len(w.log))
	}
}
