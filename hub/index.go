package hub

import "sync"

// userShard is one shard of the user index.
type userShard struct {
	// mu guards users and every userEntry in it. Changing a session's user
	// takes it for writing (with Session.mu), so holding it for reading
	// pins the user of every session listed here.
	mu     sync.RWMutex
	users  map[string]*userEntry
	listen func(channel string, on bool) // the hub's listen hook; never nil
	_      [32]byte                      // keeps neighbouring shards' locks off one cache line
}

// userEntry is what the hub knows of one user on this node.
type userEntry struct {
	sessions []*Session      // a user has few sessions: a slice beats a map
	discard  map[string]bool // groups with messageRemindType Discard (true only)
}

// groupShard is one shard of the group index.
type groupShard struct {
	// mu guards groups. The value of a subscriber is its Discard flag, a
	// copy of userEntry.discard kept here so Publish reads it under the one
	// lock it already holds.
	mu     sync.RWMutex
	groups map[string]map[*Session]bool
	listen func(channel string, on bool) // the hub's listen hook; never nil
	_      [32]byte
}

// fnv32a is FNV-1a over s, inlined so hashing a key never allocates.
func fnv32a(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}

func (h *Hub) userShard(userID string) *userShard {
	return &h.users[fnv32a(userID)%uint32(len(h.users))]
}

func (h *Hub) groupShard(groupID string) *groupShard {
	return &h.groups[fnv32a(groupID)%uint32(len(h.groups))]
}

// lockSession locks the user shard of s's current user (for writing when
// write is set; nil when s has no user) and then s.mu, so the user cannot
// change until unlockSession. It retries if the user changed in between.
func (h *Hub) lockSession(s *Session, write bool) (string, *userShard) {
	for {
		u := s.UserID()
		var ush *userShard
		if u != "" {
			ush = h.userShard(u)
			lockShard(ush, write)
		}
		s.mu.Lock()
		if s.UserID() == u {
			return u, ush
		}
		s.mu.Unlock()
		unlockShard(ush, write)
	}
}

func (h *Hub) unlockSession(s *Session, ush *userShard, write bool) {
	s.mu.Unlock()
	unlockShard(ush, write)
}

func lockShard(ush *userShard, write bool) {
	if write {
		ush.mu.Lock()
	} else {
		ush.mu.RLock()
	}
}

func unlockShard(ush *userShard, write bool) {
	switch {
	case ush == nil:
	case write:
		ush.mu.Unlock()
	default:
		ush.mu.RUnlock()
	}
}

// unindex removes s from the user and group indexes for good: later
// subscriptions and logins of s are ignored. Idempotent.
func (h *Hub) unindex(s *Session) {
	u, ush := h.lockSession(s, true)
	defer h.unlockSession(s, ush, true)
	if s.unindexed {
		return
	}
	s.unindexed = true
	if u != "" {
		ush.remove(u, s)
	}
	for g := range s.subs {
		h.groupShard(g).remove(g, s)
	}
	s.subs = nil
}

// add indexes s under userID; ush.mu must be held for writing.
func (ush *userShard) add(userID string, s *Session) *userEntry {
	e := ush.users[userID]
	if e == nil {
		e = &userEntry{}
		ush.users[userID] = e
		ush.listen(UserChannel(userID), true)
	}
	e.sessions = append(e.sessions, s)
	return e
}

// remove unindexes s from userID, dropping the entry (and its Discard
// flags: the server sets them again at login) with the user's last
// session. ush.mu must be held for writing.
func (ush *userShard) remove(userID string, s *Session) {
	e := ush.users[userID]
	if e == nil {
		return
	}
	for i, x := range e.sessions {
		if x == s {
			last := len(e.sessions) - 1
			e.sessions[i] = e.sessions[last]
			e.sessions[last] = nil
			e.sessions = e.sessions[:last]
			break
		}
	}
	if len(e.sessions) == 0 {
		delete(ush.users, userID)
		ush.listen(UserChannel(userID), false)
	}
}

// set subscribes s to groupID with its Discard flag.
func (gsh *groupShard) set(groupID string, s *Session, discard bool) {
	gsh.mu.Lock()
	defer gsh.mu.Unlock()
	subs := gsh.groups[groupID]
	if subs == nil {
		subs = map[*Session]bool{}
		gsh.groups[groupID] = subs
		gsh.listen(GroupChannel(groupID), true)
	}
	subs[s] = discard
}

// remove unsubscribes s from groupID, dropping the group with its last
// subscriber.
func (gsh *groupShard) remove(groupID string, s *Session) {
	gsh.mu.Lock()
	defer gsh.mu.Unlock()
	subs := gsh.groups[groupID]
	_, had := subs[s]
	delete(subs, s)
	if had && len(subs) == 0 {
		delete(gsh.groups, groupID)
		gsh.listen(GroupChannel(groupID), false)
	}
}
