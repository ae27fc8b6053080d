package groups

import (
	"context"
	"errors"
	"sort"
	"sync"
	"time"
)

// MemoryStore is the embedded Store used when no Redis is configured: every
// group in process memory, lost on restart (SPEC.md §1 Durability). It
// implements exactly the Store contract, so the Service behaves the same on
// it as on Redis.
type MemoryStore struct {
	now func() time.Time

	mu      sync.Mutex // mu guards every field below
	groups  map[string]*memGroup
	seqs    map[string]uint64 // survive dismissal (SPEC.md §4 dismissGroup)
	vers    map[string]uint64 // the last version of a dismissed group: a re-created one goes on from it
	users   map[string]map[string]struct{}
	notices map[string][]*Message
	profile map[string]*Profile
}

type memGroup struct {
	rec     *Group
	version uint64
	members map[string]*Member
	msgs    []*Message // ascending sequence
	apps    map[string]*Application
	last    *LastMessage
	// idem holds recent sends by from + "\x00" + ID; it goes with the group,
	// so a repeat into a re-created group of the same ID is a new message.
	idem map[string]idemEntry
}

type idemEntry struct {
	msg     *Message
	expires time.Time
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty embedded store.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{
		now:     time.Now,
		groups:  map[string]*memGroup{},
		seqs:    map[string]uint64{},
		vers:    map[string]uint64{},
		users:   map[string]map[string]struct{}{},
		notices: map[string][]*Message{},
		profile: map[string]*Profile{},
	}
}

// Group implements Store.
func (s *MemoryStore) Group(_ context.Context, groupID string) (*Group, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.group(groupID)
}

// Read implements Store.
func (s *MemoryStore) Read(_ context.Context, groupID string, memberIDs, profileIDs []string) (*Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.group(groupID)
	if err != nil {
		return nil, err
	}
	return &Snapshot{Group: g, Members: s.members(groupID, memberIDs), Profiles: s.profiles(profileIDs)}, nil
}

// group copies a group out; s.mu is held.
func (s *MemoryStore) group(groupID string) (*Group, error) {
	g, ok := s.groups[groupID]
	if !ok {
		return nil, ErrNotFound
	}
	rec := g.rec.clone()
	rec.Version = g.version
	rec.MemberNum = len(g.members)
	rec.Seq = s.seqs[groupID]
	if g.last != nil {
		l := *g.last
		rec.Last = &l
	}
	return rec, nil
}

// Members implements Store.
func (s *MemoryStore) Members(_ context.Context, groupID string, userIDs []string) (map[string]*Member, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.members(groupID, userIDs), nil
}

// members copies member records out; s.mu is held.
func (s *MemoryStore) members(groupID string, userIDs []string) map[string]*Member {
	out := make(map[string]*Member, len(userIDs))
	g, ok := s.groups[groupID]
	if !ok {
		return out
	}
	for _, u := range userIDs {
		if m, ok := g.members[u]; ok {
			out[u] = cloneMember(m)
		}
	}
	return out
}

// AllMembers implements Store.
func (s *MemoryStore) AllMembers(_ context.Context, groupID string) ([]*Member, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.groups[groupID]
	if !ok {
		return nil, nil
	}
	out := make([]*Member, 0, len(g.members))
	for _, m := range g.members {
		out = append(out, cloneMember(m))
	}
	return out, nil
}

// Commit implements Store.
// UserSideInCommit implements Store: the embedded store takes the user
// side as separate calls (they cost no round trip here).
func (s *MemoryStore) UserSideInCommit() bool { return false }

func (s *MemoryStore) Commit(_ context.Context, c *Change) error {
	if c.Reserve != "" || len(c.Release) > 0 || len(c.Notices) > 0 {
		return errors.New("failed to commit group: the embedded store commits no user side")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.groups[c.GroupID]
	switch {
	case c.Create && ok:
		return ErrExists
	case c.Create && c.Group == nil:
		return errors.New("failed to commit group: a new group needs a record")
	case c.Create:
		g = &memGroup{members: map[string]*Member{}, apps: map[string]*Application{}, idem: map[string]idemEntry{},
			version: s.vers[c.GroupID]}
	case !ok:
		return ErrNotFound
	case g.version != c.Version:
		return ErrConflict
	}
	live := false
	if c.Group != nil {
		g.rec = c.Group.clone()
	}
	if g.rec != nil {
		live = g.rec.Type.Live()
	}
	if err := checkJoinAtTip(c); err != nil {
		return err
	}
	first := s.seqs[c.GroupID] + 1 // the first tip's, if any
	for _, t := range c.Tips {
		s.seqs[c.GroupID]++
		seq := s.seqs[c.GroupID]
		t.Sequence = seq
		if t.ID == "" {
			t.ID = groupMessageID(c.GroupID, seq)
		}
		if !live {
			g.msgs = append(g.msgs, cloneMessage(t))
		}
		g.last = lastOf(t) // tips are messages too (lastMessage, SPEC.md §6.3)
	}
	if c.Delete {
		delete(s.groups, c.GroupID)
		s.vers[c.GroupID] = g.version
		return nil
	}
	for _, u := range c.Del {
		delete(g.members, u)
	}
	for _, m := range c.Put {
		if m.JoinSeq == JoinSeqAtTip {
			m.JoinSeq = first
		}
		g.members[m.UserID] = cloneMember(m)
	}
	for _, a := range c.DelApps {
		delete(g.apps, a)
	}
	for _, a := range c.PutApps {
		cp := *a
		g.apps[a.Applicant] = &cp
	}
	g.msgs = trim(g.msgs, c.Keep, s.now())
	g.version++
	s.groups[c.GroupID] = g
	return nil
}

// Recent implements Store: reads are in process and cheap, so it keeps
// no snapshots.
func (s *MemoryStore) Recent(string, string) *Snapshot { return nil }

// RecentMember implements Store: none kept (see Recent).
func (s *MemoryStore) RecentMember(string, string) *Snapshot { return nil }

// KeepMember implements Store: keeps nothing.
func (s *MemoryStore) KeepMember(string, *Snapshot) {}

// Append implements Store.
func (s *MemoryStore) Append(_ context.Context, m *Message, version uint64, live bool, keep Retention) (*Message, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.appendLocked(m, version, live, keep)
}

// AppendRecent implements Store.
func (s *MemoryStore) AppendRecent(_ context.Context, m *Message, snap *Snapshot, keep Retention) (*Message, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.groups[m.To]; ok && !sameProfile(s.profile[m.From], snap.Profiles[m.From]) {
		return nil, false, ErrConflict
	}
	return s.appendLocked(m, snap.Group.Version, snap.Group.Type.Live(), keep)
}

func sameProfile(a, b *Profile) bool {
	return a == b || (a != nil && b != nil && *a == *b)
}

// appendLocked is Append with s.mu held.
func (s *MemoryStore) appendLocked(m *Message, version uint64, live bool, keep Retention) (*Message, bool, error) {
	g, ok := s.groups[m.To]
	if !ok {
		return nil, false, ErrNotFound
	}
	if g.version != version {
		return nil, false, ErrConflict
	}
	now := s.now()
	key := m.From + "\x00" + m.ID
	if m.ID != "" {
		if e, ok := g.idem[key]; ok && now.Before(e.expires) {
			return cloneMessage(e.msg), true, nil
		}
	}
	s.seqs[m.To]++
	stored := cloneMessage(m)
	stored.Sequence = s.seqs[m.To]
	if stored.ID == "" {
		stored.ID = groupMessageID(m.To, stored.Sequence)
	}
	if m.ID != "" {
		g.idem[key] = idemEntry{msg: cloneMessage(stored), expires: now.Add(IdempotencyWindow)}
		g.expireIdem(now)
	}
	if !live {
		g.msgs = trim(append(g.msgs, cloneMessage(stored)), keep, now)
	}
	g.last = lastOf(stored)
	return stored, false, nil
}

// expireIdem drops expired idempotency entries; called with s.mu held.
// Amortised: it scans only when the map has grown past a threshold.
func (g *memGroup) expireIdem(now time.Time) {
	if len(g.idem) < 4096 || len(g.idem)%1024 != 0 {
		return
	}
	for k, e := range g.idem {
		if !now.Before(e.expires) {
			delete(g.idem, k)
		}
	}
}

// Messages implements Store.
func (s *MemoryStore) Messages(_ context.Context, groupID string, r Range) ([]*Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.groups[groupID]
	if !ok {
		return nil, nil
	}
	lo := sort.Search(len(g.msgs), func(i int) bool { return g.msgs[i].Sequence > r.After })
	hi := len(g.msgs)
	if r.Before > 0 {
		hi = sort.Search(len(g.msgs), func(i int) bool { return g.msgs[i].Sequence >= r.Before })
	}
	if hi < lo {
		hi = lo
	}
	if r.Limit > 0 && hi-lo > r.Limit {
		if r.Newest {
			lo = hi - r.Limit
		} else {
			hi = lo + r.Limit
		}
	}
	out := make([]*Message, 0, hi-lo)
	for _, m := range g.msgs[lo:hi] {
		out = append(out, cloneMessage(m))
	}
	return out, nil
}

// OldestSequence implements Store.
func (s *MemoryStore) OldestSequence(_ context.Context, groupID string) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g, ok := s.groups[groupID]; ok && len(g.msgs) > 0 {
		return g.msgs[0].Sequence, nil
	}
	return 0, nil
}

// ReserveGroup implements Store.
func (s *MemoryStore) ReserveGroup(_ context.Context, userID, groupID string, limit int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	set := s.users[userID]
	if _, ok := set[groupID]; ok {
		return nil
	}
	if len(set) >= limit {
		return ErrTooManyGroups
	}
	if set == nil {
		set = map[string]struct{}{}
		s.users[userID] = set
	}
	set[groupID] = struct{}{}
	return nil
}

// ReleaseGroup implements Store.
func (s *MemoryStore) ReleaseGroup(_ context.Context, userID, groupID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.users[userID], groupID)
	if len(s.users[userID]) == 0 {
		delete(s.users, userID)
	}
	return nil
}

// UserGroups implements Store.
func (s *MemoryStore) UserGroups(_ context.Context, userID string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.users[userID]))
	for g := range s.users[userID] {
		out = append(out, g)
	}
	sort.Strings(out)
	return out, nil
}

// Applications implements Store.
func (s *MemoryStore) Applications(_ context.Context, groupID string) ([]*Application, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.groups[groupID]
	if !ok {
		return nil, nil
	}
	out := make([]*Application, 0, len(g.apps))
	for _, a := range g.apps {
		cp := *a
		out = append(out, &cp)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Applicant < out[j].Applicant })
	return out, nil
}

// AppendNotice implements Store.
func (s *MemoryStore) AppendNotice(_ context.Context, userID string, m *Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := append(s.notices[userID], cloneMessage(m))
	cut := s.now().Add(-NoticeMaxAge).Unix()
	for len(list) > 0 && (len(list) > NoticeKeep || list[0].Time < cut) {
		list = list[1:]
	}
	s.notices[userID] = list
	return nil
}

// Notices implements Store.
func (s *MemoryStore) Notices(_ context.Context, userID string) ([]*Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cut := s.now().Add(-NoticeMaxAge).Unix()
	out := []*Message{}
	for _, m := range s.notices[userID] {
		if m.Time >= cut {
			out = append(out, cloneMessage(m))
		}
	}
	return out, nil
}

// Profiles implements Store.
func (s *MemoryStore) Profiles(_ context.Context, userIDs []string) (map[string]*Profile, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.profiles(userIDs), nil
}

// profiles copies profiles out; s.mu is held.
func (s *MemoryStore) profiles(userIDs []string) map[string]*Profile {
	out := make(map[string]*Profile, len(userIDs))
	for _, u := range userIDs {
		if p, ok := s.profile[u]; ok {
			cp := *p
			out[u] = &cp
		}
	}
	return out
}

// SetProfile implements Store.
func (s *MemoryStore) SetProfile(_ context.Context, p *Profile) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cp := *p
	s.profile[p.UserID] = &cp
	return nil
}

// Ping implements Store.
func (s *MemoryStore) Ping(context.Context) error { return nil }

// trim applies a retention to an ascending history.
func trim(msgs []*Message, keep Retention, now time.Time) []*Message {
	if keep.MaxMessages > 0 && len(msgs) > keep.MaxMessages {
		msgs = append([]*Message(nil), msgs[len(msgs)-keep.MaxMessages:]...)
	}
	if keep.MaxAge > 0 {
		cut := now.Add(-keep.MaxAge).Unix()
		i := 0
		for i < len(msgs) && msgs[i].Time < cut {
			i++
		}
		msgs = msgs[i:]
	}
	return msgs
}

func lastOf(m *Message) *LastMessage {
	return &LastMessage{LastTime: m.Time, LastSequence: m.Sequence, FromAccount: m.From, MessageForShow: messageForShow(m)}
}

func cloneMember(m *Member) *Member {
	c := *m
	if m.Custom != nil {
		c.Custom = make(map[string]string, len(m.Custom))
		for k, v := range m.Custom {
			c.Custom[k] = v
		}
	}
	return &c
}

func cloneMessage(m *Message) *Message {
	c := *m
	return &c
}
