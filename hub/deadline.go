package hub

import (
	"context"
	"sync"
	"time"
)

// writeCtx is the context.Context of one session's writes. The writer
// re-arms it for every write instead of calling context.WithTimeout, so a
// write costs no allocation. Its Done channel closes once, when a write
// times out or the session is closed at once; after that it stays done
// and arm fails, which is what ends the writer.
//
// The timer is lazy: arm only moves the deadline and starts the timer if
// it is not running; when it fires early (the deadline moved) it re-arms
// itself for the rest. A busy session touches the runtime's timer heap
// about once per WriteTimeout, not twice per write.
type writeCtx struct {
	mu       sync.Mutex // guards every field
	done     chan struct{}
	err      error
	deadline time.Time
	armed    bool        // a write is in flight
	running  bool        // timer is set to fire
	timer    *time.Timer // made at the first write after an idle time
}

var _ context.Context = (*writeCtx)(nil)

// closedChan is Done of a context that ended before anyone asked.
var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// Deadline returns the deadline of the write in flight (or of the last).
func (c *writeCtx) Deadline() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.deadline, !c.deadline.IsZero()
}

// Done returns a channel closed when a write timed out or the session was
// closed at once.
func (c *writeCtx) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		if c.err != nil {
			return closedChan
		}
		c.done = make(chan struct{})
	}
	return c.done
}

// Err returns context.DeadlineExceeded or context.Canceled once done.
func (c *writeCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Value returns nil: the context carries no values.
func (c *writeCtx) Value(any) any { return nil }

// arm starts a write that must end within d. It fails once the context
// is done.
func (c *writeCtx) arm(d time.Duration) bool {
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
func (c *writeCtx) disarm() {
	c.mu.Lock()
	c.armed = false
	c.mu.Unlock()
}

// expire is the timer's callback: it ends the context if the write in
// flight is past its deadline, or waits for the rest of a deadline that
// moved since the timer was set.
func (c *writeCtx) expire() {
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
func (c *writeCtx) trim() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.armed && !c.running {
		c.timer = nil
	}
}

// cancel ends the context for good (the session is closing at once).
func (c *writeCtx) cancel() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.end(context.Canceled)
	if c.timer != nil {
		c.timer.Stop()
	}
}

// cancelled reports whether cancel (not a timeout) ended the context.
func (c *writeCtx) cancelled() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err == context.Canceled
}

// end needs c.mu.
func (c *writeCtx) end(err error) {
	if c.err != nil {
		return
	}
	c.err = err
	c.armed = false
	if c.done != nil {
		close(c.done)
	}
}
