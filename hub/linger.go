package hub

import (
	"sync"
	"time"
)

// lingerer stands between the hub's indexes and Broker.Listen: a channel
// whose last session on this node left stays listened to for a while, so
// a session that comes back soon (a quit and a rejoin, a reconnect) finds
// the node still listening. That saves the broker an unsubscribe and a
// subscribe, and the session the resync push a new subscription costs
// (messages published before the broker confirms it could be missed).
// What the node receives meanwhile finds no session and is dropped.
//
// Every call into the broker is made with mu held, so the broker sees
// each channel's ons and offs in the order the indexes made them.
type lingerer struct {
	listen func(channel string, on bool)
	d      time.Duration // 0: no lingering

	mu     sync.Mutex
	off    map[string]time.Time // asked off at, still on at the broker
	timer  *time.Timer          // the next sweep while off is not empty
	closed bool
}

func newLingerer(listen func(string, bool), d time.Duration) *lingerer {
	return &lingerer{listen: listen, d: max(d, 0), off: map[string]time.Time{}}
}

// Listen has Broker.Listen's contract; it may be called with hub locks
// held.
func (l *lingerer) Listen(channel string, on bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if on {
		if _, lingering := l.off[channel]; lingering {
			delete(l.off, channel)
			return
		}
		l.listen(channel, true)
		return
	}
	if l.d == 0 || l.closed {
		l.listen(channel, false)
		return
	}
	l.off[channel] = time.Now()
	if l.timer == nil {
		l.timer = time.AfterFunc(l.d/4, l.sweep)
	}
}

// sweep stops the channels that have lingered for d, every d/4 while
// any linger: a channel stops d to 1.25 d after its last session left.
func (l *lingerer) sweep() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.timer = nil
	if l.closed {
		return
	}
	now := time.Now()
	for ch, at := range l.off {
		if now.Sub(at) >= l.d {
			delete(l.off, ch)
			l.listen(ch, false)
		}
	}
	if len(l.off) > 0 {
		l.timer = time.AfterFunc(l.d/4, l.sweep)
	}
}

// lingering is how many channels linger now.
func (l *lingerer) lingering() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.off)
}

// close stops the lingering channels at once and lingers no more.
func (l *lingerer) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	if l.timer != nil {
		l.timer.Stop()
		l.timer = nil
	}
	for ch := range l.off {
		delete(l.off, ch)
		l.listen(ch, false)
	}
}
