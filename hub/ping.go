package hub

import (
	"context"
	"time"
)

// startPing arms the first ping. Pings run from a time.AfterFunc callback,
// so an idle session has no goroutine of its own besides the writer.
func (s *Session) startPing() {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	if s.state == stateOpen {
		s.pingTimer = time.AfterFunc(s.h.opts.PingPeriod, s.ping)
	}
}

// ping sends one ping and waits up to PongTimeout for its pong; a pong
// re-arms the timer, no pong closes the session with 4012.
func (s *Session) ping() {
	s.trim()
	ctx, ok := s.beginPing()
	if !ok {
		return
	}
	defer s.pings.Done()
	err := s.conn.Ping(ctx)
	s.endPing(err)
}

// beginPing registers a ping in flight, so the writer's finish can wait
// for it and CloseNow can cancel it. It fails once the session closes.
func (s *Session) beginPing() (context.Context, bool) {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	if s.state != stateOpen {
		return nil, false
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.h.opts.PongTimeout)
	s.pingCancel = cancel
	s.pings.Add(1) // before finish sets stateEnded, so before its Wait
	return ctx, true
}

// endPing re-arms the timer after a pong, or closes the session after a
// failed ping that our own close did not cause.
func (s *Session) endPing(err error) {
	s.qmu.Lock()
	cancel := s.pingCancel
	s.pingCancel = nil
	open := s.state == stateOpen
	if open && err == nil {
		s.pingTimer.Reset(s.h.opts.PingPeriod)
	}
	s.qmu.Unlock()
	cancel()
	if open && err != nil {
		s.h.m.pingTimedOut()
		s.h.log.Debug("session ping failed", "conn_id", s.id, "user_id", s.UserID(), "err", err)
		s.CloseNow(codePongTimeout, "pong timeout")
	}
}
