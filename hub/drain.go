package hub

import (
	"context"
	"time"
)

// drainGrace is how long Drain waits for writers after closing the last
// sessions at once: they only have to cancel a write and close.
const drainGrace = time.Second

// Drain closes every session with code (the server passes 4001), spread
// evenly over spread so clients do not all reconnect at once. When ctx
// ends first, the sessions still open are closed at once with 1001. It
// returns when all are Done, or after ctx ended and the writers had a
// brief moment (drainGrace) to finish.
func (h *Hub) Drain(ctx context.Context, spread time.Duration, code int) {
	list := h.snapshot()
	h.closeSpread(ctx, list, spread, code)
	if waitDone(ctx, list) {
		return
	}
	for _, s := range list {
		s.CloseNow(codeGoingAway, "server going away")
	}
	grace, cancel := context.WithTimeout(context.Background(), drainGrace)
	defer cancel()
	waitDone(grace, list)
}

// closeSpread closes list[i] at start + spread*i/len(list); times are
// computed from the start, so a late wake-up does not delay the rest.
func (h *Hub) closeSpread(ctx context.Context, list []*Session, spread time.Duration, code int) {
	start := time.Now()
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for i, s := range list {
		due := start.Add(spread * time.Duration(i) / time.Duration(len(list)))
		if d := time.Until(due); d > 0 {
			t.Reset(d)
			select {
			case <-t.C:
			case <-ctx.Done():
				return
			}
		}
		s.Close(code, "server draining")
	}
}

// waitDone waits until every session in list is Done (true) or ctx ends.
func waitDone(ctx context.Context, list []*Session) bool {
	for _, s := range list {
		select {
		case <-s.Done():
		case <-ctx.Done():
			return false
		}
	}
	return true
}
