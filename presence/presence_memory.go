// Package presence keeps who is online where: live-room membership per
// session, one live room per user, online counts, the reconnect grace and
// each room's message budget (SPEC.md §5). Memory serves one node; the
// Redis twin serves a cluster. Neither knows about sockets.
package presence

import (
	"context"
	"sort"
	"sync"
	"time"

	"chatd/groups"
)

// Options configure presence.
type Options struct {
	// Grace is how long a user stays a member after its last session in a
	// room closed (default 30 s).
	Grace time.Duration
	// Rate is each room's message budget per second (default 40).
	Rate int
	// Now is the clock (default time.Now).
	Now func() time.Time
}

func (o *Options) defaults() {
	if o.Grace <= 0 {
		o.Grace = 30 * time.Second
	}
	if o.Rate <= 0 {
		o.Rate = 40
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Memory is presence for a single node, in process memory.
type Memory struct {
	opts Options

	mu       sync.Mutex // mu guards every field below
	rooms    map[string]*room
	userRoom map[string]string
	sessRoom map[groups.SessionRef]string
	onExpire func(room, userID string)
	order    uint64
	closed   bool
	online   map[string]map[groups.SessionRef]bool
}

type room struct {
	sessions map[groups.SessionRef]string // session → userID ("" = anonymous)
	users    map[string]*liveUser
	second   int64 // the second budget counts
	used     int
}

type liveUser struct {
	sessions int
	order    uint64 // join order, for newest-first listing
	grace    *time.Timer
}

var _ groups.Presence = (*Memory)(nil)

// NewMemory returns an empty single-node presence.
func NewMemory(o Options) *Memory {
	o.defaults()
	return &Memory{opts: o, rooms: map[string]*room{}, userRoom: map[string]string{}, sessRoom: map[groups.SessionRef]string{},
		online: map[string]map[groups.SessionRef]bool{}}
}

func (m *Memory) room(id string) *room {
	r := m.rooms[id]
	if r == nil {
		r = &room{sessions: map[groups.SessionRef]string{}, users: map[string]*liveUser{}}
		m.rooms[id] = r
	}
	return r
}

// JoinLive implements groups.Presence.
func (m *Memory) JoinLive(_ context.Context, roomID, userID string, s groups.SessionRef) (groups.LiveJoin, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var res groups.LiveJoin
	if cur := m.userRoom[userID]; userID != "" && cur != "" && cur != roomID {
		m.removeUser(cur, userID)
		res.Left, res.LeftUser = cur, true
	}
	if cur := m.sessRoom[s]; cur != "" && cur != roomID {
		m.removeSession(cur, s)
		if res.Left == "" {
			res.Left = cur
		}
	}
	r := m.room(roomID)
	if _, in := r.sessions[s]; !in {
		r.sessions[s] = userID
		m.sessRoom[s] = roomID
		if userID != "" {
			res.New = m.addUserSession(r, userID)
			m.userRoom[userID] = roomID
		}
	}
	return res, nil
}

// addUserSession counts one more session of userID in r and reports
// whether the user is new to the room (not back within the grace).
func (m *Memory) addUserSession(r *room, userID string) bool {
	u := r.users[userID]
	if u == nil {
		m.order++
		r.users[userID] = &liveUser{sessions: 1, order: m.order}
		return true
	}
	if u.grace != nil {
		u.grace.Stop()
		u.grace = nil
	}
	u.sessions++
	return false
}

// removeUser drops every session and the membership of userID in roomID.
func (m *Memory) removeUser(roomID, userID string) bool {
	r := m.rooms[roomID]
	if r == nil || r.users[userID] == nil {
		return false
	}
	for s, u := range r.sessions {
		if u == userID {
			delete(r.sessions, s)
			delete(m.sessRoom, s)
		}
	}
	if g := r.users[userID].grace; g != nil {
		g.Stop()
	}
	delete(r.users, userID)
	if m.userRoom[userID] == roomID {
		delete(m.userRoom, userID)
	}
	m.gc(roomID)
	return true
}

// removeSession drops one session; it returns its user.
func (m *Memory) removeSession(roomID string, s groups.SessionRef) string {
	r := m.rooms[roomID]
	if r == nil {
		return ""
	}
	user, ok := r.sessions[s]
	if !ok {
		return ""
	}
	delete(r.sessions, s)
	delete(m.sessRoom, s)
	if u := r.users[user]; user != "" && u != nil {
		u.sessions--
	}
	return user
}

// gc forgets an empty room.
func (m *Memory) gc(roomID string) {
	if r := m.rooms[roomID]; r != nil && len(r.sessions) == 0 && len(r.users) == 0 {
		delete(m.rooms, roomID)
	}
}

// QuitLive implements groups.Presence.
func (m *Memory) QuitLive(_ context.Context, roomID, userID string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.removeUser(roomID, userID), nil
}

// LeaveSession implements groups.Presence.
func (m *Memory) LeaveSession(_ context.Context, roomID string, s groups.SessionRef) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if user := m.removeSession(roomID, s); user != "" {
		if u := m.rooms[roomID].users[user]; u != nil && u.sessions <= 0 {
			m.removeUser(roomID, user)
		}
	}
	m.gc(roomID)
	return nil
}

// SessionClosed implements groups.Presence.
func (m *Memory) SessionClosed(_ context.Context, userID string, s groups.SessionRef) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	roomID := m.sessRoom[s]
	if roomID == "" {
		return nil
	}
	user := m.removeSession(roomID, s)
	r := m.rooms[roomID]
	if u := r.users[user]; user != "" && u != nil && u.sessions <= 0 && !m.closed {
		u.grace = time.AfterFunc(m.opts.Grace, func() { m.expire(roomID, user) })
	}
	m.gc(roomID)
	return nil
}

// expire ends a user's grace in a room.
func (m *Memory) expire(roomID, userID string) {
	m.mu.Lock()
	r := m.rooms[roomID]
	if r == nil || r.users[userID] == nil || r.users[userID].sessions > 0 {
		m.mu.Unlock()
		return
	}
	m.removeUser(roomID, userID)
	f := m.onExpire
	m.mu.Unlock()
	if f != nil {
		f(roomID, userID)
	}
}

// InRoom implements groups.Presence.
func (m *Memory) InRoom(_ context.Context, roomID string, s groups.SessionRef) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sessRoom[s] == roomID, nil
}

// IsMember implements groups.Presence.
func (m *Memory) IsMember(_ context.Context, roomID, userID string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.rooms[roomID]
	return r != nil && r.users[userID] != nil, nil
}

// Count implements groups.Presence.
func (m *Memory) Count(_ context.Context, roomID string) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r := m.rooms[roomID]; r != nil {
		return len(r.sessions), nil
	}
	return 0, nil
}

// Members implements groups.Presence.
func (m *Memory) Members(_ context.Context, roomID string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.rooms[roomID]
	if r == nil {
		return []string{}, nil
	}
	out := make([]string, 0, len(r.users))
	for u := range r.users {
		out = append(out, u)
	}
	sort.Slice(out, func(i, j int) bool { return r.users[out[i]].order > r.users[out[j]].order })
	return out, nil
}

// Allow implements groups.Presence: the shedding ladder of SPEC.md §5.
func (m *Memory) Allow(_ context.Context, roomID string, p groups.Priority) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.room(roomID)
	now := m.opts.Now().Unix()
	if r.second != now {
		r.second, r.used = now, 0
	}
	if !admit(p, r.used, m.opts.Rate) {
		return false, nil
	}
	r.used++
	return true, nil
}

// admit reports whether a message of priority p fits a budget of rate of
// which used is taken: every priority below 50%, not Lowest from 50%, not
// Low from 75%, not Normal from 100%; High always.
func admit(p groups.Priority, used, rate int) bool {
	switch p {
	case groups.High:
		return true
	case groups.Lowest:
		return used*2 < rate
	case groups.Low:
		return used*4 < rate*3
	}
	return used < rate
}

// DropRoom implements groups.Presence.
func (m *Memory) DropRoom(_ context.Context, roomID string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.rooms[roomID]
	if r == nil {
		return nil, nil
	}
	users := make([]string, 0, len(r.users))
	for u := range r.users {
		users = append(users, u)
	}
	for _, u := range users {
		m.removeUser(roomID, u)
	}
	for s := range r.sessions {
		delete(m.sessRoom, s)
	}
	delete(m.rooms, roomID)
	return users, nil
}

// OnExpire implements groups.Presence.
func (m *Memory) OnExpire(f func(room, userID string)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.onExpire = f
}

// Close stops every grace timer.
func (m *Memory) Close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	for _, r := range m.rooms {
		for _, u := range r.users {
			if u.grace != nil {
				u.grace.Stop()
			}
		}
	}
}

// UserUp implements groups.Presence.
func (m *Memory) UserUp(_ context.Context, userID string, s groups.SessionRef) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.online[userID] == nil {
		m.online[userID] = map[groups.SessionRef]bool{}
	}
	m.online[userID][s] = true
	return nil
}

// UserDown implements groups.Presence.
func (m *Memory) UserDown(_ context.Context, userID string, s groups.SessionRef) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.online[userID], s)
	if len(m.online[userID]) == 0 {
		delete(m.online, userID)
	}
	return nil
}

// Online implements groups.Presence.
func (m *Memory) Online(_ context.Context, userID string) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.online[userID]), nil
}
