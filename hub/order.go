package hub

import (
	"sync"
	"time"
)

// reorderWait is how long a group's push waits for the pushes of lower
// sequences before it goes out anyway. Two senders' messages can take
// sequences 5 and 6 in the store and reach the hub as 6, 5 (goroutine
// scheduling, another node's pub/sub path); holding 6 briefly lets every
// session see a group's messages in increasing sequence (SPEC.md §6.1).
const reorderWait = 250 * time.Millisecond

// orderer releases each group's sequenced pushes to the hub in sequence
// order. A push whose predecessors do not arrive within reorderWait goes
// out anyway (the gap is the client's to fill with syncMessages); one
// older than what a group already released is dropped for the same
// reason, so no session ever sees a group's sequence go backwards.
type orderer struct {
	publish func(*Push)

	mu     sync.Mutex // mu guards groups
	groups map[string]*groupOrder
}

// groupOrder is one group's state. Its mu is held while its pushes are
// published, so two releases of one group cannot overtake each other
// (hub.Publish only enqueues; it never blocks on a socket).
type groupOrder struct {
	mu      sync.Mutex       // mu guards the fields below and publishing
	born    time.Time        // when this node first saw the group (lately)
	last    uint64           // highest sequence released
	pending map[uint64]*Push // held back, waiting for a gap to fill
	timer   *time.Timer
	idle    time.Time // when it last released; for forgetting idle groups
}

func newOrderer(publish func(*Push)) *orderer {
	return &orderer{publish: publish, groups: map[string]*groupOrder{}}
}

// push releases p now or holds it until its predecessors arrive.
func (o *orderer) push(p *Push, groupID string, seq uint64) {
	if seq == 0 || groupID == "" {
		o.publish(p)
		return
	}
	g := o.group(groupID, seq)
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case seq <= g.last && time.Since(g.born) < reorderWait:
		// The group is new to this orderer, which started it at the first
		// sequence it saw; an earlier one still in flight is delivered
		// rather than lost.
		o.publish(p)
	case seq <= g.last:
		// Released past it already: delivering now would go backwards.
	case seq == g.last+1:
		o.publishAll(g.release(p, seq))
	default:
		g.pending[seq] = p
		if g.timer == nil {
			g.timer = time.AfterFunc(reorderWait, func() { o.expire(g) })
		}
	}
}

// group returns the state of groupID, starting it at seq when new.
func (o *orderer) group(groupID string, seq uint64) *groupOrder {
	o.mu.Lock()
	defer o.mu.Unlock()
	g := o.groups[groupID]
	if g == nil {
		now := time.Now()
		g = &groupOrder{last: seq - 1, pending: map[uint64]*Push{}, idle: now, born: now}
		o.groups[groupID] = g
		o.gc()
	}
	return g
}

func (o *orderer) publishAll(ps []*Push) {
	for _, p := range ps {
		o.publish(p)
	}
}

// release takes p (sequence seq) and every held push that follows it
// without a gap; called with g.mu held.
func (g *groupOrder) release(p *Push, seq uint64) []*Push {
	out := []*Push{p}
	g.last = seq
	for {
		q, ok := g.pending[g.last+1]
		if !ok {
			break
		}
		delete(g.pending, g.last+1)
		g.last++
		out = append(out, q)
	}
	if len(g.pending) == 0 && g.timer != nil {
		g.timer.Stop()
		g.timer = nil
	}
	g.idle = time.Now()
	return out
}

// expire gives up waiting for a gap: everything held goes out in order.
func (o *orderer) expire(g *groupOrder) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.timer = nil
	for len(g.pending) > 0 {
		next := uint64(0)
		for s := range g.pending {
			if next == 0 || s < next {
				next = s
			}
		}
		p := g.pending[next]
		delete(g.pending, next)
		o.publishAll(g.release(p, next))
	}
}

// gc forgets groups idle for a minute with nothing held, so the map does
// not grow with every group ever seen; called with o.mu held, amortised.
func (o *orderer) gc() {
	if len(o.groups)%1024 != 0 {
		return
	}
	cut := time.Now().Add(-time.Minute)
	for id, g := range o.groups {
		if g.mu.TryLock() {
			if len(g.pending) == 0 && g.idle.Before(cut) {
				delete(o.groups, id)
			}
			g.mu.Unlock()
		}
	}
}

// close stops every timer; held pushes are dropped.
func (o *orderer) close() {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, g := range o.groups {
		g.mu.Lock()
		if g.timer != nil {
			g.timer.Stop()
		}
		g.mu.Unlock()
	}
	o.groups = map[string]*groupOrder{}
}
