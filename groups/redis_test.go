package groups

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// testRedis connects to the Redis of CHAT_TEST_REDIS_URL (skipping the test
// when it is unset) and returns the client and a key prefix unique to this
// test. Redis pub/sub ignores the DB number, so the prefix, not the DB, is
// what isolates tests. Every key under the prefix is deleted and the client
// closed when the test ends.
func testRedis(t *testing.T) (redis.UniversalClient, string) {
	t.Helper()
	return redisFor(t)
}

// redisFor is testRedis for tests and benchmarks alike.
func redisFor(t testing.TB) (redis.UniversalClient, string) {
	t.Helper()
	url := os.Getenv("CHAT_TEST_REDIS_URL")
	if url == "" {
		t.Skip("CHAT_TEST_REDIS_URL not set")
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("CHAT_TEST_REDIS_URL: %v", err)
	}
	rdb := redis.NewClient(opt)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		_ = rdb.Close()
		t.Fatalf("redis at CHAT_TEST_REDIS_URL: %v", err)
	}
	prefix := "chattest:" + randomID(12)
	t.Cleanup(func() {
		deleteKeys(t, rdb, prefix)
		_ = rdb.Close()
	})
	return rdb, prefix
}

// deleteKeys removes every key under prefix.
func deleteKeys(t testing.TB, rdb redis.UniversalClient, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// The prefix is letters, digits and ":", nothing a MATCH glob reads.
	iter := rdb.Scan(ctx, 0, prefix+":*", 1000).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
		if len(keys) == 1000 {
			unlink(ctx, t, rdb, keys)
			keys = keys[:0]
		}
	}
	if err := iter.Err(); err != nil {
		t.Errorf("failed to scan test keys: %v", err)
	}
	unlink(ctx, t, rdb, keys)
}

// unlink deletes keys one by one: in a Cluster they sit on many slots.
func unlink(ctx context.Context, t testing.TB, rdb redis.UniversalClient, keys []string) {
	if len(keys) == 0 {
		return
	}
	_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range keys {
			p.Unlink(ctx, k)
		}
		return nil
	})
	if err != nil {
		t.Errorf("failed to delete test keys: %v", err)
	}
}

// TestRedisKeySlots checks that every key of a group, and of a user, has
// one Cluster hash tag whatever its ID holds.
func TestRedisKeySlots(t *testing.T) {
	s := NewRedisStore(nil, "chat")
	for _, id := range []string{"g", "@TGS#ABC", "a}b", "{x}", "}{", "a:b}:c", "{", "}"} {
		keys := append(s.groupKeys(id), s.idemKey(id, "u}:x", "{id}"))
		for _, k := range keys {
			if got, want := hashTag(k), hashTag(keys[0]); got != want || !strings.HasPrefix(got, "g:") {
				t.Errorf("group %q: key %q has tag %q, want %q", id, k, got, want)
			}
		}
		for _, k := range []string{s.userKey(id, "notices"), s.userKey(id, "profile")} {
			if got, want := hashTag(k), hashTag(s.userKey(id, "groups")); got != want || !strings.HasPrefix(got, "u:") {
				t.Errorf("user %q: key %q has tag %q, want %q", id, k, got, want)
			}
		}
	}
}

// hashTag is what Redis Cluster hashes of key (CLUSTER KEYSLOT's rule).
func hashTag(key string) string {
	start := strings.IndexByte(key, '{')
	if start < 0 {
		return key
	}
	end := strings.IndexByte(key[start+1:], '}')
	if end <= 0 {
		return key
	}
	return key[start+1 : start+1+end]
}

// A Redis that lost its scripts (a restart, SCRIPT FLUSH) still serves
// Read, whose script runs inside a pipeline.
func TestRedisReadAfterScriptFlush(t *testing.T) {
	rdb, prefix := testRedis(t)
	s := NewRedisStore(rdb, prefix)
	ctx := context.Background()
	if err := s.Commit(ctx, &Change{GroupID: "g", Create: true, Group: testGroup("g", Public),
		Put: []*Member{{UserID: "a", Role: RoleMember}}}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := rdb.ScriptFlush(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		snap, err := s.Read(ctx, "g", []string{"a"}, []string{"a"})
		if err != nil || snap.Members["a"] == nil {
			t.Fatalf("Read after SCRIPT FLUSH: %+v, %v", snap, err)
		}
	}
}

// roundTrips counts the requests a client sends (a pipeline is one).
type roundTrips struct{ n atomic.Int64 }

func (r *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (r *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		r.n.Add(1)
		return next(ctx, cmd)
	}
}

func (r *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		r.n.Add(1)
		return next(ctx, cmds)
	}
}

// benchStore is a RedisStore whose round trips are counted.
func benchStore(b *testing.B) (*RedisStore, *roundTrips) {
	rdb, prefix := redisFor(b)
	rt := &roundTrips{}
	rdb.AddHook(rt)
	return NewRedisStore(rdb, prefix), rt
}

// report adds ops/s and round trips per op to a benchmark's result.
func report(b *testing.B, rt *roundTrips, start int64, ops int) {
	b.ReportMetric(float64(ops)/b.Elapsed().Seconds(), "ops/s")
	b.ReportMetric(float64(rt.n.Load()-start)/float64(ops), "roundtrips/op")
}

func BenchmarkRedisAppend(b *testing.B) {
	s, rt := benchStore(b)
	ctx := context.Background()
	if err := s.Commit(ctx, &Change{GroupID: "g", Create: true, Group: testGroup("g", Public)}); err != nil {
		b.Fatal(err)
	}
	m := chat("g", "u", "", strings.Repeat("x", 200), time.Now().Unix())
	_, _, _ = s.Append(ctx, m, 1, false, week) // load the script
	start, i := rt.n.Load(), 0
	for ; b.Loop(); i++ {
		m.ID = fmt.Sprint("id", i)
		if _, _, err := s.Append(ctx, m, 1, false, week); err != nil {
			b.Fatal(err)
		}
	}
	report(b, rt, start, i)
}

func BenchmarkRedisCommit(b *testing.B) {
	s, rt := benchStore(b)
	ctx := context.Background()
	if err := s.Commit(ctx, &Change{GroupID: "g", Create: true, Group: testGroup("g", Public)}); err != nil {
		b.Fatal(err)
	}
	v := uint64(1)
	start, i := rt.n.Load(), 0
	for ; b.Loop(); i++ {
		u := fmt.Sprint("u", i%500)
		ch := &Change{GroupID: "g", Version: v, Put: []*Member{{UserID: u, Role: RoleMember}},
			Tips: []*Message{tip("g", u, time.Now().Unix())}, Keep: week}
		if err := s.Commit(ctx, ch); err != nil {
			b.Fatal(err)
		}
		v++
	}
	report(b, rt, start, i)
}

// TestRedisRoundTrips pins how many requests the Service sends Redis per
// operation (a pipeline or a script is one): the store side of a chat
// message and of a join and a quit (issue 7's store path). Fan-out
// (the broker's PUBLISH) is the server's and not counted here.
func TestRedisRoundTrips(t *testing.T) {
	rdb, prefix := testRedis(t)
	rt := &roundTrips{}
	rdb.AddHook(rt)
	f := newFixture(t, NewRedisStore(rdb, prefix), Options{})
	id := f.create("owner", Public, nil)
	f.ok("owner", "sendMessage", map[string]any{"to": id, "type": TextElem, "payload": map[string]any{"text": "load the scripts"}})
	tests := []struct {
		user, op string
		data     map[string]any
		want     int64
	}{
		// the append only, on the sender's last snapshot (Store.Recent)
		{"owner", "sendMessage", map[string]any{"to": id, "type": TextElem, "payload": map[string]any{"text": "hi"}}, 1},
		// read, then the commit, which reserves the user's slot too
		{"u1", "joinGroup", map[string]any{"groupID": id}, 2},
		// the group changed: the append on the last snapshot is refused,
		// then read (group + member + profile) and append
		{"owner", "sendMessage", map[string]any{"to": id, "type": TextElem, "payload": map[string]any{"text": "hi"}}, 3},
		{"owner", "sendMessage", map[string]any{"to": id, "type": TextElem, "payload": map[string]any{"text": "hi"}}, 1},
		// a first message: read and append
		{"u1", "sendMessage", map[string]any{"to": id, "type": TextElem, "payload": map[string]any{"text": "hi"}}, 2},
		// on the snapshot the join kept: the commit, which releases the
		// slot and stores the quit notice too
		{"u1", "quitGroup", map[string]any{"groupID": id}, 1},
		// on the snapshot the quit kept: the commit (and reservation)
		{"u1", "joinGroup", map[string]any{"groupID": id}, 1},
		// the group changed meanwhile (u2 joined): the commit on the kept
		// snapshot is refused, then read and commit
		{"u2", "joinGroup", map[string]any{"groupID": id}, 2},
		{"u1", "quitGroup", map[string]any{"groupID": id}, 3},
	}
	for _, tt := range tests {
		before := rt.n.Load()
		f.ok(tt.user, tt.op, tt.data)
		if got := rt.n.Load() - before; got != tt.want {
			t.Errorf("%s: %d round trips to Redis, want %d", tt.op, got, tt.want)
		}
	}
}

// The decoded-record cache never serves a stale record: each read after
// an edit sees it, on this store and on a second one (another node).
func TestRedisRecordCache(t *testing.T) {
	rdb, prefix := testRedis(t)
	a, b := NewRedisStore(rdb, prefix), NewRedisStore(rdb, prefix)
	ctx := context.Background()
	for _, id := range []string{"g", `q"uote`, `back\slash`, "é"} {
		g := testGroup(id, Public)
		if err := a.Commit(ctx, &Change{GroupID: id, Create: true, Group: g}); err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			for _, st := range []*RedisStore{a, b, a} {
				got, err := st.Group(ctx, id)
				if err != nil || got.Name != g.Name || got.ID != id {
					t.Fatalf("%q edit %d: read %+v, %v; want name %q", id, i, got, err, g.Name)
				}
				got.Name, got.Custom = "scribbled", map[string]string{"x": "y"} // callers own what they read
			}
			edit := g.clone()
			edit.Name = fmt.Sprint("name ", i)
			if err := b.Commit(ctx, &Change{GroupID: id, Version: uint64(i + 1), Group: edit}); err != nil {
				t.Fatal(err)
			}
			g = edit
		}
	}
	// Member records likewise, through Read.
	if err := a.Commit(ctx, &Change{GroupID: "g", Version: 4, Put: []*Member{{UserID: "u", Role: RoleMember, NameCard: "c0"}}}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		for _, st := range []*RedisStore{a, b} {
			snap, err := st.Read(ctx, "g", []string{"u"}, nil)
			if err != nil || snap.Members["u"] == nil || snap.Members["u"].NameCard != fmt.Sprint("c", i-1) {
				t.Fatalf("member read %d: %+v, %v", i, snap, err)
			}
			snap.Members["u"].NameCard = "scribbled"
		}
		if err := b.Commit(ctx, &Change{GroupID: "g", Version: uint64(4 + i), Put: []*Member{{UserID: "u", Role: RoleMember, NameCard: fmt.Sprint("c", i)}}}); err != nil {
			t.Fatal(err)
		}
	}
	// Records whose escaped IDs share a cache key still read as their own.
	if recID(`{"id":"q\"uote"}`) != recID(`{"id":"q\"other"}`) {
		t.Fatal("the test wants two IDs with one cache key")
	}
	if err := a.Commit(ctx, &Change{GroupID: `q"other`, Create: true, Group: testGroup(`q"other`, Public)}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		for _, id := range []string{`q"uote`, `q"other`} {
			if got, err := a.Group(ctx, id); err != nil || got.ID != id {
				t.Errorf("read %q: %+v, %v", id, got, err)
			}
		}
	}
}

// A node sends on the sender's last snapshot (Store.Recent) without
// reading, yet every change made on another node since is in force at
// once: a new nick, a mute, an unmute, a dismissal and a re-creation of
// the group under the same ID.
func TestRedisRecentSnapshotAcrossNodes(t *testing.T) {
	rdb, prefix := testRedis(t)
	a := newFixture(t, NewRedisStore(rdb, prefix), Options{})
	b := newFixture(t, NewRedisStore(rdb, prefix), Options{})
	id := a.create("owner", Public, map[string]any{"groupID": "recent", "memberList": []map[string]any{{"userID": "m"}}})
	send := func(text string) (map[string]any, int) {
		t.Helper()
		out, code := a.do("m", "sendMessage", map[string]any{"to": id, "type": TextElem, "payload": map[string]any{"text": text}})
		if code != 0 {
			return nil, code
		}
		raw, _ := json.Marshal(out.Reply)
		var reply map[string]any
		if err := json.Unmarshal(raw, &reply); err != nil {
			t.Fatal(err)
		}
		return reply["message"].(map[string]any), 0
	}
	if _, code := send("first"); code != 0 {
		t.Fatalf("first send: code %d", code)
	}
	if a.svc.store.Recent(id, "m") == nil {
		t.Fatal("no snapshot kept after a send")
	}

	b.ok("m", "updateMyProfile", map[string]any{"nick": "Em"})
	if msg, code := send("renamed"); code != 0 || msg["nick"] != "Em" {
		t.Errorf("send after a rename on the other node: code %d, message %v; want nick Em", code, msg)
	}
	b.ok("owner", "setGroupMemberMuteTime", map[string]any{"groupID": id, "userID": "m", "muteTime": 600})
	if _, code := send("muted"); code != CodeMuted {
		t.Errorf("send after a mute on the other node: code %d, want %d", code, CodeMuted)
	}
	b.ok("owner", "setGroupMemberMuteTime", map[string]any{"groupID": id, "userID": "m", "muteTime": 0})
	if _, code := send("unmuted"); code != 0 {
		t.Errorf("send after an unmute on the other node: code %d, want 0", code)
	}
	b.ok("owner", "dismissGroup", map[string]any{"groupID": id})
	if _, code := send("dismissed"); code != CodeGroupNotFound {
		t.Errorf("send after a dismissal on the other node: code %d, want %d", code, CodeGroupNotFound)
	}
	b.create("owner", Public, map[string]any{"groupID": id})
	if _, code := send("re-created"); code != CodeNoPermission {
		t.Errorf("send to the re-created group the sender is not in: code %d, want %d", code, CodeNoPermission)
	}
}

// Joins and quits decided on the snapshot a node kept from the user's
// last join or quit go through without a read, yet every change made on
// another node since is in force at once: a kick, a join option, a full
// group, a dismissal and a re-creation under the same ID.
func TestRedisKeptMemberSnapshotAcrossNodes(t *testing.T) {
	rdb, prefix := testRedis(t)
	a := newFixture(t, NewRedisStore(rdb, prefix), Options{})
	b := newFixture(t, NewRedisStore(rdb, prefix), Options{})
	id := a.create("owner", Public, map[string]any{"groupID": "kept", "maxMemberNum": 3})
	g := map[string]any{"groupID": id}
	status := func(f *fixture, user string) string {
		t.Helper()
		r, _ := f.ok(user, "joinGroup", g)
		return r["status"].(string)
	}
	if st := status(a, "u"); st != JoinedSuccess {
		t.Fatalf("first join: %s", st)
	}
	a.ok("u", "quitGroup", g)
	// messages do not change the version: the join's reply still shows
	// them (the sequence comes from the commit, not the snapshot)
	for range 2 {
		b.ok("owner", "sendMessage", map[string]any{"to": id, "type": TextElem, "payload": map[string]any{"text": "hi"}})
	}
	r, _ := a.ok("u", "joinGroup", g)
	view := r["group"].(map[string]any)
	last := view["lastMessage"].(map[string]any)
	if r["status"] != JoinedSuccess || last["lastSequence"] != 5.0 || view["nextMessageSeq"] != 6.0 || view["memberCount"] != 2.0 {
		t.Fatalf("join on the kept snapshot: %v", r)
	}
	// kicked on B: A's kept snapshot says member, the quit must say not
	b.ok("owner", "deleteGroupMember", map[string]any{"groupID": id, "userIDList": []string{"u"}})
	a.wantCode(CodeNoPermission, "u", "quitGroup", g)
	// the join option changed on B: an application, not a join
	b.ok("owner", "updateGroupProfile", map[string]any{"groupID": id, "joinOption": NeedPermission})
	if st := status(a, "u"); st != WaitAdminApproval {
		t.Errorf("join after NeedPermission on the other node: %s", st)
	}
	b.ok("owner", "updateGroupProfile", map[string]any{"groupID": id, "joinOption": FreeAccess})
	if st := status(a, "u"); st != JoinedSuccess {
		t.Fatalf("join after FreeAccess again: %s", st)
	}
	a.ok("u", "quitGroup", g)
	// full on B (owner, v, w = 3): A's kept snapshot counts 1
	status(b, "v")
	status(b, "w")
	a.wantCode(CodeGroupFull, "u", "joinGroup", g)
	// dismissed and re-created on B as DisableApply: A's kept snapshot
	// is of the old group
	b.ok("owner", "dismissGroup", g)
	b.create("owner", Public, map[string]any{"groupID": id, "joinOption": DisableApply})
	a.wantCode(CodeNoPermission, "u", "joinGroup", g)
	// and the member count it keeps after its own commits is right
	b.ok("owner", "updateGroupProfile", map[string]any{"groupID": id, "joinOption": FreeAccess, "maxMemberNum": 2})
	if st := status(a, "u"); st != JoinedSuccess {
		t.Fatalf("join of the re-created group: %s", st)
	}
	a.ok("u", "quitGroup", g)
	if st := status(a, "u"); st != JoinedSuccess {
		t.Fatalf("rejoin on the kept snapshot: %s", st)
	}
	a.ok("u", "quitGroup", g)
	status(b, "v") // owner + v = 2 = full; A's kept snapshot counts 1
	a.wantCode(CodeGroupFull, "u", "joinGroup", g)
}

// TestRedisCommitUserSide: on standalone Redis a Change's user side
// (Reserve, Release, Notices) is part of the commit: all of it or, on a
// refusal (conflict, the user at the limit), none of it. The embedded
// store refuses a user side (the Service calls it apart there).
func TestRedisCommitUserSide(t *testing.T) {
	ctx := context.Background()
	if err := NewMemoryStore().Commit(ctx, &Change{GroupID: "g", Reserve: "u"}); err == nil {
		t.Error("the embedded store took a user side")
	}
	rdb, prefix := testRedis(t)
	st := NewRedisStore(rdb, prefix)
	if !st.UserSideInCommit() {
		t.Fatal("standalone Redis: UserSideInCommit false")
	}
	for _, id := range []string{"g1", "g2"} {
		if err := st.Commit(ctx, &Change{GroupID: id, Create: true, Group: testGroup(id, Public)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Commit(ctx, &Change{GroupID: "g3", Create: true, Group: testGroup("g3", Public), Reserve: "u", ReserveLimit: 9}); err == nil {
		t.Error("a creation reserved a member's slot in its commit")
	}
	join := func(id string, version uint64, limit int) error {
		return st.Commit(ctx, &Change{GroupID: id, Version: version, Reserve: "u", ReserveLimit: limit,
			Put:  []*Member{{UserID: "u", Role: RoleMember, JoinSeq: JoinSeqAtTip}},
			Tips: []*Message{tip(id, "u", 1)}})
	}
	groups := func() []string {
		ids, err := st.UserGroups(ctx, "u")
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(ids)
		return ids
	}
	if err := join("g1", 1, 1); err != nil {
		t.Fatalf("join g1: %v", err)
	}
	if got := groups(); !slices.Equal(got, []string{"g1"}) {
		t.Errorf("after joining g1: %v", got)
	}
	if err := join("g2", 0, 1); !errors.Is(err, ErrConflict) {
		t.Errorf("join on an old version: %v, want ErrConflict", err)
	}
	if err := join("g2", 1, 1); !errors.Is(err, ErrTooManyGroups) {
		t.Errorf("join at the limit: %v, want ErrTooManyGroups", err)
	}
	snap, err := st.Read(ctx, "g2", []string{"u"}, nil)
	if err != nil || snap.Group.Version != 1 || snap.Members["u"] != nil || snap.Group.Seq != 0 || snap.Group.MemberNum != 0 {
		t.Errorf("g2 after the refused joins: %+v, %v", snap, err)
	}
	if got := groups(); !slices.Equal(got, []string{"g1"}) {
		t.Errorf("after the refused joins: %v", got)
	}
	if err := join("g2", 1, 2); err != nil {
		t.Fatalf("join g2: %v", err)
	}
	// a group already in the set does not count against the limit
	if err := st.Commit(ctx, &Change{GroupID: "g1", Version: 2, Reserve: "u", ReserveLimit: 2}); err != nil {
		t.Errorf("reserving a group held already, at the limit: %v", err)
	}
	n := newNotice(testGroup("g1", Public), "u", "u", NoticeQuit, time.Now().Unix(), "")
	quit := &Change{GroupID: "g1", Version: 3, Del: []string{"u"}, Tips: []*Message{tip("g1", "u", 2)},
		Release: []string{"u"}, Notices: []*Message{n}}
	if err := st.Commit(ctx, quit); err != nil {
		t.Fatalf("quit g1: %v", err)
	}
	if got := groups(); !slices.Equal(got, []string{"g2"}) {
		t.Errorf("after quitting g1: %v", got)
	}
	if ns, err := st.Notices(ctx, "u"); err != nil || len(ns) != 1 || ns[0].ID != n.ID || ns[0].NoticeType() != NoticeQuit {
		t.Errorf("notices after the quit: %+v, %v", ns, err)
	}
	if err := st.Commit(ctx, &Change{GroupID: "g1", Version: 3, Release: []string{"u"}, Notices: []*Message{n}}); !errors.Is(err, ErrConflict) {
		t.Errorf("a refused quit: %v, want ErrConflict", err)
	}
	if ns, _ := st.Notices(ctx, "u"); len(ns) != 1 {
		t.Errorf("a refused commit stored its notice: %d notices", len(ns))
	}
}
