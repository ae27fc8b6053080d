package hub

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"testing"
)

// nullConn discards every frame, as a fast reader would.
type nullConn struct{}

func (nullConn) Write([]byte) error         { return nil }
func (nullConn) Abort()                     {}
func (nullConn) Ping(context.Context) error { return nil }
func (nullConn) Close(int, string) error    { return nil }

// BenchmarkPublish measures one Publish to a group of n subscribers,
// including the writers' work (coalescing and writing), which runs
// concurrently. The aim: no allocation per recipient.
func BenchmarkPublish(b *testing.B) {
	for _, n := range []int{1, 1000, 10000} {
		b.Run(fmt.Sprint("subs=", n), func(b *testing.B) {
			p := push("m", "g", "u0")
			benchFanout(b, n, "g", false, "ns/recipient", func(h *Hub) { h.Publish(p) })
		})
	}
}

// benchFanout runs op on a hub with n sessions subscribed to group
// (nullConn: fast readers) and reports allocations and ns per session.
// The writers' work, which runs concurrently, is in the time.
func benchFanout(b *testing.B, n int, group string, live bool, unit string, op func(h *Hub)) {
	h := New(Options{QueueSize: 1 << 12, Logger: slog.New(slog.DiscardHandler)})
	defer h.Close()
	for i := range n {
		s := h.Register(nullConn{})
		h.SetUser(s, fmt.Sprint("u", i))
		h.Subscribe(s, group, live)
	}
	// Warm up: every writer has written once (its timer made, its queue
	// grown) before the clock starts.
	for range 2 * idleEvery {
		op(h)
	}
	waitIdle(h)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		op(h)
		if i%idleEvery == idleEvery-1 {
			waitIdle(h) // bound the backlog, as a real reader would
		}
	}
	waitIdle(h)
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), unit)
	if h.Len() != n {
		b.Fatalf("%d sessions closed", n-h.Len())
	}
}

// idleEvery is how many pushes BenchmarkPublish queues before letting
// the writers catch up.
const idleEvery = 64

// waitIdle waits until every queue has been taken by its writer.
func waitIdle(h *Hub) {
	for _, s := range h.snapshot() {
		for {
			s.qmu.Lock()
			n := len(s.items)
			s.qmu.Unlock()
			if n == 0 {
				break
			}
			runtime.Gosched()
		}
	}
}

// BenchmarkCoalesce measures the writer turning a batch of 64 queued
// elements into one onMessageReceived frame and writing it.
func BenchmarkCoalesce(b *testing.B) {
	h := New(Options{Logger: slog.New(slog.DiscardHandler)})
	defer h.Close()
	s := h.Register(nullConn{})
	in, _ := msg("grp-@TGS#2J4SZEAEL-1")
	batch := make([]item, 64)
	for i := range batch {
		batch[i] = item{b: in, kind: kindElement}
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(batch) * len(in)))
	for b.Loop() {
		if _, err := s.process(batch); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIdleSession reports what an idle session costs: heap bytes
// (session, queue, a user and one group in the indexes, timers) just after
// a push was written and once a ping has trimmed it, and stack bytes (its
// writer goroutine).
func BenchmarkIdleSession(b *testing.B) {
	const n = 10000
	for b.Loop() {
		h := New(Options{Logger: slog.New(slog.DiscardHandler)})
		heap0, stack0 := memUse()
		for i := range n {
			s := h.Register(nullConn{})
			h.SetUser(s, fmt.Sprint("u", i))
			h.Subscribe(s, "g", false)
		}
		h.Publish(push("m", "g", ""))
		waitIdle(h)
		heap1, stack1 := memUse()
		for _, s := range h.snapshot() {
			s.trim() // what the next ping does
		}
		heap2, _ := memUse()
		b.ReportMetric(float64(heap1-heap0)/n, "heap-B/session")
		b.ReportMetric(float64(heap2-heap0)/n, "heap-B/idle-session")
		b.ReportMetric(float64(stack1-stack0)/n, "stack-B/session")
		h.Close()
	}
}

func memUse() (heap, stack int64) {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc), int64(m.StackInuse)
}

// BenchmarkWindow measures one window of a live room of n viewers: six
// messages held, then every phase sent (each phase's frame encoded once,
// queued on its viewers). The aim, as for Publish: no allocation per
// viewer, only per phase.
func BenchmarkWindow(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprint("viewers=", n), func(b *testing.B) {
			ps := make([]*Push, 6)
			for i := range ps {
				ps[i] = push(fmt.Sprint("m", i), "room", "sender")
				ps[i].Chat, ps[i].Gather = true, true
			}
			w := &roomWindow{id: "room"}
			benchFanout(b, n, "room", true, "ns/viewer", func(h *Hub) {
				w.mu.Lock()
				w.log = append(w.log, ps...)
				h.sendAll(w)
				w.mu.Unlock()
			})
		})
	}
}
