package hub

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// state is where a session is in its life; each step only goes forward.
type state uint8

const (
	stateOpen    state = iota // accepting Sends
	stateClosing              // Close was called: the queue drains, then Conn.Close
	stateAborted              // CloseNow or Unregister: the queue is dropped
	stateEnded                // the writer has stopped
)

// Session is one connection of this node. Its methods are safe for
// concurrent use.
type Session struct {
	id   uint64
	h    *Hub
	conn Conn
	user atomic.Pointer[string] // nil when not logged in; written under mu and the user shard
	done chan struct{}

	// mu guards subs and unindexed; see the lock order in the package doc.
	mu        sync.Mutex
	subs      map[string]bool // group ID → live
	unindexed bool            // the session left the indexes for good

	// qmu guards every field below it. It is a leaf lock.
	qmu        sync.Mutex
	items      []item        // waiting for the writer, oldest first
	spare      []item        // the writer's last batch, emptied: the next queue
	notify     chan struct{} // 1-buffered: wakes the writer when items or state change
	state      state
	held       int    // Hold calls not yet Released: the writer waits while open
	code       int    // the close code, 0 until Close or CloseNow
	reason     string // the close reason
	peerGone   bool   // Unregister: do not call Conn.Close
	pingTimer  *time.Timer
	pingCancel func() // cancels the ping in flight, if any
	pings      sync.WaitGroup

	guard writeGuard // bounds the writer's writes
}

func newSession(h *Hub, c Conn) *Session {
	s := &Session{
		id:     h.nextID.Add(1),
		h:      h,
		conn:   c,
		done:   make(chan struct{}),
		notify: make(chan struct{}, 1),
	}
	s.guard.abort = c.Abort
	return s
}

// ID returns the session's ID: unique in its hub, increasing with each
// Register.
func (s *Session) ID() uint64 { return s.id }

// UserID returns the user the session is logged in as, "" when none.
func (s *Session) UserID() string {
	if p := s.user.Load(); p != nil {
		return *p
	}
	return ""
}

// Send queues one complete pre-encoded frame (a reply or a push) after
// everything queued before it. It never blocks. frame must not be modified
// afterwards. A full queue closes the session at once with 4008; after
// Close or CloseNow, Send drops frame.
func (s *Session) Send(frame []byte) {
	s.enqueue(item{b: frame, kind: kindFrame})
}

// Hold makes the writer leave what is queued from now on until the
// matching Release, so a request's own pushes and its reply, queued in
// between, go out in one batch (one send, with a Corker conn). Every
// Hold needs its Release; a Close or CloseNow does not wait for it.
func (s *Session) Hold() {
	s.qmu.Lock()
	s.held++
	s.qmu.Unlock()
}

// Release ends a Hold.
func (s *Session) Release() {
	s.qmu.Lock()
	s.held--
	wake := s.held == 0 && len(s.items) > 0
	s.qmu.Unlock()
	if wake {
		s.wake()
	}
}

// Close closes the session gracefully: frames queued before it are
// written first, then Conn.Close(code, reason) is called; later Sends are
// dropped. Idempotent: the first code wins (only CloseNow can replace it,
// while the close has not been carried out).
func (s *Session) Close(code int, reason string) {
	s.qmu.Lock()
	if s.state != stateOpen {
		s.qmu.Unlock()
		return
	}
	s.state = stateClosing
	s.code, s.reason = code, reason
	s.items = append(s.items, item{kind: kindClose})
	s.qmu.Unlock()
	s.wake()
}

// CloseNow drops the queue and closes the session at once: a write in
// flight is cancelled, then Conn.Close(code, reason) is called. The first
// CloseNow wins; it replaces the code of a Close still waiting for its
// queue to drain (so Drain's 1001 reaches sessions stuck behind a slow
// write). Idempotent.
func (s *Session) CloseNow(code int, reason string) {
	s.abort(code, reason, false)
}

// Done is closed when the writer has exited and the session has left
// every index of the hub.
func (s *Session) Done() <-chan struct{} { return s.done }

// CloseCode returns the code the session was closed with by Close or
// CloseNow; 0 if it ended without one (the peer went away, a write
// failed) or is still open.
func (s *Session) CloseCode() int {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	return s.code
}

// Groups returns the groups the session is subscribed to, sorted.
func (s *Session) Groups() []string {
	s.mu.Lock()
	list := make([]string, 0, len(s.subs))
	for g := range s.subs {
		list = append(list, g)
	}
	s.mu.Unlock()
	slices.Sort(list)
	return list
}

// abort moves the session to stateAborted: the queue is dropped, the write
// and ping in flight are cancelled and the writer is woken to finish. code
// 0 keeps the code set by an earlier Close. It reports whether this call
// aborted the session.
func (s *Session) abort(code int, reason string, peerGone bool) bool {
	s.qmu.Lock()
	if s.state >= stateAborted {
		s.qmu.Unlock()
		return false
	}
	s.state = stateAborted
	if code != 0 {
		s.code, s.reason = code, reason
	}
	s.peerGone = peerGone
	clear(s.items)
	s.items = s.items[:0]
	cancelPing := s.pingCancel
	s.qmu.Unlock()
	s.guard.cancel()
	if cancelPing != nil {
		cancelPing()
	}
	s.wake()
	return true
}

// wake tells the writer to look at the queue; it never blocks.
func (s *Session) wake() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// overflow closes a session whose queue is full, once.
func (s *Session) overflow() {
	if s.abort(codeSlowConsumer, "slow consumer", false) {
		s.h.m.overflowed()
		s.h.log.Info("session queue overflowed", "conn_id", s.id, "user_id", s.UserID(),
			"queue_size", s.h.opts.QueueSize)
	}
}
