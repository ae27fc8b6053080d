package hub

// kind tells the writer what an item holds.
type kind uint8

const (
	kindElement kind = iota // one Message object, to be wrapped in onMessageReceived
	kindFrame               // a complete frame, written as is
	kindClose               // graceful close: everything before it is written first
)

// item is one entry of a session's queue. b is shared with other sessions
// and never modified.
type item struct {
	b    []byte
	kind kind
	n    int32 // kindFrame: the message elements in b (a room window's frame)
}

// maxSpare caps the capacity of the queue slices an idle session keeps:
// a busy session reuses its slices whatever their size, an idle one gives
// the memory of its largest burst back (see trim).
const maxSpare = 16

// enqueue appends its (one push: an element and maybe its notice) to the
// queue as a unit. It never blocks: over QueueSize it closes the session
// with 4008 instead.
func (s *Session) enqueue(its ...item) {
	s.qmu.Lock()
	if s.state != stateOpen {
		s.qmu.Unlock()
		return
	}
	if len(s.items)+len(its) > s.h.opts.QueueSize {
		s.qmu.Unlock()
		s.overflow()
		return
	}
	// The writer is only asleep (or about to be) when the queue is empty,
	// so only that transition needs a wake-up.
	wake := len(s.items) == 0 && s.held == 0 // a held writer is woken by Release
	s.items = append(s.items, its...)
	s.qmu.Unlock()
	if wake {
		s.wake()
	}
}

// take hands the queued items to the writer. spent, the writer's previous
// batch, becomes the spare slice that is the next queue, so the two slices
// trade places instead of allocating. ok is false once the session is
// aborted.
func (s *Session) take(spent []item) (batch []item, ok bool) {
	clear(spent) // the items must not pin shared bytes
	s.qmu.Lock()
	defer s.qmu.Unlock()
	if cap(spent) > cap(s.spare) {
		s.spare = spent[:0]
	}
	if s.state >= stateAborted {
		return nil, false
	}
	if len(s.items) == 0 || (s.held > 0 && s.state == stateOpen) {
		return nil, true // keep the empty queue's capacity where it is; Release wakes the writer
	}
	batch = s.items
	s.items, s.spare = s.spare, nil
	return batch, true
}

// trim drops queue slices grown past maxSpare, and the write timer, while
// the session is idle.
// The ping timer calls it, so only a session idle for a while pays.
func (s *Session) trim() {
	s.qmu.Lock()
	if len(s.items) == 0 && cap(s.items) > maxSpare {
		s.items = nil
	}
	if cap(s.spare) > maxSpare {
		s.spare = nil
	}
	s.qmu.Unlock()
	s.guard.trim()
}
