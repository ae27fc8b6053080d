package groups

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// The scripts. history.lua holds helpers and is prepended to the two
// scripts that write history; each file starts with its KEYS/ARGV contract.
var (
	//go:embed history.lua
	historyLua string
	//go:embed commit.lua
	commitLua string
	//go:embed append.lua
	appendLua string
	//go:embed reserve.lua
	reserveLua string
	//go:embed read.lua
	readLua string
	//go:embed notice.lua
	noticeLua string

	commitScript  = redis.NewScript(historyLua + commitLua)
	appendScript  = redis.NewScript(historyLua + appendLua)
	reserveScript = redis.NewScript(reserveLua)
	readScript    = redis.NewScript(readLua)
	noticeScript  = redis.NewScript(noticeLua)
)

// RedisStore is the Store on Redis (standalone, Sentinel or Cluster). Every
// key of one group carries the hash tag {g:<groupID>} and every key of one
// user {u:<userID>}, so each Commit and each Append is one script on one
// slot, one round trip.
//
// Key layout under prefix P (see groupKey for why IDs with braces are safe):
//
//	P:{g:<id>}:meta     hash: rec (Group JSON), live, ver, base, lseq, ltime, lfrom, lshow
//	P:{g:<id>}:members  hash: userID -> Member JSON
//	P:{g:<id>}:seq      last sequence taken; survives dismissal (SPEC.md §4)
//	P:{g:<id>}:msgs     zset: score = sequence, member = stored message
//	P:{g:<id>}:apps     hash: applicant -> Application JSON
//	P:{g:<id>}:idem:<hex from>:<hex ID>  first message of a send ID, PX 5 min
//	P:{u:<id>}:groups   set of group IDs
//	P:{u:<id>}:notices  list of system notices, oldest first
//	P:{u:<id>}:profile  Profile JSON
type RedisStore struct {
	rdb     redis.UniversalClient
	batch   *batcher // requests of concurrent operations share pipelines
	recs    *recCache[Group]
	mems    *recCache[Member]
	recent  *recentSnaps // senders' snapshots (Recent); nil on a Cluster
	members *recentSnaps // members' snapshots (RecentMember)
	prefix  string
	now     func() time.Time // retention and idempotency clock; tests move it
}

var _ Store = (*RedisStore)(nil)

// NewRedisStore returns a Store on rdb whose keys start with prefix + ":".
// A prefix holding "{" or "}" would put the hash tag in the prefix: still
// correct, but every key would land in one Cluster slot.
func NewRedisStore(rdb redis.UniversalClient, prefix string) *RedisStore {
	recs, mems := newCaches()
	var recent *recentSnaps
	if _, cluster := rdb.(*redis.ClusterClient); !cluster {
		recent = &recentSnaps{size: 16384}
	}
	return &RedisStore{rdb: rdb, batch: newBatcher(rdb), recs: recs, mems: mems, recent: recent,
		members: &recentSnaps{size: 16384}, prefix: prefix, now: time.Now}
}

// SetPipelines sets how many of the store's shared pipelines may be on
// the wire at once (1..MaxPipelines; default 1). Call it before use.
func (s *RedisStore) SetPipelines(n int) {
	s.batch.maxPipes = min(max(n, 1), MaxPipelines)
}

// groupKey is a key of a group. Redis Cluster hashes the text between the
// first "{" and the next "}", here "g:" + groupID up to its first "}" if it
// has one: the same text for every key of the group, so they share a slot.
// Keys of different groups never collide although an ID may hold "}:",
// because no suffix holds a "}" (idempotency keys hex-encode their parts).
func (s *RedisStore) groupKey(groupID, suffix string) string {
	return s.prefix + ":{g:" + groupID + "}:" + suffix
}

func (s *RedisStore) userKey(userID, suffix string) string {
	return s.prefix + ":{u:" + userID + "}:" + suffix
}

// groupKeys are the KEYS of commit.lua.
func (s *RedisStore) groupKeys(groupID string) []string {
	return []string{
		s.groupKey(groupID, "meta"), s.groupKey(groupID, "members"),
		s.groupKey(groupID, "seq"), s.groupKey(groupID, "msgs"), s.groupKey(groupID, "apps"),
	}
}

// idemKey is the idempotency key of a send; hex keeps "}" and ":" of IDs
// out of the key, so (from, ID) pairs cannot run into each other.
func (s *RedisStore) idemKey(groupID, from, id string) string {
	return s.groupKey(groupID, "idem:"+hex.EncodeToString([]byte(from))+":"+hex.EncodeToString([]byte(id)))
}

// Group implements Store: read.lua, so the record, version, member count
// and sequence are one snapshot.
func (s *RedisStore) Group(ctx context.Context, groupID string) (*Group, error) {
	snap, err := s.Read(ctx, groupID, nil, nil)
	if err != nil {
		return nil, err
	}
	return snap.Group, nil
}

// Read implements Store: read.lua and the profile GETs in one pipeline
// (on a Cluster, go-redis sends each node its part at once).
func (s *RedisStore) Read(ctx context.Context, groupID string, memberIDs, profileIDs []string) (*Snapshot, error) {
	keys := []string{s.groupKey(groupID, "meta"), s.groupKey(groupID, "members"), s.groupKey(groupID, "seq")}
	args := make([]any, len(memberIDs))
	for i, u := range memberIDs {
		args[i] = u
	}
	var read *redis.Cmd
	profiles := make([]*redis.StringCmd, len(profileIDs))
	run := func(eval func(p redis.Pipeliner) *redis.Cmd) {
		s.batch.do(ctx, func(p redis.Pipeliner) {
			read = eval(p)
			for i, u := range profileIDs {
				profiles[i] = p.Get(ctx, s.userKey(u, "profile"))
			}
		})
	}
	run(func(p redis.Pipeliner) *redis.Cmd { return readScript.EvalSha(ctx, p, keys, args...) })
	if noScript(read.Err()) {
		// The first read after a Redis restart: EVAL loads the script.
		run(func(p redis.Pipeliner) *redis.Cmd { return readScript.Eval(ctx, p, keys, args...) })
	}
	v, err := read.Slice()
	if err != nil {
		return nil, fmt.Errorf("failed to read group: %w", err)
	}
	if len(v) < 8 {
		return nil, ErrNotFound
	}
	g, err := s.decodeGroup(v[:6])
	if err != nil {
		return nil, err
	}
	n, _ := v[6].(int64)
	g.MemberNum = int(n)
	if seq, ok := v[7].(string); ok {
		g.Seq, _ = strconv.ParseUint(seq, 10, 64) // absent = 0
	}
	snap := &Snapshot{Group: g, Members: make(map[string]*Member, len(memberIDs)),
		Profiles: make(map[string]*Profile, len(profileIDs)), profileText: make(map[string]string, len(profileIDs))}
	for i, x := range v[8:] {
		if js, ok := x.(string); ok && i < len(memberIDs) {
			m, err := s.mems.decode(groupID+"\x00"+memberIDs[i], js)
			if err != nil {
				return nil, err
			}
			snap.Members[m.UserID] = m
		}
	}
	for i, c := range profiles {
		if errors.Is(c.Err(), redis.Nil) {
			snap.profileText[profileIDs[i]] = "" // no profile
			continue
		} else if c.Err() != nil {
			return nil, fmt.Errorf("failed to read profiles: %w", c.Err())
		}
		p, err := decode[Profile](c.Val())
		if err != nil {
			return nil, err
		}
		snap.Profiles[profileIDs[i]] = p
		snap.profileText[profileIDs[i]] = c.Val()
	}
	if len(memberIDs) == 1 && len(profileIDs) == 1 && memberIDs[0] == profileIDs[0] {
		s.recent.put(groupID, memberIDs[0], snap)
	}
	return snap, nil
}

// Recent implements Store (standalone Redis; nil on a Cluster, see
// AppendRecent).
func (s *RedisStore) Recent(groupID, userID string) *Snapshot {
	return s.recent.get(groupID, userID)
}

// RecentMember implements Store.
func (s *RedisStore) RecentMember(groupID, userID string) *Snapshot {
	return s.members.get(groupID, userID)
}

// KeepMember implements Store (on a Cluster too: no profile is involved).
func (s *RedisStore) KeepMember(userID string, snap *Snapshot) {
	s.members.put(snap.Group.ID, userID, snap)
}

// recentSnaps keeps, per group and user, the last snapshot Read took of
// the group with the user's member record and profile: what a
// sendMessage decides on. A nil *recentSnaps keeps nothing.
type recentSnaps struct {
	size int

	mu sync.Mutex // guards m
	m  map[string]*Snapshot
}

func (r *recentSnaps) put(groupID, userID string, snap *Snapshot) {
	if r == nil {
		return
	}
	cp := snap.clone()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = make(map[string]*Snapshot)
	}
	key := groupID + "\x00" + userID
	if _, ok := r.m[key]; !ok && len(r.m) >= r.size {
		for k := range r.m { // drop one at random
			delete(r.m, k)
			break
		}
	}
	r.m[key] = cp
}

func (r *recentSnaps) get(groupID, userID string) *Snapshot {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.m[groupID+"\x00"+userID] // shared: see Store.Recent
}

// decodeGroup decodes the meta fields rec, ver, lseq, ltime, lfrom, lshow.
func (s *RedisStore) decodeGroup(v []any) (*Group, error) {
	f := make([]string, len(v))
	for i, x := range v {
		f[i], _ = x.(string)
	}
	g, err := s.recs.decode(recID(f[0]), f[0])
	if err != nil {
		return nil, err
	}
	g.Version, _ = strconv.ParseUint(f[1], 10, 64)
	if f[2] != "" {
		seq, _ := strconv.ParseUint(f[2], 10, 64)
		t, _ := strconv.ParseInt(f[3], 10, 64)
		g.Last = &LastMessage{LastTime: t, LastSequence: seq, FromAccount: f[4], MessageForShow: f[5]}
	}
	return g, nil
}

// recCache keeps decoded records by their stored text, so reading a
// record that has not changed since this node last read it (the group
// and the sender's member record, on every chat message) costs a string
// compare and a copy instead of a JSON decode. Entries are keyed by the
// record's identity; an edit replaces the text and the next read decodes
// it again.
type recCache[T any] struct {
	clone func(*T) *T
	size  int

	mu sync.Mutex // guards m
	m  map[string]recEntry[T]
}

type recEntry[T any] struct {
	rec string
	v   *T // never handed out: callers get clones
}

// decode returns a T the caller owns, decoded from rec; key "" is not
// cached. The key only picks the entry: a hit needs the same text, so a
// key shared by two records costs a decode, never a wrong answer.
func (c *recCache[T]) decode(key, rec string) (*T, error) {
	if key != "" {
		c.mu.Lock()
		e, hit := c.m[key]
		c.mu.Unlock()
		if hit && e.rec == rec {
			return c.clone(e.v), nil
		}
	}
	v := new(T)
	if err := json.Unmarshal([]byte(rec), v); err != nil {
		return nil, fmt.Errorf("failed to decode %T: %w", v, err)
	}
	if key != "" {
		c.mu.Lock()
		if c.m == nil {
			c.m = make(map[string]recEntry[T])
		}
		if len(c.m) >= c.size {
			for k := range c.m { // drop one at random
				delete(c.m, k)
				break
			}
		}
		c.m[key] = recEntry[T]{rec: rec, v: c.clone(v)}
		c.mu.Unlock()
	}
	return v, nil
}

func newCaches() (*recCache[Group], *recCache[Member]) {
	return &recCache[Group]{clone: (*Group).clone, size: 8192},
		&recCache[Member]{clone: cloneMember, size: 65536}
}

// recID is the cache key of a stored group record: the text of its
// first field, "id" (records are encoded from Group), read without
// decoding; "" when it is not there. An escaped ID gives a shorter key,
// which costs nothing but a shared cache entry.
func recID(rec string) string {
	const head = `{"id":"`
	if !strings.HasPrefix(rec, head) {
		return ""
	}
	id, _, ok := strings.Cut(rec[len(head):], `"`)
	if !ok {
		return ""
	}
	return id
}

// Members implements Store.
func (s *RedisStore) Members(ctx context.Context, groupID string, userIDs []string) (map[string]*Member, error) {
	out := make(map[string]*Member, len(userIDs))
	if len(userIDs) == 0 {
		return out, nil
	}
	vals, err := s.rdb.HMGet(ctx, s.groupKey(groupID, "members"), userIDs...).Result()
	if err != nil {
		return nil, fmt.Errorf("failed to read members: %w", err)
	}
	for _, v := range vals {
		if js, ok := v.(string); ok {
			m, err := decode[Member](js)
			if err != nil {
				return nil, err
			}
			out[m.UserID] = m
		}
	}
	return out, nil
}

// AllMembers implements Store.
func (s *RedisStore) AllMembers(ctx context.Context, groupID string) ([]*Member, error) {
	vals, err := s.rdb.HVals(ctx, s.groupKey(groupID, "members")).Result()
	if err != nil {
		return nil, fmt.Errorf("failed to read members: %w", err)
	}
	return decodeAll[Member](vals)
}

// Commit implements Store with commit.lua.
func (s *RedisStore) Commit(ctx context.Context, c *Change) error {
	args, err := s.commitArgs(c)
	if err != nil {
		return err
	}
	keys := s.groupKeys(c.GroupID)
	if c.Reserve != "" {
		keys = append(keys, s.userKey(c.Reserve, "groups"))
	}
	for _, u := range c.Release {
		keys = append(keys, s.userKey(u, "groups"))
	}
	for _, n := range c.Notices {
		keys = append(keys, s.userKey(n.To, "notices"))
	}
	first, err := s.eval(ctx, commitScript, keys, args...).Uint64()
	if err != nil {
		return scriptError("commit group", err)
	}
	for i, t := range c.Tips {
		t.Sequence = first + uint64(i)
		if t.ID == "" {
			t.ID = groupMessageID(c.GroupID, t.Sequence)
		}
	}
	for _, m := range c.Put {
		if m.JoinSeq == JoinSeqAtTip {
			m.JoinSeq = first
		}
	}
	return nil
}

// UserSideInCommit implements Store: on standalone Redis (a Cluster keeps
// a user's keys on other slots than a group's).
func (s *RedisStore) UserSideInCommit() bool { return s.recent != nil }

// userSideArgs appends c's user side to commit.lua's ARGV.
func (s *RedisStore) userSideArgs(args []any, c *Change) ([]any, error) {
	if c.Reserve == "" && len(c.Release) == 0 && len(c.Notices) == 0 {
		return append(args, "0", "", 0, 0, 0, NoticeKeep, NoticeMaxAge.Milliseconds()), nil
	}
	if !s.UserSideInCommit() {
		return nil, errors.New("failed to commit group: a Redis Cluster commits no user side")
	}
	if c.Create && c.Reserve != "" {
		return nil, errors.New("failed to commit group: a new group reserves no member's slot in its commit")
	}
	args = append(args, boolArg(c.Reserve != ""), c.GroupID, c.ReserveLimit, len(c.Release), len(c.Notices))
	for _, n := range c.Notices {
		b, err := n.AppendJSON(make([]byte, 0, 512+len(n.Payload)))
		if err != nil {
			return nil, fmt.Errorf("failed to encode notice: %w", err)
		}
		args = append(args, b)
	}
	return append(args, NoticeKeep, NoticeMaxAge.Milliseconds()), nil
}

// commitArgs lays c out as the ARGV of commit.lua.
func (s *RedisStore) commitArgs(c *Change) ([]any, error) {
	if c.Create && c.Group == nil {
		return nil, errors.New("failed to commit group: a new group needs a record")
	}
	if err := checkJoinAtTip(c); err != nil {
		return nil, err
	}
	rec, live := "", false
	if c.Group != nil {
		b, err := json.Marshal(c.Group)
		if err != nil {
			return nil, fmt.Errorf("failed to encode group: %w", err)
		}
		rec, live = string(b), c.Group.Type.Live()
	}
	args := []any{boolArg(c.Create), c.Version, boolArg(c.Delete), rec, boolArg(live),
		c.Keep.MaxMessages, ageCut(c.Keep, s.now())}
	args, err := s.userSideArgs(args, c)
	if err != nil {
		return nil, err
	}
	args = append(args, len(c.Tips))
	for _, t := range c.Tips {
		tmpl, err := messageTemplate(c.GroupID, t)
		if err != nil {
			return nil, err
		}
		args = append(args, tmpl)
	}
	if n := len(c.Tips); n > 0 {
		last := c.Tips[n-1]
		args = append(args, last.Time, last.From, messageForShow(last))
	}
	args = appendStrings(args, c.Del)
	n := len(args)
	args, err = appendRecords(args, c.Put, func(m *Member) string { return m.UserID })
	if err != nil {
		return nil, err
	}
	for i, m := range c.Put {
		if m.JoinSeq == JoinSeqAtTip { // commit.lua stamps the first tip's sequence at the NUL
			j := n + 2 + 2*i // after the count: (userID, JSON) pairs
			rec := args[j].([]byte)
			if !bytes.Contains(rec, joinAtTipJSON) {
				return nil, fmt.Errorf("failed to encode member %s: no joinSeq to stamp", m.UserID)
			}
			args[j] = bytes.Replace(rec, joinAtTipJSON, joinAtTipMark, 1)
		}
	}
	args = appendStrings(args, c.DelApps)
	return appendRecords(args, c.PutApps, func(a *Application) string { return a.Applicant })
}

// Append implements Store with append.lua.
func (s *RedisStore) Append(ctx context.Context, m *Message, version uint64, live bool, keep Retention) (*Message, bool, error) {
	return s.append(ctx, m, version, live, keep, nil)
}

// AppendRecent implements Store: append.lua checks the profile's text
// too, in the same script. On a Cluster the profile is in another slot,
// out of the script's reach: there Recent keeps nothing, every snapshot
// is a Read's, and only the version is checked, as by Append.
func (s *RedisStore) AppendRecent(ctx context.Context, m *Message, snap *Snapshot, keep Retention) (*Message, bool, error) {
	var profile *string
	if text, ok := snap.profileText[m.From]; ok && s.recent != nil {
		profile = &text
	}
	return s.append(ctx, m, snap.Group.Version, snap.Group.Type.Live(), keep, profile)
}

// append runs append.lua; with profile, on the condition that the
// sender's profile is that text ("" = none).
func (s *RedisStore) append(ctx context.Context, m *Message, version uint64, live bool, keep Retention, profile *string) (*Message, bool, error) {
	tmpl, err := messageTemplate(m.To, m)
	if err != nil {
		return nil, false, err
	}
	keys := []string{s.groupKey(m.To, "meta"), s.groupKey(m.To, "seq"), s.groupKey(m.To, "msgs")}
	if m.ID != "" {
		keys = append(keys, s.idemKey(m.To, m.From, m.ID))
	}
	check, text := "0", ""
	if profile != nil {
		check, text = "1", *profile
		keys = append(keys, s.userKey(m.From, "profile"))
	}
	now := s.now()
	res, err := s.eval(ctx, appendScript, keys, version, boolArg(live), keep.MaxMessages, ageCut(keep, now),
		tmpl, m.Time, m.From, messageForShow(m), now.UnixMilli(), IdempotencyWindow.Milliseconds(), check, text).Slice()
	if err != nil {
		return nil, false, scriptError("append message", err)
	}
	return appendResult(m, res)
}

// eval runs script through the batcher: EVALSHA, then EVAL if Redis does
// not have the script (after a restart or SCRIPT FLUSH).
func (s *RedisStore) eval(ctx context.Context, script *redis.Script, keys []string, args ...any) *redis.Cmd {
	var cmd *redis.Cmd
	s.batch.do(ctx, func(p redis.Pipeliner) { cmd = script.EvalSha(ctx, p, keys, args...) })
	if noScript(cmd.Err()) {
		s.batch.do(ctx, func(p redis.Pipeliner) { cmd = script.Eval(ctx, p, keys, args...) })
	}
	return cmd
}

// noScript reports a NOSCRIPT reply. HasErrorPrefix allocates even for a
// nil error, and this runs on every request.
func noScript(err error) bool {
	return err != nil && redis.HasErrorPrefix(err, "NOSCRIPT")
}

// appendResult reads append.lua's reply: {0, sequence} or {1, first message}.
func appendResult(m *Message, res []any) (*Message, bool, error) {
	if len(res) == 2 {
		if js, ok := res[1].(string); ok && res[0] == int64(1) {
			first, err := decode[Message](js)
			if err != nil {
				return nil, false, err
			}
			return first, true, nil
		}
		if seq, ok := res[1].(int64); ok {
			stored := cloneMessage(m)
			stored.Sequence = uint64(seq)
			if stored.ID == "" {
				stored.ID = groupMessageID(m.To, stored.Sequence)
			}
			return stored, false, nil
		}
	}
	return nil, false, fmt.Errorf("failed to append message: unexpected reply %v", res)
}

// Messages implements Store.
func (s *RedisStore) Messages(ctx context.Context, groupID string, r Range) ([]*Message, error) {
	z := redis.ZRangeArgs{Key: s.groupKey(groupID, "msgs"), ByScore: true,
		Start: "(" + strconv.FormatUint(r.After, 10), Stop: "+inf"}
	if r.Before > 0 {
		z.Stop = "(" + strconv.FormatUint(r.Before, 10)
	}
	if r.Limit > 0 {
		z.Count = int64(r.Limit)
		if r.Newest {
			z.Start, z.Stop, z.Rev = z.Stop, z.Start, true
		}
	}
	vals, err := s.rdb.ZRangeArgs(ctx, z).Result()
	if err != nil {
		return nil, fmt.Errorf("failed to read messages: %w", err)
	}
	if z.Rev {
		slices.Reverse(vals)
	}
	return decodeAll[Message](vals)
}

// OldestSequence implements Store.
func (s *RedisStore) OldestSequence(ctx context.Context, groupID string) (uint64, error) {
	zs, err := s.rdb.ZRangeWithScores(ctx, s.groupKey(groupID, "msgs"), 0, 0).Result()
	if err != nil {
		return 0, fmt.Errorf("failed to read oldest sequence: %w", err)
	}
	if len(zs) == 0 {
		return 0, nil
	}
	return uint64(zs[0].Score), nil
}

// ReserveGroup implements Store with reserve.lua.
func (s *RedisStore) ReserveGroup(ctx context.Context, userID, groupID string, limit int) error {
	ok, err := s.eval(ctx, reserveScript, []string{s.userKey(userID, "groups")}, groupID, limit).Int()
	if err != nil {
		return fmt.Errorf("failed to reserve group: %w", err)
	}
	if ok == 0 {
		return ErrTooManyGroups
	}
	return nil
}

// ReleaseGroup implements Store.
func (s *RedisStore) ReleaseGroup(ctx context.Context, userID, groupID string) error {
	var cmd *redis.IntCmd
	s.batch.do(ctx, func(p redis.Pipeliner) { cmd = p.SRem(ctx, s.userKey(userID, "groups"), groupID) })
	if err := cmd.Err(); err != nil {
		return fmt.Errorf("failed to release group: %w", err)
	}
	return nil
}

// UserGroups implements Store.
func (s *RedisStore) UserGroups(ctx context.Context, userID string) ([]string, error) {
	ids, err := s.rdb.SMembers(ctx, s.userKey(userID, "groups")).Result()
	if err != nil {
		return nil, fmt.Errorf("failed to read user groups: %w", err)
	}
	sort.Strings(ids)
	return ids, nil
}

// Applications implements Store.
func (s *RedisStore) Applications(ctx context.Context, groupID string) ([]*Application, error) {
	vals, err := s.rdb.HVals(ctx, s.groupKey(groupID, "apps")).Result()
	if err != nil {
		return nil, fmt.Errorf("failed to read applications: %w", err)
	}
	out, err := decodeAll[Application](vals)
	sort.Slice(out, func(i, j int) bool { return out[i].Applicant < out[j].Applicant })
	return out, err
}

// AppendNotice implements Store. Notices older than NoticeMaxAge are only
// filtered on read; the key expires when the user got none for that long.
func (s *RedisStore) AppendNotice(ctx context.Context, userID string, m *Message) error {
	b, err := m.AppendJSON(make([]byte, 0, 512+len(m.Payload)))
	if err != nil {
		return fmt.Errorf("failed to encode notice: %w", err)
	}
	key := s.userKey(userID, "notices")
	if err := s.eval(ctx, noticeScript, []string{key}, b, NoticeKeep, NoticeMaxAge.Milliseconds()).Err(); err != nil {
		return fmt.Errorf("failed to store notice: %w", err)
	}
	return nil
}

// Notices implements Store.
func (s *RedisStore) Notices(ctx context.Context, userID string) ([]*Message, error) {
	vals, err := s.rdb.LRange(ctx, s.userKey(userID, "notices"), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("failed to read notices: %w", err)
	}
	all, err := decodeAll[Message](vals)
	cut := s.now().Add(-NoticeMaxAge).Unix()
	return slices.DeleteFunc(all, func(m *Message) bool { return m.Time < cut }), err
}

// Profiles implements Store: one pipeline, since the users' keys may sit
// on different Cluster slots (go-redis splits it per node).
func (s *RedisStore) Profiles(ctx context.Context, userIDs []string) (map[string]*Profile, error) {
	cmds := make([]*redis.StringCmd, len(userIDs))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, u := range userIDs {
			cmds[i] = p.Get(ctx, s.userKey(u, "profile"))
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("failed to read profiles: %w", err)
	}
	out := make(map[string]*Profile, len(userIDs))
	for i, c := range cmds {
		if c.Err() != nil {
			continue // redis.Nil: no profile
		}
		p, err := decode[Profile](c.Val())
		if err != nil {
			return nil, err
		}
		out[userIDs[i]] = p
	}
	return out, nil
}

// SetProfile implements Store.
func (s *RedisStore) SetProfile(ctx context.Context, p *Profile) error {
	b, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("failed to encode profile: %w", err)
	}
	if err := s.rdb.Set(ctx, s.userKey(p.UserID, "profile"), b, 0).Err(); err != nil {
		return fmt.Errorf("failed to store profile: %w", err)
	}
	return nil
}

// Ping implements Store.
func (s *RedisStore) Ping(ctx context.Context) error {
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("failed to ping redis: %w", err)
	}
	return nil
}

// messageTemplate encodes m as the store keeps it, {"time":T,"sequence":S,
// "ID":...,...}, with NUL bytes (which JSON never holds) where the sequence
// goes, for a script to fill in the sequence it takes. An empty ID becomes
// groupMessageID(groupID, sequence).
func messageTemplate(groupID string, m *Message) ([]byte, error) {
	b := make([]byte, 0, 256+len(m.ID)+len(m.Payload)+len(m.CloudCustomData))
	b = append(b, `{"time":`...)
	b = strconv.AppendInt(b, m.Time, 10)
	b = append(b, ",\"sequence\":\x00,\"ID\":"...)
	if m.ID != "" {
		b = appendJSONString(b, m.ID)
	} else {
		// groupMessageID ends with the sequence: swap the 0 for the mark.
		b = appendJSONString(b, groupMessageID(groupID, 0))
		b[len(b)-2] = 0
	}
	b, err := m.appendRest(append(b, ','), false)
	if err != nil {
		return nil, fmt.Errorf("failed to encode message: %w", err)
	}
	return b, nil
}

// ageCut is the Retention's age bound as a Unix second ("" = none):
// messages with an older time are dropped.
func ageCut(keep Retention, now time.Time) string {
	if keep.MaxAge <= 0 {
		return ""
	}
	return strconv.FormatInt(now.Add(-keep.MaxAge).Unix(), 10)
}

// scriptError maps a script's error reply to the Store's sentinel errors.
func scriptError(what string, err error) error {
	var re redis.Error
	if errors.As(err, &re) {
		switch msg := err.Error(); {
		case strings.HasPrefix(msg, "CONFLICT "):
			return ErrConflict
		case strings.HasPrefix(msg, "EXISTS "):
			return ErrExists
		case strings.HasPrefix(msg, "NOTFOUND "):
			return ErrNotFound
		case strings.HasPrefix(msg, "TOOMANY "):
			return ErrTooManyGroups
		}
	}
	return fmt.Errorf("failed to %s: %w", what, err)
}

func boolArg(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// appendStrings appends a counted list of strings to script args.
func appendStrings(args []any, list []string) []any {
	args = append(args, len(list))
	for _, s := range list {
		args = append(args, s)
	}
	return args
}

// joinAtTipJSON is how a Member's JoinSeqAtTip encodes; joinAtTipMark
// what commit.lua replaces with the first tip's sequence.
var (
	joinAtTipJSON = []byte(`"joinSeq":` + strconv.FormatUint(JoinSeqAtTip, 10))
	joinAtTipMark = []byte("\"joinSeq\":\x00")
)

// recordAppender is a record that encodes itself, as json.Marshal would.
type recordAppender interface{ appendJSON(b []byte) []byte }

// appendRecords appends a counted list of (key, JSON) pairs to script args.
func appendRecords[T any](args []any, list []*T, key func(*T) string) ([]any, error) {
	args = append(args, len(list))
	for _, r := range list {
		if a, ok := any(r).(recordAppender); ok {
			args = append(args, key(r), a.appendJSON(nil))
			continue
		}
		b, err := json.Marshal(r)
		if err != nil {
			return nil, fmt.Errorf("failed to encode record: %w", err)
		}
		args = append(args, key(r), b)
	}
	return args, nil
}

func decode[T any](js string) (*T, error) {
	v := new(T)
	if err := json.Unmarshal([]byte(js), v); err != nil {
		return nil, fmt.Errorf("failed to decode %T: %w", v, err)
	}
	return v, nil
}

func decodeAll[T any](vals []string) ([]*T, error) {
	out := make([]*T, 0, len(vals))
	for _, js := range vals {
		v, err := decode[T](js)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}
