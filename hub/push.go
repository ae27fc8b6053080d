package hub

import "slices"

// Push is one message to fan out: the element bytes are encoded once by
// the caller and shared by every recipient, so they must not be modified
// after Publish.
type Push struct {
	GroupID string   // deliver to every session subscribed to this group ("" = none)
	UserIDs []string // also deliver to every session of these users (dedupe: a session gets a push once even if matched both ways)
	From    string   // sessions of this user get Out, all others In
	In, Out []byte   // one encoded Message JSON object (an element of the onMessageReceived array) with "flow":"in" / "flow":"out"; Out nil = In for all
	Notice  []byte   // optional: a complete extra frame ({"event":"receiveGroupSystemNotice",...}) sent right after the element, to the same recipients
	Exclude *Session // the sending session: gets nothing
	Chat    bool     // a chat message: skipped for (user, group) pairs with Discard on
	// Gather: a live room's chat message. When the room is large and busy
	// the hub holds it for the room's window and sends every viewer one
	// frame with the window's messages (see window.go).
	Gather bool
}

// Publish queues p on every recipient session. The recipients are copied
// under the shards' read locks and queued after they are released; a
// session whose queue is full is closed (4008), so Publish never blocks
// on a slow session. In steady state it allocates nothing per recipient.
func (h *Hub) Publish(p *Push) {
	rs := h.getRecipients()
	if p.GroupID != "" {
		h.collectGroup(rs, p)
	}
	n0 := len(*rs)
	for _, u := range p.UserIDs {
		h.collectUser(rs, u, p)
	}
	if len(*rs) > n0 && (n0 > 0 || len(p.UserIDs) > 1) {
		*rs = h.dedupe(*rs, n0)
	}
	for _, s := range *rs {
		s.deliver(p)
	}
	h.putRecipients(rs)
}

// collectGroup appends the subscribers of p.GroupID that should get p.
func (h *Hub) collectGroup(rs *[]*Session, p *Push) {
	gsh := h.groupShard(p.GroupID)
	gsh.mu.RLock()
	defer gsh.mu.RUnlock()
	for s, discard := range gsh.groups[p.GroupID] {
		if s != p.Exclude && !(p.Chat && discard) {
			*rs = append(*rs, s)
		}
	}
}

// collectUser appends the sessions of userID that should get p.
func (h *Hub) collectUser(rs *[]*Session, userID string, p *Push) {
	ush := h.userShard(userID)
	ush.mu.RLock()
	defer ush.mu.RUnlock()
	e := ush.users[userID]
	if e == nil || (p.Chat && e.discard[p.GroupID]) {
		return
	}
	for _, s := range e.sessions {
		if s != p.Exclude {
			*rs = append(*rs, s)
		}
	}
}

// deliver queues p's element for s (In or Out by flow) and its notice.
func (s *Session) deliver(p *Push) {
	el := p.In
	if p.Out != nil && p.From != "" && s.UserID() == p.From {
		el = p.Out
	}
	if p.Notice == nil {
		s.enqueue(item{b: el, kind: kindElement})
		return
	}
	s.enqueue(item{b: el, kind: kindElement}, item{b: p.Notice, kind: kindFrame})
}

// smallDedupe is the number of user-matched sessions up to which a plain
// scan beats a set.
const smallDedupe = 8

// dedupe drops from rs[n0:] (sessions matched by user) those already in
// rs (the group's, unique, come first).
func (h *Hub) dedupe(rs []*Session, n0 int) []*Session {
	var out []*Session
	if len(rs)-n0 <= smallDedupe {
		out = dedupeScan(rs, n0)
	} else {
		out = h.dedupeSet(rs, n0)
	}
	clear(rs[len(out):]) // the pooled slice must not pin sessions
	return out
}

func dedupeScan(rs []*Session, n0 int) []*Session {
	out := rs[:n0]
	for _, s := range rs[n0:] {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func (h *Hub) dedupeSet(rs []*Session, n0 int) []*Session {
	set := h.getSet()
	for _, s := range rs[n0:] {
		set[s] = struct{}{}
	}
	for _, s := range rs[:n0] {
		delete(set, s)
	}
	out := rs[:n0]
	for _, s := range rs[n0:] {
		if _, ok := set[s]; ok {
			delete(set, s) // keep the first copy only
			out = append(out, s)
		}
	}
	h.sets.Put(set) // empty again: every key was deleted
	return out
}

func (h *Hub) getSet() map[*Session]struct{} {
	if v := h.sets.Get(); v != nil {
		return v.(map[*Session]struct{})
	}
	return map[*Session]struct{}{}
}

func (h *Hub) getRecipients() *[]*Session {
	if v := h.rcpts.Get(); v != nil {
		return v.(*[]*Session)
	}
	rs := make([]*Session, 0, 64)
	return &rs
}

func (h *Hub) putRecipients(rs *[]*Session) {
	clear(*rs)
	*rs = (*rs)[:0]
	h.rcpts.Put(rs)
}
