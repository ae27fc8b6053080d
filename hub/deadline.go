package hub

import (
	"context"
	"sync"
	"time"
)

// writeGuard bounds one session's writes. The writer arms it before every
// write and disarms it after; when a write is still in flight at its
// deadline, or the session is closed at once, it aborts the connection
// (Conn.Abort), which makes the write return. Writes themselves carry no
// context: a context with a deadline made coder/websocket register and
// stop a context.AfterFunc on every write (4% of a busy node's CPU).
// After it has ended it stays ended and arm fails, which is what ends the
// writer.
//
// The timer is lazy: arm only moves the deadline and starts the timer if
// it is not running; when it fires early (the deadline moved) it re-arms
// itself for the rest. A busy session touches the runtime's timer heap
// about once per WriteTimeout, not twice per write.
type writeGuard struct {
	mu       sync.Mutex // guards every field
	abort    func()     // Conn.Abort of the session, called once when it ends
	err      error
	deadline time.Time
	armed    bool        // a write is in flight
	running  bool        // timer is set to fire
	timer    *time.Timer // made at the first write after an idle time
}

// arm starts a write that must end within d. It fails once the context
// is done.
func (c *writeGuard) arm(d time.Duration) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return false
	}
	c.deadline = time.Now().Add(d)
	c.armed = true
	switch {
	case c.timer == nil:
		c.timer = time.AfterFunc(d, c.expire)
	case !c.running:
		c.timer.Reset(d)
	}
	c.running = true
	return true
}

// disarm ends the write in flight; the timer runs out on its own.
func (c *writeGuard) disarm() {
	c.mu.Lock()
	c.armed = false
	c.mu.Unlock()
}

// expire is the timer's callback: it ends the context if the write in
// flight is past its deadline, or waits for the rest of a deadline that
// moved since the timer was set.
func (c *writeGuard) expire() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.running = false
	if !c.armed || c.err != nil {
		return
	}
	if left := time.Until(c.deadline); left > 0 {
		c.timer.Reset(left)
		c.running = true
		return
	}
	c.end(context.DeadlineExceeded)
}

// trim drops the timer of a session that has not written for a while
// (its timer has run out), so an idle session holds none.
func (c *writeGuard) trim() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.armed && !c.running {
		c.timer = nil
	}
}

// cancel ends the context for good (the session is closing at once).
func (c *writeGuard) cancel() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.end(context.Canceled)
	if c.timer != nil {
		c.timer.Stop()
	}
}

// cancelled reports whether cancel (not a timeout) ended the context.
func (c *writeGuard) cancelled() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err == context.Canceled
}

// end needs c.mu. Only a write in flight is aborted: with none, the
// writer sees the end at its next arm and the session can still close
// with its code. The abort runs in its own goroutine: it may block on the
// transport and must not hold up the caller (the timer, or a CloseNow
// from anywhere).
func (c *writeGuard) end(err error) {
	if c.err != nil {
		return
	}
	c.err = err
	if c.armed && c.abort != nil {
		go c.abort()
	}
	c.armed = false
}
