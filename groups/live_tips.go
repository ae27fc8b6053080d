package groups

import (
	"context"
	"sync"
	"time"
)

// tipBatcher gathers live-room member tips: one tip per type per room per
// window, listing at most maxLiveTipUIDs users (SPEC.md §5). Tips go out
// through the Service's event sink, outside any request.
type tipBatcher struct {
	window time.Duration
	now    func() time.Time
	share  TipSharer // nil: batches are this node's own

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

// TipSharer makes live-room tip batches span the cluster, so a room gets
// at most one tip per type per window however many nodes its members use
// (implemented by presence.Redis).
type TipSharer interface {
	// ShareTip adds user to the room's pending batch of typ and reports
	// whether this node leads the batch: the leader takes it after the
	// window. notify marks a user who gets the tip although it left.
	ShareTip(ctx context.Context, room string, typ int, user string, notify bool, window time.Duration) (lead bool, err error)
	// TakeTips removes and returns the pending batch.
	TakeTips(ctx context.Context, room string, typ int) (users, notify []string, err error)
}

// add records that user joined or left room; notify users get the tip
// although they are no longer subscribed.
func (b *tipBatcher) add(room string, typ int, user string, notify bool) {
	if b.share != nil && b.addShared(room, typ, user, notify) {
		return
	}
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

// addShared adds to the cluster-wide batch; false means the store failed
// and the caller batches locally instead.
func (b *tipBatcher) addShared(room string, typ int, user string, notify bool) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	lead, err := b.share.ShareTip(ctx, room, typ, user, notify, b.window)
	if err != nil {
		return false
	}
	if lead {
		b.mu.Lock()
		if !b.closed {
			time.AfterFunc(b.window, func() { b.flushShared(room, typ) })
		}
		b.mu.Unlock()
	}
	return true
}

// flushShared takes the cluster-wide batch this node leads and emits it.
func (b *tipBatcher) flushShared(room string, typ int) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	users, notify, err := b.share.TakeTips(ctx, room, typ)
	b.mu.Lock()
	emit, closed := b.emit, b.closed
	b.mu.Unlock()
	if err != nil || len(users) == 0 || emit == nil || closed {
		return
	}
	emit([]Event{b.tip(room, typ, users, notify)})
}

// tip builds a batched member tip: at most maxLiveTipUIDs users listed,
// the first as operator; no sequence, not stored.
func (b *tipBatcher) tip(room string, typ int, users, also []string) Event {
	if len(users) > maxLiveTipUIDs {
		users = users[:maxLiveTipUIDs]
	}
	g := &Group{ID: room, Type: AVChatRoom}
	t := newTip(g, b.now().Unix(), TipPayload{OperatorID: users[0], OperationType: typ, UserIDList: users})
	t.ID = "tip-" + room + "-" + randomID(12)
	return deliverGroup(t, also...)
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
	emit([]Event{b.tip(k.room, k.typ, p.users, p.also)})
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
