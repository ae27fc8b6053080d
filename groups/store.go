package groups

import (
	"context"
	"errors"
	"math"
	"time"
)

// Store is the persistence contract of the group domain. The embedded
// MemoryStore and the RedisStore implement it with one behaviour, checked by
// the same conformance suite (store_test.go).
//
// Consistency model: a group is a versioned aggregate. Reads return the
// group's Version, which never repeats for one group ID, not even across
// dismissal and re-creation; Commit applies a Change only if the version
// is still the one the operation read (else ErrConflict, and the Service
// re-reads and re-decides). So every rule is decided in Go on a consistent snapshot and
// concurrent operations on one group behave as if run one at a time
// (SPEC.md §8), on any number of nodes. Chat messages do not bump the
// version (senders never conflict with each other) but are refused with
// ErrConflict when the group changed since the sender's state was read.
//
// Per-user keys (a user's group set) live apart from the group (another
// Redis Cluster slot) and are changed in a second, idempotent step around
// the group commit: reserve, commit, then release on failure. The group is
// the authority; a stale user entry is repaired by CheckUserGroups.
type Store interface {
	// Group reads a group with its version, member count, sequence and last
	// message. ErrNotFound if it does not exist.
	Group(ctx context.Context, groupID string) (*Group, error)
	// Members reads the member records of the listed users; users who are
	// not members are absent from the map.
	Members(ctx context.Context, groupID string, userIDs []string) (map[string]*Member, error)
	// Read is what an operation reads before it decides, in one round trip
	// where the store allows: the group (as Group) and the member records
	// of memberIDs as one snapshot, and the profiles of profileIDs.
	// ErrNotFound if the group does not exist.
	Read(ctx context.Context, groupID string, memberIDs, profileIDs []string) (*Snapshot, error)
	// AllMembers reads every member record of a group, in no order.
	AllMembers(ctx context.Context, groupID string) ([]*Member, error)
	// Commit applies c atomically if the group's version is c.Version
	// (0 with c.Create: the group must not exist, else ErrExists), and
	// the version goes up by one. Tips in
	// c.Tips each take the group's next sequence, in order, and are stored
	// in its history unless c.Group is live; their Sequence and ID are set
	// on return. A member in c.Put with JoinSeq JoinSeqAtTip is stored
	// with the sequence of the first tip (the join's own: a message
	// committed between the decision and the commit is not the new
	// member's to read), also set on return; such a Change needs a tip.
	Commit(ctx context.Context, c *Change) error
	// Recent returns the last snapshot this store read of groupID with
	// the member record and the profile of userID (Read with memberIDs
	// and profileIDs both [userID]), without a round trip; nil when it
	// holds none (a store whose reads are cheap keeps none). It is shared
	// with other callers: read it, never change it. It may be out of
	// date: decide on it only to AppendRecent, which stores nothing
	// unless it is still current.
	Recent(groupID, userID string) *Snapshot
	// RecentMember returns the snapshot of groupID with userID's member
	// record (or none) that KeepMember last kept, without a round trip;
	// nil when there is none. Shared: read it, never change it. It may be
	// out of date: decide on it only for a Commit, which refuses it then
	// (the version).
	RecentMember(groupID, userID string) *Snapshot
	// KeepMember keeps snap, which the caller knows to be the group at
	// snap.Group.Version with userID's member record (absent: not a
	// member), for RecentMember. A store may keep nothing.
	KeepMember(userID string, snap *Snapshot)
	// AppendRecent is Append on the condition that nothing the snapshot
	// holds of the sender has changed: the group's version (so the group
	// and every member record) and the sender's profile; else ErrConflict.
	// snap comes from Read or Recent.
	AppendRecent(ctx context.Context, m *Message, snap *Snapshot, keep Retention) (stored *Message, dup bool, err error)
	// Append stores a chat message if the group's version is still version
	// (else ErrConflict), giving it the next sequence; with a non-empty
	// m.ID it is idempotent per (group, m.From, m.ID) for IdempotencyWindow:
	// a repeat returns the first message and dup=true and stores nothing.
	// live groups take a sequence but store nothing.
	Append(ctx context.Context, m *Message, version uint64, live bool, keep Retention) (stored *Message, dup bool, err error)
	// Messages reads stored messages of a group with After < sequence <
	// Before (Before 0 = no upper bound), ascending; with Newest the newest
	// Limit of that range, else the oldest Limit.
	Messages(ctx context.Context, groupID string, r Range) ([]*Message, error)
	// OldestSequence is the oldest retained sequence (0 when none).
	OldestSequence(ctx context.Context, groupID string) (uint64, error)

	// UserSideInCommit reports whether Commit applies a Change's Reserve,
	// Release and Notices with the group change, atomically (one round
	// trip on standalone Redis, where a user's keys and a group's may
	// be written by one script).
	UserSideInCommit() bool
	// ReserveGroup adds groupID to the user's group set unless the user is
	// at limit groups already (ErrTooManyGroups). Idempotent.
	ReserveGroup(ctx context.Context, userID, groupID string, limit int) error
	// ReleaseGroup removes groupID from the user's group set. Idempotent.
	ReleaseGroup(ctx context.Context, userID, groupID string) error
	// UserGroups lists the user's group set (may hold stale entries, see
	// CheckUserGroups in the Service).
	UserGroups(ctx context.Context, userID string) ([]string, error)

	// Applications lists the pending applications of a group.
	Applications(ctx context.Context, groupID string) ([]*Application, error)

	// AppendNotice stores a system notice in the user's @TIM#SYSTEM
	// conversation (newest NoticeKeep, at most NoticeMaxAge old).
	AppendNotice(ctx context.Context, userID string, m *Message) error
	// Notices reads the user's stored notices, oldest first.
	Notices(ctx context.Context, userID string) ([]*Message, error)

	// Profiles reads user profiles; users without one are absent.
	Profiles(ctx context.Context, userIDs []string) (map[string]*Profile, error)
	// SetProfile stores a user's profile.
	SetProfile(ctx context.Context, p *Profile) error

	// Ping checks that the store can serve.
	Ping(ctx context.Context) error
}

// Snapshot is the result of Store.Read. Members and Profiles hold only
// the users found; both maps are non-nil.
type Snapshot struct {
	Group    *Group
	Members  map[string]*Member
	Profiles map[string]*Profile

	profileText map[string]string // RedisStore: the stored text of each profile read ("" = none); never changed once set
}

// clone copies the snapshot; the copy shares only profileText.
func (s *Snapshot) clone() *Snapshot {
	cp := &Snapshot{Group: s.Group.clone(), Members: make(map[string]*Member, len(s.Members)),
		Profiles: make(map[string]*Profile, len(s.Profiles)), profileText: s.profileText}
	for u, m := range s.Members {
		cp.Members[u] = cloneMember(m)
	}
	for u, p := range s.Profiles {
		q := *p
		cp.Profiles[u] = &q
	}
	return cp
}

// JoinSeqAtTip, as a new member's JoinSeq, asks Store.Commit for the
// sequence of the change's first tip.
const JoinSeqAtTip = math.MaxUint64

// Change is one atomic change of a group, applied by Store.Commit.
type Change struct {
	GroupID string
	Version uint64 // the version the decision was made on
	Create  bool   // the group must not exist yet
	Delete  bool   // dismiss: remove the group, its members, history and applications (the sequence counter stays)
	Group   *Group // the new group record, nil = unchanged
	Put     []*Member
	Del     []string // userIDs removed
	PutApps []*Application
	DelApps []string // applicants whose application is consumed
	Tips    []*Message
	Keep    Retention // history retention for the tips

	// The user side of a join or a quit, for a store whose Commit applies
	// it in the same atomic step (Store.UserSideInCommit); the Service
	// sets them only then and calls ReserveGroup, ReleaseGroup and
	// AppendNotice around Commit otherwise.
	Reserve      string     // this user's group set gets GroupID, or Commit fails with ErrTooManyGroups and changes nothing
	ReserveLimit int        // the most groups a user may be in
	Release      []string   // users whose group sets lose GroupID
	Notices      []*Message // system notices stored as AppendNotice does, each for its To
}

// Range selects stored messages of one group.
type Range struct {
	After  uint64
	Before uint64
	Limit  int
	Newest bool
}

// Retention bounds a group's stored history.
type Retention struct {
	MaxMessages int
	MaxAge      time.Duration
}

// Store-wide constants of SPEC.md.
const (
	IdempotencyWindow = 5 * time.Minute
	NoticeKeep        = 100
	NoticeMaxAge      = 30 * 24 * time.Hour
	ApplicationMaxAge = 7 * 24 * time.Hour
)

// checkJoinAtTip refuses a Change that asks for the first tip's sequence
// as a JoinSeq but has no tip.
func checkJoinAtTip(c *Change) error {
	if len(c.Tips) > 0 {
		return nil
	}
	for _, m := range c.Put {
		if m.JoinSeq == JoinSeqAtTip {
			return errors.New("failed to commit group: a JoinSeqAtTip member needs a tip in the change")
		}
	}
	return nil
}
