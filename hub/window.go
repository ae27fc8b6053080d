package hub

import (
	"runtime"
	"sync"
	"time"
)

// Room windows. A live room of N viewers at r messages/s costs N×r frames
// per second when every message is its own frame; at 10,000 viewers and
// 40 msg/s that is 400,000 writes a second, several times what one core
// can do. Instead, once N×r would exceed the node's frame budget
// (Options.WindowFrames), the hub holds the room's chat messages and
// sends every viewer one onMessageReceived frame per window of
// N/budget seconds (at most Options.MaxWindow) with the messages since
// its last one: frames/s bounded by design, each frame encoded once for
// all the viewers it goes to, no per-session copy. Small or quiet rooms
// get no window: each message goes out at once, as for any group.
//
// The viewers are split into windowPhases phases (by session ID), and
// phase k is sent at k/windowPhases of each window: the node writes a
// tenth of the room every tenth of a window instead of the whole room at
// once, so a message waits at most one window plus one phase's writes,
// not one window plus the whole room's.
//
// Order: everything else addressed to a room with messages held (a tip, a
// notice) first sends every phase what it has not had yet, so each
// session still sees the room's pushes in the order the hub released
// them.
//
// Sessions that must not get the shared frame — the sender (Exclude) and
// other sessions of a sender, who get the "out" flow — get the messages
// one by one, as without a window.

// windowPhases is the number of phases a room's viewers are sent in.
const windowPhases = 10

// roomWindow is the window state of one room on this node.
type roomWindow struct {
	mu sync.Mutex // guards the fields and serialises the room's releases
	id string
	// log holds the messages some phase has not been sent, oldest first;
	// log[i] is message number base+i of the room.
	log  []*Push
	base int
	sent [windowPhases]int // per phase: the number of the first message it has not had
	// timer ticks once per phase while the window is open; nil = closed.
	timer   *time.Timer
	phase   int           // the phase the next tick sends
	step    time.Duration // window / windowPhases
	arrived bool          // a message came during the current cycle
	// the room's release rate: pushes in the current and the last second
	sec         int64
	cur, before int
}

// count counts one push now; w.mu is held.
func (w *roomWindow) count(now time.Time) {
	w.roll(now)
	w.cur++
}

// rate is the room's recent rate in pushes per second; w.mu is held.
func (w *roomWindow) rate(now time.Time) int {
	w.roll(now)
	return max(w.cur, w.before)
}

func (w *roomWindow) roll(now time.Time) {
	switch sec := now.Unix(); {
	case sec == w.sec:
	case sec == w.sec+1:
		w.sec, w.before, w.cur = sec, w.cur, 0
	default:
		w.sec, w.before, w.cur = sec, 0, 0
	}
}

// windowFor returns the length of the window of a room with viewers
// subscribers here at rate pushes/s: 0 while viewers×rate fits the frame
// budget, else viewers/budget seconds, at most MaxWindow.
func (o Options) windowFor(viewers, rate int) time.Duration {
	if o.WindowFrames <= 0 || viewers*rate <= o.WindowFrames {
		return 0
	}
	d := time.Duration(viewers) * time.Second / time.Duration(o.WindowFrames)
	return min(d, o.MaxWindow)
}

// release is the orderer's output: every push goes through it, in each
// group's order.
func (h *Hub) release(p *Push) {
	if p.GroupID == "" {
		h.Publish(p)
		return
	}
	if !p.Gather || len(p.UserIDs) > 0 || p.Notice != nil {
		if v, ok := h.windows.Load(p.GroupID); ok {
			w := v.(*roomWindow)
			w.mu.Lock()
			h.sendAll(w)
			h.Publish(p)
			w.mu.Unlock()
			return
		}
		h.Publish(p)
		return
	}
	v, ok := h.windows.Load(p.GroupID)
	if !ok {
		var loaded bool
		if v, loaded = h.windows.LoadOrStore(p.GroupID, &roomWindow{id: p.GroupID}); !loaded && h.windowCount.Add(1)%1024 == 0 {
			h.sweepWindows()
		}
	}
	w := v.(*roomWindow)
	w.mu.Lock()
	defer w.mu.Unlock()
	now := time.Now()
	w.count(now)
	if w.timer != nil {
		w.log = append(w.log, p)
		w.arrived = true
		return
	}
	d := h.opts.windowFor(h.GroupSessions(p.GroupID), w.rate(now))
	if d == 0 {
		h.Publish(p)
		return
	}
	w.log = append(w.log, p)
	w.arrived = true
	w.phase, w.step = 0, max(d/windowPhases, time.Millisecond)
	w.timer = time.AfterFunc(w.step, func() { h.tick(w) })
}

// tick sends the next phase; at the end of a cycle it resizes the window
// to the room's size and rate, or closes it when the room went quiet.
func (h *Hub) tick(w *roomWindow) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.timer == nil {
		return
	}
	k := w.phase
	w.phase = (k + 1) % windowPhases
	h.sendPhase(w, k)
	w.trim()
	if k == windowPhases-1 {
		d := h.opts.windowFor(h.GroupSessions(w.id), w.rate(time.Now()))
		if d == 0 || (!w.arrived && len(w.log) == 0) {
			h.sendAll(w)
			w.timer = nil
			return
		}
		w.arrived = false
		w.step = max(d/windowPhases, time.Millisecond)
	}
	w.timer.Reset(w.step)
}

// sendAll sends every phase what it has not had; w.mu is held.
func (h *Hub) sendAll(w *roomWindow) {
	for k := range windowPhases {
		h.sendPhase(w, k)
	}
	w.trim()
}

// trim drops the messages every phase has had; w.mu is held.
func (w *roomWindow) trim() {
	done := w.sent[0]
	for _, n := range w.sent[1:] {
		done = min(done, n)
	}
	if drop := done - w.base; drop > 0 {
		n := copy(w.log, w.log[drop:])
		clear(w.log[n:])
		w.log = w.log[:n]
		w.base = done
	}
}

// closeWindows stops every room's ticker; held messages are dropped, as
// the orderer drops what it holds (the sessions are gone).
func (h *Hub) closeWindows() {
	h.windows.Range(func(k, v any) bool {
		w := v.(*roomWindow)
		w.mu.Lock()
		if w.timer != nil {
			w.timer.Stop()
			w.timer = nil
		}
		clear(w.log)
		w.log = w.log[:0]
		w.mu.Unlock()
		h.windows.Delete(k)
		return true
	})
}

// sweepWindows forgets rooms that released nothing for a minute and hold
// nothing, so the map does not grow with every room ever seen.
func (h *Hub) sweepWindows() {
	cut := time.Now().Add(-time.Minute).Unix()
	h.windows.Range(func(k, v any) bool {
		w := v.(*roomWindow)
		if w.mu.TryLock() {
			if w.timer == nil && len(w.log) == 0 && w.sec < cut {
				h.windows.Delete(k)
			}
			w.mu.Unlock()
		}
		return true
	})
}

// sendPhase sends phase k's viewers the messages they have not had: the
// shared frames to most, the messages one by one to the senders'
// sessions; w.mu is held.
func (h *Hub) sendPhase(w *roomWindow, k int) {
	ps := w.log[w.sent[k]-w.base:]
	if len(ps) == 0 {
		return
	}
	w.sent[k] = w.base + len(w.log)
	frames := windowFrames(ps)
	rs := h.getRecipients()
	gsh := h.groupShard(w.id)
	gsh.mu.RLock()
	for s, discard := range gsh.groups[w.id] {
		if !discard && s.id%windowPhases == uint64(k) { // every held push is a chat message
			*rs = append(*rs, s)
		}
	}
	gsh.mu.RUnlock()
	fanout(*rs, func(s *Session) {
		if ownsOne(s, ps) {
			for _, p := range ps {
				if p.Exclude != s {
					s.deliver(p)
				}
			}
			return
		}
		s.enqueue(frames...)
	})
	h.putRecipients(rs)
}

// ownsOne reports whether s sent one of ps or is a session of a sender.
func ownsOne(s *Session, ps []*Push) bool {
	user := ""
	for _, p := range ps {
		if p.Exclude == s {
			return true
		}
		if p.Out != nil && p.From != "" {
			if user == "" {
				if user = s.UserID(); user == "" {
					user = "\x00" // anonymous: never a sender
				}
			}
			if user == p.From {
				return true
			}
		}
	}
	return false
}

// windowFrames encodes ps's "in" elements as onMessageReceived frames of
// at most maxCoalesce bytes of elements each (one element may exceed it,
// alone), shared by every viewer: fresh buffers, never reused.
func windowFrames(ps []*Push) []item {
	var out []item
	var b []byte
	n := int32(0)
	left := 0 // bytes of the elements not yet framed
	for _, p := range ps {
		left += len(p.In) + 1
	}
	for _, p := range ps {
		if n > 0 && len(b)+1+len(p.In) > len(framePrefix)+maxCoalesce {
			out = append(out, item{b: append(b, frameSuffix...), kind: kindFrame, n: n})
			b, n = nil, 0
		}
		if n == 0 {
			size := len(framePrefix) + min(left, maxCoalesce+len(p.In)) + len(frameSuffix)
			b = append(make([]byte, 0, size), framePrefix...)
		} else {
			b = append(b, ',')
		}
		b = append(b, p.In...)
		left -= len(p.In) + 1
		n++
	}
	return append(out, item{b: append(b, frameSuffix...), kind: kindFrame, n: n})
}

// fanoutChunk is the recipient count above which a fan-out is split
// across the cores.
const fanoutChunk = 2048

// fanout calls f for every session, spread over the cores when there are
// many: f for different sessions may run in parallel, and fanout returns
// when all are done.
func fanout(rs []*Session, f func(*Session)) {
	parts := min(runtime.GOMAXPROCS(0), len(rs)/fanoutChunk)
	if parts <= 1 {
		for _, s := range rs {
			f(s)
		}
		return
	}
	var wg sync.WaitGroup
	per := (len(rs) + parts - 1) / parts
	for i := 0; i < len(rs); i += per {
		part := rs[i:min(i+per, len(rs))]
		wg.Go(func() {
			for _, s := range part {
				f(s)
			}
		})
	}
	wg.Wait()
}
