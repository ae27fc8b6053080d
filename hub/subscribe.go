package hub

import "slices"

// Subscribe makes s listen to groupID. A live subscription (a live room
// the session is in) survives logout; subscribing again never turns a live
// subscription into a non-live one. The Discard flag of s's user for the
// group applies at once. No-op once s is unregistered.
func (h *Hub) Subscribe(s *Session, groupID string, live bool) {
	u, ush := h.lockSession(s, false)
	defer h.unlockSession(s, ush, false)
	var e *userEntry
	if ush != nil {
		e = ush.users[u]
	}
	h.subscribeLocked(s, e, groupID, live)
}

// subscribeLocked needs s.mu and, when e is set, e's shard for reading.
func (h *Hub) subscribeLocked(s *Session, e *userEntry, groupID string, live bool) {
	if s.unindexed {
		return
	}
	if s.subs == nil {
		s.subs = map[string]bool{}
	}
	s.subs[groupID] = s.subs[groupID] || live
	discard := e != nil && e.discard[groupID]
	h.groupShard(groupID).set(groupID, s, discard)
}

// Unsubscribe stops s listening to groupID, live or not.
func (h *Hub) Unsubscribe(s *Session, groupID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h.unsubscribeLocked(s, groupID)
}

// unsubscribeLocked needs s.mu.
func (h *Hub) unsubscribeLocked(s *Session, groupID string) {
	if _, ok := s.subs[groupID]; !ok {
		return
	}
	delete(s.subs, groupID)
	h.groupShard(groupID).remove(groupID, s)
}

// SubscribeUser subscribes every current session of userID to groupID
// (non-live): a user joined or was added. Sessions that log in later get
// the group from the server's own subscription list.
func (h *Hub) SubscribeUser(userID, groupID string) {
	ush := h.userShard(userID)
	ush.mu.RLock()
	defer ush.mu.RUnlock()
	e := ush.users[userID]
	if e == nil {
		return
	}
	for _, s := range e.sessions {
		s.mu.Lock()
		h.subscribeLocked(s, e, groupID, false)
		s.mu.Unlock()
	}
}

// UnsubscribeUser unsubscribes every session of userID from groupID, live
// subscriptions included: the user quit, was kicked, or the group went.
func (h *Hub) UnsubscribeUser(userID, groupID string) {
	ush := h.userShard(userID)
	ush.mu.RLock()
	defer ush.mu.RUnlock()
	e := ush.users[userID]
	if e == nil {
		return
	}
	for _, s := range e.sessions {
		s.mu.Lock()
		h.unsubscribeLocked(s, groupID)
		s.mu.Unlock()
	}
}

// DropGroup unsubscribes every session from groupID (the group was
// dismissed). A session subscribing concurrently may stay subscribed.
func (h *Hub) DropGroup(groupID string) {
	gsh := h.groupShard(groupID)
	rs := h.getRecipients()
	gsh.mu.RLock()
	for s := range gsh.groups[groupID] {
		*rs = append(*rs, s)
	}
	gsh.mu.RUnlock()
	for _, s := range *rs {
		h.Unsubscribe(s, groupID)
	}
	h.putRecipients(rs)
}

// SetDiscard sets messageRemindType Discard of userID for groupID: while
// on, the user's sessions get no chat messages of the group (tips and
// notices still come). The flag is kept per (user, group), so it applies
// to sessions of the user that subscribe later, for as long as the user
// has a session on this node; without one it is a no-op (the server sets
// the flags again at login, after SetUser).
func (h *Hub) SetDiscard(userID, groupID string, on bool) {
	ush := h.userShard(userID)
	ush.mu.Lock()
	defer ush.mu.Unlock()
	e := ush.users[userID]
	if e == nil {
		return
	}
	e.setDiscard(groupID, on)
	for _, s := range e.sessions {
		s.mu.Lock()
		if _, ok := s.subs[groupID]; ok {
			h.groupShard(groupID).set(groupID, s, on)
		}
		s.mu.Unlock()
	}
}

func (e *userEntry) setDiscard(groupID string, on bool) {
	switch {
	case on && e.discard == nil:
		e.discard = map[string]bool{groupID: true}
	case on:
		e.discard[groupID] = true
	default:
		delete(e.discard, groupID)
	}
}

// SetUser indexes s under userID, replacing any user it had. "" logs out:
// s leaves the user index and its non-live subscriptions (the user's
// groups); live ones stay, as an anonymous viewer's, with no Discard flag.
// No-op once s is unregistered.
func (h *Hub) SetUser(s *Session, userID string) {
	h.logout(s)
	if userID != "" {
		h.login(s, userID)
	}
}

func (h *Hub) logout(s *Session) {
	u, ush := h.lockSession(s, true)
	defer h.unlockSession(s, ush, true)
	if u == "" {
		return
	}
	ush.remove(u, s)
	s.user.Store(nil)
	for g, live := range s.subs {
		if live {
			h.groupShard(g).set(g, s, false)
			continue
		}
		delete(s.subs, g)
		h.groupShard(g).remove(g, s)
	}
}

func (h *Hub) login(s *Session, userID string) {
	ush := h.userShard(userID)
	ush.mu.Lock()
	defer ush.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.unindexed || s.UserID() != "" {
		return // unregistered, or a concurrent SetUser won
	}
	e := ush.add(userID, s)
	s.user.Store(&userID)
	for g := range s.subs {
		if e.discard[g] {
			h.groupShard(g).set(g, s, true)
		}
	}
}

// UserSessions returns the sessions of userID on this node, in no order.
func (h *Hub) UserSessions(userID string) []*Session {
	ush := h.userShard(userID)
	ush.mu.RLock()
	defer ush.mu.RUnlock()
	if e := ush.users[userID]; e != nil {
		return slices.Clone(e.sessions)
	}
	return nil
}

// GroupSessions returns how many sessions of this node listen to groupID.
func (h *Hub) GroupSessions(groupID string) int {
	gsh := h.groupShard(groupID)
	gsh.mu.RLock()
	defer gsh.mu.RUnlock()
	return len(gsh.groups[groupID])
}
