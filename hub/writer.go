package hub

import (
	"errors"
)

// The coalesced push frame: onMessageReceived with an array of elements.
const (
	framePrefix = `{"event":"onMessageReceived","data":[`
	frameSuffix = `]}`
	// maxCoalesce caps the elements of one coalesced frame, so a burst
	// stays under the client's 64 KiB frame limit (an element bigger than
	// this still goes out, alone).
	maxCoalesce = 60 << 10
)

// errAborted ends the writer without counting a write error: the session
// was closed at once (CloseNow or Unregister) while it wrote.
var errAborted = errors.New("session closed")

// run is the session's writer goroutine: the only one that calls
// Conn.Write and Conn.Close. It drains the queue batch by batch until a
// close marker, a write error or an abort, then finishes the session.
func (s *Session) run() {
	var batch []item
	var err error
	for {
		var ok bool
		if batch, ok = s.take(batch); !ok {
			break
		}
		if len(batch) == 0 {
			<-s.notify
			continue
		}
		var closing bool
		if closing, err = s.process(batch); closing || err != nil {
			break
		}
	}
	if errors.Is(err, errAborted) {
		err = nil
	}
	s.finish(err)
}

// process writes one batch in order, coalescing consecutive elements into
// onMessageReceived frames. closing reports a close marker.
func (s *Session) process(batch []item) (closing bool, err error) {
	if ck, ok := s.conn.(Corker); ok && len(batch) > 1 {
		ck.Cork()
		defer func() {
			if uerr := s.uncork(ck); err == nil {
				err = uerr
			}
		}()
	}
	c := coalescer{h: s.h}
	defer c.release()
	for i := range batch {
		it := &batch[i]
		switch it.kind {
		case kindElement:
			if c.full(len(it.b)) {
				err = s.flush(&c)
			}
			c.add(it.b)
		case kindFrame:
			if err = s.flush(&c); err == nil {
				if err = s.write(it.b); err == nil && it.n > 0 {
					s.h.m.delivered(int(it.n))
				}
			}
		case kindClose:
			return true, s.flush(&c)
		}
		if err != nil {
			return false, err
		}
	}
	return false, s.flush(&c)
}

// flush writes the elements gathered in c as one frame, if any.
func (s *Session) flush(c *coalescer) error {
	n := c.n
	if n == 0 {
		return nil
	}
	err := s.write(c.frame())
	if err == nil {
		s.h.m.delivered(n)
	}
	return err
}

// write writes one frame under the write timeout.
func (s *Session) write(p []byte) error {
	err := s.guarded(func() error { return s.conn.Write(p) })
	if err == nil {
		s.h.m.wrote(len(p))
	}
	return err
}

// uncork sends what a corked batch wrote, under the write timeout.
func (s *Session) uncork(ck Corker) error { return s.guarded(ck.Uncork) }

// guarded runs a write of the transport under the write timeout; an
// error ends the session.
func (s *Session) guarded(write func() error) error {
	if !s.guard.arm(s.h.opts.WriteTimeout) {
		return errAborted
	}
	err := write()
	s.guard.disarm()
	if err != nil {
		if s.guard.cancelled() {
			return errAborted
		}
		s.h.m.writeFailed()
		s.h.log.Debug("session write failed", "conn_id", s.id, "user_id", s.UserID(), "err", err)
		return err
	}
	return nil
}

// finish ends the session: no more pings, out of every index and the
// registry, the transport closed (unless the peer is gone), then Done.
func (s *Session) finish(writeErr error) {
	s.qmu.Lock()
	s.state = stateEnded
	s.items, s.spare = nil, nil
	code, reason, peerGone := s.code, s.reason, s.peerGone
	timer, cancelPing := s.pingTimer, s.pingCancel
	s.qmu.Unlock()
	s.guard.cancel()
	if timer != nil {
		timer.Stop()
	}
	if cancelPing != nil {
		cancelPing()
	}
	s.h.unindex(s)
	s.h.forget(s)
	if !peerGone {
		if code == 0 || writeErr != nil {
			code, reason = codeInternal, "write failed"
		}
		_ = s.conn.Close(code, reason)
	}
	s.pings.Wait()
	close(s.done)
}

// coalescer builds one onMessageReceived frame in a buffer borrowed from
// the hub's pool for the length of a batch: idle sessions hold none.
type coalescer struct {
	h   *Hub
	buf *[]byte
	n   int // elements in the frame being built
}

// full reports whether an element of size more would push the frame being
// built past maxCoalesce.
func (c *coalescer) full(size int) bool {
	return c.n > 0 && len(*c.buf)+1+size > len(framePrefix)+maxCoalesce
}

func (c *coalescer) add(e []byte) {
	if c.buf == nil {
		c.buf = c.h.getBuf()
	}
	b := *c.buf
	if c.n == 0 {
		b = append(b[:0], framePrefix...)
	} else {
		b = append(b, ',')
	}
	*c.buf = append(b, e...)
	c.n++
}

// frame closes the frame being built and returns it; the bytes are valid
// until the next add.
func (c *coalescer) frame() []byte {
	*c.buf = append(*c.buf, frameSuffix...)
	c.n = 0
	return *c.buf
}

func (c *coalescer) release() {
	if c.buf != nil {
		c.h.putBuf(c.buf)
		c.buf = nil
	}
}

// maxPooledBuf keeps one huge element from pinning a huge buffer.
const maxPooledBuf = 2 * maxCoalesce

func (h *Hub) getBuf() *[]byte {
	if v := h.bufs.Get(); v != nil {
		return v.(*[]byte)
	}
	b := make([]byte, 0, 4<<10)
	return &b
}

func (h *Hub) putBuf(b *[]byte) {
	if cap(*b) > maxPooledBuf {
		return
	}
	*b = (*b)[:0]
	h.bufs.Put(b)
}
