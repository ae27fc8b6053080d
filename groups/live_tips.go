package groups

import (
	"sync"
	"time"
)

// tipBatcher gathers live-room member tips: one tip per type per room per
// window, listing at most maxLiveTipUIDs users (SPEC.md §5). Tips go out
// through the Service's event sink, outside any request.
type tipBatcher struct {
	window time.Duration
	now    func() time.Time

	mu      sync.Mutex // mu guards every field below
	emit    func([]Event)
	pending map[batchKey]*batch
	closed  bool
}

type batchKey struct {
	room string
	typ  int
}

type batch struct {
	users []string // listed in the tip (first maxLiveTipUIDs)
	also  []string // users who also get the tip (explicit quitters)
	timer *time.Timer
}

func newTipBatcher(window time.Duration, now func() time.Time) *tipBatcher {
	return &tipBatcher{window: window, now: now, pending: map[batchKey]*batch{}}
}

// add records that user joined or left room; notify users get the tip
// although they are no longer subscribed.
func (b *tipBatcher) add(room string, typ int, user string, notify bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	k := batchKey{room, typ}
	p := b.pending[k]
	if p == nil {
		p = &batch{}
		p.timer = time.AfterFunc(b.window, func() { b.flush(k) })
		b.pending[k] = p
	}
	if len(p.users) < maxLiveTipUIDs {
		p.users = append(p.users, user)
	}
	if notify {
		p.also = append(p.also, user)
	}
}

func (b *tipBatcher) flush(k batchKey) {
	b.mu.Lock()
	p := b.pending[k]
	delete(b.pending, k)
	emit := b.emit
	b.mu.Unlock()
	if p == nil || emit == nil {
		return
	}
	g := &Group{ID: k.room, Type: AVChatRoom}
	tip := newTip(g, b.now().Unix(), TipPayload{OperatorID: p.users[0], OperationType: k.typ, UserIDList: p.users})
	tip.ID = "tip-" + k.room + "-" + randomID(12)
	emit([]Event{deliverGroup(tip, p.also...)})
}

// drop forgets pending tips of a room (dismissed).
func (b *tipBatcher) drop(room string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for k, p := range b.pending {
		if k.room == room {
			p.timer.Stop()
			delete(b.pending, k)
		}
	}
}

// close stops every pending timer; later adds are ignored.
func (b *tipBatcher) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	for k, p := range b.pending {
		p.timer.Stop()
		delete(b.pending, k)
	}
}
