package groups

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestMemoryStore(t *testing.T) {
	testStore(t, func(*testing.T) Store { return NewMemoryStore() })
}

func TestRedisStore(t *testing.T) {
	testRedis(t) // skip the whole suite, not each case, when there is no Redis
	testStore(t, func(t *testing.T) Store {
		rdb, prefix := testRedis(t)
		return NewRedisStore(rdb, prefix)
	})
}

// clocked is a store whose clock the suite can set (retention, notices and
// the idempotency window are judged by it).
type clocked interface{ setTestClock(func() time.Time) }

func (s *MemoryStore) setTestClock(now func() time.Time) { s.now = now }
func (s *RedisStore) setTestClock(now func() time.Time)  { s.now = now }

// testClock is a settable clock, safe for concurrent use.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// storeCase is one subtest: a fresh store and its clock.
type storeCase struct {
	t   *testing.T
	ctx context.Context
	st  Store
	clk *testClock
}

var week = Retention{MaxMessages: 1000, MaxAge: 7 * 24 * time.Hour}

// testStore is the conformance suite of the Store contract: every Store
// implementation must pass it unchanged.
func testStore(t *testing.T, newStore func(t *testing.T) Store) {
	tests := []struct {
		name string
		run  func(c *storeCase)
	}{
		{"Create", testCreate},
		{"NotFound", testNotFound},
		{"Version", testVersion},
		{"Tips", testTips},
		{"Live", testLive},
		{"Delete", testDelete},
		{"AppendRecent", testAppendRecent},
		{"Members", testMembers},
		{"JoinSeqAtTip", testJoinSeqAtTip},
		{"Read", testRead},
		{"Applications", testApplications},
		{"MessageRanges", testMessageRanges},
		{"MessageRoundTrip", testMessageRoundTrip},
		{"RetentionCount", testRetentionCount},
		{"RetentionAge", testRetentionAge},
		{"Idempotent", testIdempotent},
		{"IdempotentWindow", testIdempotentWindow},
		{"OddIDs", testOddIDs},
		{"Reserve", testReserve},
		{"Notices", testNotices},
		{"Profiles", testProfiles},
		{"Ping", testPing},
		{"ConcurrentCommits", testConcurrentCommits},
		{"ConcurrentAppends", testConcurrentAppends},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newStore(t)
			clk := &testClock{t: time.Unix(1_800_000_000, 0)}
			cs, ok := st.(clocked)
			if !ok {
				t.Fatalf("%T cannot take a test clock", st)
			}
			cs.setTestClock(clk.now)
			tt.run(&storeCase{t: t, ctx: context.Background(), st: st, clk: clk})
		})
	}
}

// unix is the clock's time in Unix seconds, the unit of Message.Time.
func (c *storeCase) unix() int64 { return c.clk.now().Unix() }

// create makes a group of type typ with members and fails the test on error.
func (c *storeCase) create(id string, typ Type, members ...string) {
	c.t.Helper()
	ch := &Change{GroupID: id, Create: true, Group: testGroup(id, typ), Keep: week}
	for _, u := range members {
		ch.Put = append(ch.Put, &Member{UserID: u, Role: RoleMember, JoinTime: c.unix()})
	}
	if err := c.st.Commit(c.ctx, ch); err != nil {
		c.t.Fatalf("create %q: %v", id, err)
	}
}

// group reads a group and fails the test on error.
func (c *storeCase) group(id string) *Group {
	c.t.Helper()
	g, err := c.st.Group(c.ctx, id)
	if err != nil {
		c.t.Fatalf("group %q: %v", id, err)
	}
	return g
}

// commit applies ch on the group's current version.
func (c *storeCase) commit(ch *Change) {
	c.t.Helper()
	ch.Version = c.group(ch.GroupID).Version
	if err := c.st.Commit(c.ctx, ch); err != nil {
		c.t.Fatalf("commit %q: %v", ch.GroupID, err)
	}
}

// send appends a chat message on the group's current version.
func (c *storeCase) send(m *Message, keep Retention) (*Message, bool) {
	c.t.Helper()
	g := c.group(m.To)
	stored, dup, err := c.st.Append(c.ctx, m, g.Version, g.Type.Live(), keep)
	if err != nil {
		c.t.Fatalf("append to %q: %v", m.To, err)
	}
	return stored, dup
}

// seqs reads the sequences of a group's stored messages in r.
func (c *storeCase) seqs(id string, r Range) []uint64 {
	c.t.Helper()
	msgs, err := c.st.Messages(c.ctx, id, r)
	if err != nil {
		c.t.Fatalf("messages of %q: %v", id, err)
	}
	out := []uint64{}
	for _, m := range msgs {
		out = append(out, m.Sequence)
	}
	return out
}

func (c *storeCase) wantSeqs(id string, r Range, want ...uint64) {
	c.t.Helper()
	if want == nil {
		want = []uint64{}
	}
	if got := c.seqs(id, r); !reflect.DeepEqual(got, want) {
		c.t.Errorf("messages of %q in %+v: sequences %v, want %v", id, r, got, want)
	}
}

func (c *storeCase) wantErr(what string, err, want error) {
	c.t.Helper()
	if !errors.Is(err, want) {
		c.t.Errorf("%s: error %v, want %v", what, err, want)
	}
}

func testGroup(id string, typ Type) *Group {
	return &Group{ID: id, Type: typ, Name: "name of " + id, CreateTime: 1_800_000_000,
		MaxMemberNum: 6000, JoinOption: FreeAccess}
}

func chat(to, from, id, text string, at int64) *Message {
	return &Message{ID: id, Type: TextElem, Payload: json.RawMessage(`{"text":` + quote(text) + `}`),
		ConversationID: ConvGroup + to, ConversationType: ConvGroup, To: to, From: from,
		Time: at, Priority: Normal, Status: "success"}
}

func tip(to, from string, at int64) *Message {
	return newTip(&Group{ID: to}, at, TipPayload{OperatorID: from, OperationType: TipJoin})
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func testCreate(c *storeCase) {
	g := testGroup("g1", Public)
	g.Custom = map[string]string{"k": "v"}
	g.Mutes = map[string]int64{"u": 1_900_000_000}
	err := c.st.Commit(c.ctx, &Change{GroupID: "g1", Create: true, Group: g,
		Put: []*Member{{UserID: "o", Role: RoleOwner, JoinTime: 5}}})
	if err != nil {
		c.t.Fatal(err)
	}
	got := c.group("g1")
	want := g.clone()
	want.Version, want.MemberNum = 1, 1
	if !reflect.DeepEqual(got, want) {
		c.t.Errorf("group %+v, want %+v", got, want)
	}
	err = c.st.Commit(c.ctx, &Change{GroupID: "g1", Create: true, Group: testGroup("g1", Private)})
	c.wantErr("create twice", err, ErrExists)
	if got := c.group("g1"); got.Type != Public || got.Version != 1 {
		c.t.Errorf("failed create changed the group: %+v", got)
	}
	err = c.st.Commit(c.ctx, &Change{GroupID: "g2", Create: true})
	if err == nil || errors.Is(err, ErrExists) {
		c.t.Errorf("create without a record: error %v", err)
	}
	if _, err := c.st.Group(c.ctx, "g2"); !errors.Is(err, ErrNotFound) {
		c.t.Errorf("create without a record made a group: %v", err)
	}
}

func testNotFound(c *storeCase) {
	_, err := c.st.Group(c.ctx, "nope")
	c.wantErr("Group", err, ErrNotFound)
	if CodeOf(err) != CodeGroupNotFound {
		c.t.Errorf("code %d, want %d", CodeOf(err), CodeGroupNotFound)
	}
	c.wantErr("Commit", c.st.Commit(c.ctx, &Change{GroupID: "nope", Version: 0, Group: testGroup("nope", Public)}), ErrNotFound)
	c.wantErr("Commit delete", c.st.Commit(c.ctx, &Change{GroupID: "nope", Version: 1, Delete: true}), ErrNotFound)
	_, _, err = c.st.Append(c.ctx, chat("nope", "u", "", "hi", 1), 0, false, week)
	c.wantErr("Append", err, ErrNotFound)
	if m, err := c.st.Members(c.ctx, "nope", []string{"u"}); err != nil || len(m) != 0 {
		c.t.Errorf("Members: %v, %v", m, err)
	}
	if m, err := c.st.AllMembers(c.ctx, "nope"); err != nil || len(m) != 0 {
		c.t.Errorf("AllMembers: %v, %v", m, err)
	}
	if a, err := c.st.Applications(c.ctx, "nope"); err != nil || len(a) != 0 {
		c.t.Errorf("Applications: %v, %v", a, err)
	}
	c.wantSeqs("nope", Range{})
	if o, err := c.st.OldestSequence(c.ctx, "nope"); err != nil || o != 0 {
		c.t.Errorf("OldestSequence: %d, %v", o, err)
	}
	if _, err := c.st.Group(c.ctx, "nope"); !errors.Is(err, ErrNotFound) {
		c.t.Errorf("failed ops made a group: %v", err)
	}
}

func testVersion(c *storeCase) {
	c.create("g", Public)
	g := c.group("g")
	g.Name = "renamed"
	err := c.st.Commit(c.ctx, &Change{GroupID: "g", Version: g.Version + 1, Group: g})
	c.wantErr("commit on a future version", err, ErrConflict)
	if err := c.st.Commit(c.ctx, &Change{GroupID: "g", Version: g.Version, Group: g}); err != nil {
		c.t.Fatal(err)
	}
	err = c.st.Commit(c.ctx, &Change{GroupID: "g", Version: g.Version, Group: g})
	c.wantErr("commit on a stale version", err, ErrConflict)
	now := c.group("g")
	if now.Version != g.Version+1 || now.Name != "renamed" {
		c.t.Errorf("after commit: version %d name %q, want %d renamed", now.Version, now.Name, g.Version+1)
	}
	// A nil Group leaves the record as it is and still bumps the version.
	c.commit(&Change{GroupID: "g", Put: []*Member{{UserID: "u", Role: RoleMember}}})
	if again := c.group("g"); again.Version != now.Version+1 || again.Name != "renamed" {
		c.t.Errorf("after nil-record commit: %+v", again)
	}
	// Chat messages do not bump the version but need the current one.
	_, _, err = c.st.Append(c.ctx, chat("g", "u", "", "hi", c.unix()), now.Version, false, week)
	c.wantErr("append on a stale version", err, ErrConflict)
	c.send(chat("g", "u", "", "hi", c.unix()), week)
	if v := c.group("g").Version; v != now.Version+1 {
		c.t.Errorf("append bumped the version to %d", v)
	}
	c.wantSeqs("g", Range{}, 1)
}

func testTips(c *storeCase) {
	c.create("g", Public)
	t1, t2 := tip("g", "o", c.unix()), tip("g", "o", c.unix())
	t2.ID = "given"
	c.commit(&Change{GroupID: "g", Tips: []*Message{t1, t2}, Keep: week})
	if t1.Sequence != 1 || t1.ID != "grp-g-1" || t2.Sequence != 2 || t2.ID != "given" {
		c.t.Errorf("tips: %d %q, %d %q", t1.Sequence, t1.ID, t2.Sequence, t2.ID)
	}
	m, _ := c.send(chat("g", "u", "", "hello", c.unix()), week)
	if m.Sequence != 3 || m.ID != "grp-g-3" {
		c.t.Errorf("message after tips: %d %q", m.Sequence, m.ID)
	}
	g := c.group("g")
	if g.Seq != 3 || g.Last == nil || g.Last.LastSequence != 3 || g.Last.MessageForShow != "hello" || g.Last.FromAccount != "u" {
		c.t.Errorf("after a message: seq %d last %+v", g.Seq, g.Last)
	}
	t3 := tip("g", "o", c.unix()+1)
	c.commit(&Change{GroupID: "g", Tips: []*Message{t3}, Keep: week})
	g = c.group("g")
	want := &LastMessage{LastTime: c.unix() + 1, LastSequence: 4, FromAccount: "o", MessageForShow: "[group tip]"}
	if t3.Sequence != 4 || g.Seq != 4 || !reflect.DeepEqual(g.Last, want) {
		c.t.Errorf("tip after a message: %d, seq %d, last %+v", t3.Sequence, g.Seq, g.Last)
	}
	msgs, err := c.st.Messages(c.ctx, "g", Range{})
	if err != nil || len(msgs) != 4 {
		c.t.Fatalf("history: %d messages, %v", len(msgs), err)
	}
	for i, w := range []*Message{t1, t2, m, t3} {
		sameMessage(c.t, msgs[i], w)
	}
}

func testLive(c *storeCase) {
	c.create("live", AVChatRoom)
	t1 := tip("live", "o", c.unix())
	c.commit(&Change{GroupID: "live", Tips: []*Message{t1}, Keep: week}) // nil Group: the stored type decides
	m, _ := c.send(chat("live", "u", "", "hi", c.unix()), week)
	if t1.Sequence != 1 || m.Sequence != 2 || m.ID != "grp-live-2" {
		c.t.Errorf("live sequences: tip %d, message %d %q", t1.Sequence, m.Sequence, m.ID)
	}
	c.wantSeqs("live", Range{})
	if o, _ := c.st.OldestSequence(c.ctx, "live"); o != 0 {
		c.t.Errorf("live OldestSequence %d", o)
	}
	if g := c.group("live"); g.Seq != 2 || g.Last == nil || g.Last.LastSequence != 2 {
		c.t.Errorf("live group: seq %d last %+v", g.Seq, g.Last)
	}
	// A group turned live by its record stores nothing from then on.
	c.create("g", Public)
	c.commit(&Change{GroupID: "g", Group: testGroup("g", AVChatRoom), Tips: []*Message{tip("g", "o", c.unix())}})
	c.wantSeqs("g", Range{})
}

func testDelete(c *storeCase) {
	c.create("g", Public, "a", "b")
	c.commit(&Change{GroupID: "g", PutApps: []*Application{{GroupID: "g", Applicant: "x", Time: 1}},
		Tips: []*Message{tip("g", "a", c.unix())}, Keep: week})
	first, _ := c.send(chat("g", "a", "once", "hi", c.unix()), week)
	g := c.group("g")
	c.wantErr("stale delete", c.st.Commit(c.ctx, &Change{GroupID: "g", Version: g.Version - 1, Delete: true}), ErrConflict)
	bye := tip("g", "a", c.unix())
	if err := c.st.Commit(c.ctx, &Change{GroupID: "g", Version: g.Version, Delete: true, Tips: []*Message{bye}}); err != nil {
		c.t.Fatal(err)
	}
	if bye.Sequence != 3 {
		c.t.Errorf("tip of a delete took sequence %d, want 3", bye.Sequence)
	}
	_, err := c.st.Group(c.ctx, "g")
	c.wantErr("deleted group", err, ErrNotFound)
	c.wantErr("commit to a deleted group", c.st.Commit(c.ctx, &Change{GroupID: "g", Version: g.Version + 1}), ErrNotFound)
	if m, _ := c.st.AllMembers(c.ctx, "g"); len(m) != 0 {
		c.t.Errorf("members left: %v", m)
	}
	if m, _ := c.st.Members(c.ctx, "g", []string{"a"}); len(m) != 0 {
		c.t.Errorf("member left: %v", m)
	}
	if a, _ := c.st.Applications(c.ctx, "g"); len(a) != 0 {
		c.t.Errorf("applications left: %v", a)
	}
	c.wantSeqs("g", Range{})
	// The ID may be reused; the sequence goes on; nothing of the old group
	// shows, not even an idempotency entry.
	// Its version goes on too: a decision made on the old group can never
	// pass for one on the new (AppendRecent).
	old := g.Version
	c.create("g", Private)
	g = c.group("g")
	if g.Seq != 3 || g.Version <= old || g.MemberNum != 0 || g.Last != nil || g.Type != Private {
		c.t.Errorf("re-created group: %+v", g)
	}
	again, dup := c.send(chat("g", "a", "once", "hi", c.unix()), week)
	if dup || again.Sequence != 4 || again.Sequence == first.Sequence {
		c.t.Errorf("send into the re-created group: dup %v sequence %d", dup, again.Sequence)
	}
	c.wantSeqs("g", Range{}, 4)
}

// AppendRecent stores a message only while the group (version) and the
// sender's profile are as in the snapshot the decision was made on.
func testAppendRecent(c *storeCase) {
	c.create("g", Public, "a", "b")
	read := func() *Snapshot {
		c.t.Helper()
		snap, err := c.st.Read(c.ctx, "g", []string{"a"}, []string{"a"})
		if err != nil {
			c.t.Fatal(err)
		}
		return snap
	}
	appendOn := func(snap *Snapshot, id string) error {
		_, _, err := c.st.AppendRecent(c.ctx, chat("g", "a", id, "hi", c.unix()), snap, week)
		return err
	}
	snap := read()
	if err := appendOn(snap, "1"); err != nil {
		c.t.Fatalf("append on a current snapshot: %v", err)
	}
	if err := appendOn(snap, "2"); err != nil {
		c.t.Fatalf("a chat message changes nothing a snapshot holds: %v", err)
	}
	if err := c.st.SetProfile(c.ctx, &Profile{UserID: "a", Nick: "Ann"}); err != nil {
		c.t.Fatal(err)
	}
	c.wantErr("after the sender's profile changed", appendOn(snap, "3"), ErrConflict)
	if err := c.st.SetProfile(c.ctx, &Profile{UserID: "b", Nick: "Bob"}); err != nil {
		c.t.Fatal(err)
	}
	snap = read()
	if err := appendOn(snap, "4"); err != nil {
		c.t.Fatalf("another user's profile is not the sender's: %v", err)
	}
	c.commit(&Change{GroupID: "g", Put: []*Member{{UserID: "a", Role: RoleMember, MuteUntil: c.unix() + 60}}})
	c.wantErr("after the sender's member record changed", appendOn(snap, "5"), ErrConflict)
	snap = read()
	g := snap.Group
	if err := c.st.Commit(c.ctx, &Change{GroupID: "g", Version: g.Version, Delete: true}); err != nil {
		c.t.Fatal(err)
	}
	c.wantErr("after a dismissal", appendOn(snap, "6"), ErrNotFound)
	// Re-created with the same ID and as many changes as before: still
	// not the group the snapshot holds.
	c.create("g", Public, "a")
	for c.group("g").Version < g.Version {
		c.commit(&Change{GroupID: "g", Put: []*Member{{UserID: "a", Role: RoleMember}}})
	}
	c.wantErr("after a re-creation", appendOn(snap, "7"), ErrConflict)
	c.wantSeqs("g", Range{})
	if err := appendOn(read(), "8"); err != nil {
		c.t.Fatalf("append on a current snapshot of the new group: %v", err)
	}
}

func testMembers(c *storeCase) {
	c.create("g", Public, "a", "b")
	custom := &Member{UserID: "c", Role: RoleAdmin, JoinTime: 7, JoinSeq: 3, NameCard: "card",
		MuteUntil: 9, Remind: Discard, Custom: map[string]string{"k": "v"}}
	c.commit(&Change{GroupID: "g", Put: []*Member{custom}, Del: []string{"a", "nobody"}})
	got, err := c.st.Members(c.ctx, "g", []string{"a", "b", "c", "zz"})
	if err != nil || len(got) != 2 || got["b"] == nil || !reflect.DeepEqual(got["c"], custom) {
		c.t.Errorf("Members: %+v, %v", got, err)
	}
	if g := c.group("g"); g.MemberNum != 2 {
		c.t.Errorf("MemberNum %d, want 2", g.MemberNum)
	}
	// Del runs before Put: a member removed and put back in one change stays.
	c.commit(&Change{GroupID: "g", Put: []*Member{{UserID: "b", Role: RoleOwner}}, Del: []string{"b"}})
	all, err := c.st.AllMembers(c.ctx, "g")
	if err != nil || len(all) != 2 {
		c.t.Fatalf("AllMembers: %v, %v", all, err)
	}
	roles := map[string]Role{}
	for _, m := range all {
		roles[m.UserID] = m.Role
	}
	if !reflect.DeepEqual(roles, map[string]Role{"b": RoleOwner, "c": RoleAdmin}) {
		c.t.Errorf("roles %v", roles)
	}
	if m, err := c.st.Members(c.ctx, "g", nil); err != nil || len(m) != 0 {
		c.t.Errorf("Members of nobody: %v, %v", m, err)
	}
}

// A member put with JoinSeqAtTip gets the sequence of the change's first
// tip, whatever was sent since the decision; without a tip the change is
// refused and changes nothing.
func testJoinSeqAtTip(c *storeCase) {
	c.create("g", Public, "a")
	v := c.group("g").Version
	c.send(chat("g", "a", "", "sent after the decision", c.unix()), week)  // sequence 1
	plain := &Member{UserID: "b", Role: RoleMember, JoinSeq: JoinSeqAtTip} // joinSeq is its last field
	full := &Member{UserID: "c", Role: RoleMember, JoinSeq: JoinSeqAtTip, NameCard: "card", MuteUntil: 9,
		Custom: map[string]string{"joinSeq": "x"}}
	t1, t2 := tip("g", "b", c.unix()), tip("g", "c", c.unix())
	if err := c.st.Commit(c.ctx, &Change{GroupID: "g", Version: v, Put: []*Member{plain, full}, Tips: []*Message{t1, t2}, Keep: week}); err != nil {
		c.t.Fatal(err)
	}
	if t1.Sequence != 2 || plain.JoinSeq != 2 || full.JoinSeq != 2 {
		c.t.Errorf("tip %d, joinSeq set on return %d and %d; want 2", t1.Sequence, plain.JoinSeq, full.JoinSeq)
	}
	got, err := c.st.Members(c.ctx, "g", []string{"b", "c"})
	if err != nil || !reflect.DeepEqual(got["b"], plain) || !reflect.DeepEqual(got["c"], full) {
		c.t.Errorf("stored %+v %+v (%v), want %+v %+v", got["b"], got["c"], err, plain, full)
	}
	v = c.group("g").Version
	bad := &Member{UserID: "d", Role: RoleMember, JoinSeq: JoinSeqAtTip}
	if err := c.st.Commit(c.ctx, &Change{GroupID: "g", Version: v, Put: []*Member{bad}}); err == nil {
		c.t.Error("a JoinSeqAtTip member without a tip was committed")
	}
	if m, _ := c.st.Members(c.ctx, "g", []string{"d"}); len(m) != 0 || c.group("g").Version != v {
		c.t.Errorf("the refused change left %v, version %d (was %d)", m, c.group("g").Version, v)
	}
}

func testRead(c *storeCase) {
	if _, err := c.st.Read(c.ctx, "nope", []string{"a"}, []string{"a"}); !errors.Is(err, ErrNotFound) {
		c.t.Errorf("Read of a missing group: %v, want ErrNotFound", err)
	}
	c.create("g", Public, "a", "b")
	c.send(chat("g", "a", "", "hi", c.unix()), week)
	if err := c.st.SetProfile(c.ctx, &Profile{UserID: "a", Nick: "A"}); err != nil {
		c.t.Fatal(err)
	}
	snap, err := c.st.Read(c.ctx, "g", []string{"a", "zz"}, []string{"a", "b"})
	if err != nil {
		c.t.Fatal(err)
	}
	if want := c.group("g"); !reflect.DeepEqual(snap.Group, want) {
		c.t.Errorf("Read group %+v, want Group's %+v", snap.Group, want)
	}
	if g := snap.Group; g.MemberNum != 2 || g.Seq != 1 || g.Last == nil || g.Last.LastSequence != 1 {
		c.t.Errorf("Read group: %d members, seq %d, last %+v", g.MemberNum, g.Seq, g.Last)
	}
	want, _ := c.st.Members(c.ctx, "g", []string{"a"})
	if !reflect.DeepEqual(snap.Members, want) {
		c.t.Errorf("Read members %+v, want %+v", snap.Members, want)
	}
	if p := snap.Profiles; len(p) != 1 || p["a"] == nil || p["a"].Nick != "A" {
		c.t.Errorf("Read profiles %+v, want only a's", p)
	}
	snap, err = c.st.Read(c.ctx, "g", nil, nil)
	if err != nil || snap.Members == nil || len(snap.Members) != 0 || snap.Profiles == nil || len(snap.Profiles) != 0 {
		c.t.Errorf("Read of nobody: %+v, %v", snap, err)
	}
}

func testApplications(c *storeCase) {
	c.create("g", Public)
	c.commit(&Change{GroupID: "g", PutApps: []*Application{
		{GroupID: "g", Applicant: "z", ApplyMessage: "me", Time: 1},
		{GroupID: "g", Applicant: "a", ApplyMessage: "me too", Time: 2},
	}})
	// Applying again refreshes; a consumed application is gone.
	c.commit(&Change{GroupID: "g", DelApps: []string{"z"},
		PutApps: []*Application{{GroupID: "g", Applicant: "a", ApplyMessage: "again", Time: 3}}})
	got, err := c.st.Applications(c.ctx, "g")
	want := []*Application{{GroupID: "g", Applicant: "a", ApplyMessage: "again", Time: 3}}
	if err != nil || !reflect.DeepEqual(got, want) {
		c.t.Errorf("Applications %+v, %v", got, err)
	}
	c.commit(&Change{GroupID: "g", PutApps: []*Application{{GroupID: "g", Applicant: "m", Time: 4}, {GroupID: "g", Applicant: "b", Time: 4}}})
	got, _ = c.st.Applications(c.ctx, "g")
	if len(got) != 3 || got[0].Applicant != "a" || got[1].Applicant != "b" || got[2].Applicant != "m" {
		c.t.Errorf("Applications not sorted by applicant: %+v", got)
	}
}

func testMessageRanges(c *storeCase) {
	c.create("g", Public)
	for i := range 10 {
		c.send(chat("g", "u", "", fmt.Sprint(i), c.unix()), week)
	}
	tests := []struct {
		r    Range
		want []uint64
	}{
		{Range{}, []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
		{Range{After: 7}, []uint64{8, 9, 10}},
		{Range{Before: 4}, []uint64{1, 2, 3}},
		{Range{After: 2, Before: 6}, []uint64{3, 4, 5}},
		{Range{After: 2, Before: 6, Limit: 2}, []uint64{3, 4}},
		{Range{After: 2, Before: 6, Limit: 2, Newest: true}, []uint64{4, 5}},
		{Range{Limit: 3, Newest: true}, []uint64{8, 9, 10}},
		{Range{Limit: 3}, []uint64{1, 2, 3}},
		{Range{Newest: true}, []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
		{Range{Limit: 20, Newest: true, After: 8}, []uint64{9, 10}},
		{Range{After: 10}, nil},
		{Range{After: 5, Before: 6}, nil},
		{Range{After: 6, Before: 3}, nil},
		{Range{Before: 1}, nil},
	}
	for _, tt := range tests {
		c.wantSeqs("g", tt.r, tt.want...)
	}
}

func testMessageRoundTrip(c *storeCase) {
	id := `q"u\o{te}:d`
	c.create(id, Public)
	m := chat(id, `fr"om`, "", "<b>&\"é\u2028", c.unix())
	m.Type = CustomElem
	m.Payload = json.RawMessage(`{"data":"{\"time\":1,\"sequence\":0}","description":"d","extension":"","time":5,"sequence":0}`)
	m.Nick, m.NameCard, m.CloudCustomData, m.Priority = "ニック", "card", "nul \x00 in JSON is \\u0000", High
	stored, _ := c.send(m, week)
	if want := groupMessageID(id, 1); stored.ID != want {
		c.t.Errorf("ID %q, want %q", stored.ID, want)
	}
	msgs, err := c.st.Messages(c.ctx, id, Range{})
	if err != nil || len(msgs) != 1 {
		c.t.Fatalf("messages: %v, %v", msgs, err)
	}
	sameMessage(c.t, msgs[0], stored)
	sameMessage(c.t, stored, &Message{ID: stored.ID, Type: m.Type, Payload: m.Payload, ConversationID: m.ConversationID,
		ConversationType: m.ConversationType, To: id, From: m.From, Time: m.Time, Sequence: 1,
		Priority: High, Nick: m.Nick, NameCard: m.NameCard, CloudCustomData: m.CloudCustomData, Status: "success"})
	if g := c.group(id); g.Last.MessageForShow != "d" {
		c.t.Errorf("last %+v", g.Last)
	}
}

// sameMessage compares two messages, their payloads as JSON values.
func sameMessage(t *testing.T, got, want *Message) {
	t.Helper()
	var gp, wp any
	if err := json.Unmarshal(got.Payload, &gp); err != nil {
		t.Errorf("payload %s: %v", got.Payload, err)
	}
	_ = json.Unmarshal(want.Payload, &wp)
	g, w := *got, *want
	g.Payload, w.Payload = nil, nil
	g.encoded, w.encoded = false, false // a hint of the copy in memory, not stored
	if !reflect.DeepEqual(gp, wp) || !reflect.DeepEqual(g, w) {
		t.Errorf("message\n got %+v %s\nwant %+v %s", g, got.Payload, w, want.Payload)
	}
}

func testRetentionCount(c *storeCase) {
	c.create("g", Public)
	keep := Retention{MaxMessages: 3}
	for range 5 {
		c.send(chat("g", "u", "", "x", c.unix()), keep)
	}
	c.wantSeqs("g", Range{}, 3, 4, 5)
	if o, _ := c.st.OldestSequence(c.ctx, "g"); o != 3 {
		c.t.Errorf("OldestSequence %d, want 3", o)
	}
	c.commit(&Change{GroupID: "g", Tips: []*Message{tip("g", "o", c.unix()), tip("g", "o", c.unix())}, Keep: keep})
	c.wantSeqs("g", Range{}, 5, 6, 7)
	// Every commit applies its Keep, tips or not; a zero Keep trims nothing.
	c.commit(&Change{GroupID: "g"})
	c.wantSeqs("g", Range{}, 5, 6, 7)
	c.commit(&Change{GroupID: "g", Keep: Retention{MaxMessages: 1}})
	c.wantSeqs("g", Range{}, 7)
	if o, _ := c.st.OldestSequence(c.ctx, "g"); o != 7 {
		c.t.Errorf("OldestSequence %d, want 7", o)
	}
}

func testRetentionAge(c *storeCase) {
	c.create("g", Public)
	day := int64(24 * 3600)
	t0 := c.unix()
	c.send(chat("g", "u", "", "1", t0), week)
	c.send(chat("g", "u", "", "2", t0+day), week)
	c.send(chat("g", "u", "", "3", t0+2*day), week)
	c.clk.add(8 * 24 * time.Hour) // cut = t0 + 1 day: message 1 is too old
	c.send(chat("g", "u", "", "4", c.unix()), week)
	c.wantSeqs("g", Range{}, 2, 3, 4)
	if o, _ := c.st.OldestSequence(c.ctx, "g"); o != 2 {
		c.t.Errorf("OldestSequence %d, want 2", o)
	}
	// History stays contiguous: an old time behind a young one is kept
	// until everything before it is gone.
	c.send(chat("g", "u", "", "old", t0), week)
	c.clk.add(24 * time.Hour) // the cut passes message 2 only
	c.commit(&Change{GroupID: "g", Tips: []*Message{tip("g", "o", c.unix())}, Keep: week})
	c.wantSeqs("g", Range{}, 3, 4, 5, 6)
	// Long quiet: one commit drops everything too old at once.
	c.clk.add(30 * 24 * time.Hour)
	c.commit(&Change{GroupID: "g", Keep: week})
	c.wantSeqs("g", Range{})
	if o, _ := c.st.OldestSequence(c.ctx, "g"); o != 0 {
		c.t.Errorf("OldestSequence %d, want 0", o)
	}
}

func testIdempotent(c *storeCase) {
	c.create("g", Public)
	c.create("h", Public)
	c.create("live", AVChatRoom)
	first, dup := c.send(chat("g", "alice", "m1", "first", c.unix()), week)
	if dup || first.Sequence != 1 || first.ID != "m1" {
		c.t.Fatalf("first send: dup %v %+v", dup, first)
	}
	again, dup := c.send(chat("g", "alice", "m1", "second", c.unix()+9), week)
	if !dup {
		c.t.Error("repeat is not a dup")
	}
	sameMessage(c.t, again, first)
	if g := c.group("g"); g.Seq != 1 || g.Last.MessageForShow != "first" {
		c.t.Errorf("repeat took a sequence or changed last: seq %d last %+v", g.Seq, g.Last)
	}
	c.wantSeqs("g", Range{}, 1)
	// The key is group + sender + ID.
	if m, dup := c.send(chat("g", "bob", "m1", "bob's", c.unix()), week); dup || m.Sequence != 2 {
		c.t.Errorf("other sender, same ID: dup %v seq %d", dup, m.Sequence)
	}
	if m, dup := c.send(chat("h", "alice", "m1", "elsewhere", c.unix()), week); dup || m.Sequence != 1 {
		c.t.Errorf("other group, same ID: dup %v seq %d", dup, m.Sequence)
	}
	if m, dup := c.send(chat("g", "alice", "m2", "new", c.unix()), week); dup || m.Sequence != 3 {
		c.t.Errorf("same sender, other ID: dup %v seq %d", dup, m.Sequence)
	}
	// Sends without an ID are never dups.
	c.send(chat("g", "alice", "", "x", c.unix()), week)
	if m, dup := c.send(chat("g", "alice", "", "x", c.unix()), week); dup || m.Sequence != 5 {
		c.t.Errorf("no ID: dup %v seq %d", dup, m.Sequence)
	}
	// Live rooms store nothing but still recognise a repeat.
	lf, _ := c.send(chat("live", "alice", "m1", "live", c.unix()), week)
	if m, dup := c.send(chat("live", "alice", "m1", "live", c.unix()), week); !dup || m.Sequence != lf.Sequence {
		c.t.Errorf("live repeat: dup %v seq %d", dup, m.Sequence)
	}
	// The version is checked before the repeat.
	g := c.group("g")
	c.commit(&Change{GroupID: "g"})
	_, _, err := c.st.Append(c.ctx, chat("g", "alice", "m1", "first", c.unix()), g.Version, false, week)
	c.wantErr("stale repeat", err, ErrConflict)
}

func testIdempotentWindow(c *storeCase) {
	c.create("g", Public)
	c.send(chat("g", "alice", "m1", "first", c.unix()), week)
	c.clk.add(IdempotencyWindow - time.Second)
	if _, dup := c.send(chat("g", "alice", "m1", "first", c.unix()), week); !dup {
		c.t.Error("repeat within the window is not a dup")
	}
	c.clk.add(2 * time.Second)
	m, dup := c.send(chat("g", "alice", "m1", "later", c.unix()), week)
	if dup || m.Sequence != 2 {
		c.t.Errorf("repeat after the window: dup %v seq %d", dup, m.Sequence)
	}
	// The new send opens a new window.
	if again, dup := c.send(chat("g", "alice", "m1", "x", c.unix()), week); !dup || again.Sequence != 2 {
		c.t.Errorf("repeat of the new send: dup %v seq %d", dup, again.Sequence)
	}
}

// testOddIDs uses IDs full of the characters keys are made of: groups,
// users and message IDs must stay apart.
func testOddIDs(c *storeCase) {
	ids := []string{"a", "a}", "a}:meta", "{a}", "a}:idem:61:62", "}", "{", ":", `"\`}
	for _, id := range ids {
		c.create(id, Public, id)
	}
	for i, id := range ids {
		c.commit(&Change{GroupID: id, Tips: []*Message{tip(id, id, c.unix())}, Keep: week})
		g := c.group(id)
		if g.ID != id || g.MemberNum != 1 || g.Seq != 1 {
			c.t.Errorf("group %q: %+v", id, g)
		}
		m, dup := c.send(chat(id, "u:"+id, "x}:"+id, fmt.Sprint(i), c.unix()), week)
		if dup || m.Sequence != 2 {
			c.t.Errorf("send to %q: dup %v seq %d", id, dup, m.Sequence)
		}
		c.wantSeqs(id, Range{}, 1, 2)
	}
	// (from, ID) pairs that concatenate alike are different sends.
	pairs := [][2]string{{"u:v", "w"}, {"u", "v:w"}, {"u", "v"}, {"u:v:w", ""}}
	for i, p := range pairs {
		if _, dup := c.send(chat("a", p[0], p[1], fmt.Sprint(i), c.unix()), week); dup {
			c.t.Errorf("from %q ID %q is a dup", p[0], p[1])
		}
	}
	for _, u := range ids {
		if err := c.st.ReserveGroup(c.ctx, u, "g-"+u, 1); err != nil {
			c.t.Errorf("reserve for %q: %v", u, err)
		}
	}
	for _, u := range ids {
		if gs, _ := c.st.UserGroups(c.ctx, u); !reflect.DeepEqual(gs, []string{"g-" + u}) {
			c.t.Errorf("groups of %q: %v", u, gs)
		}
	}
}

func testReserve(c *storeCase) {
	ok := func(u, g string) {
		c.t.Helper()
		if err := c.st.ReserveGroup(c.ctx, u, g, 2); err != nil {
			c.t.Errorf("reserve %s for %s: %v", g, u, err)
		}
	}
	ok("u", "g1")
	ok("u", "g2")
	ok("u", "g1") // idempotent, even at the limit
	c.wantErr("over the limit", c.st.ReserveGroup(c.ctx, "u", "g3", 2), ErrTooManyGroups)
	ok("v", "g3") // limits are per user
	if gs, err := c.st.UserGroups(c.ctx, "u"); err != nil || !reflect.DeepEqual(gs, []string{"g1", "g2"}) {
		c.t.Errorf("UserGroups %v, %v", gs, err)
	}
	for range 2 {
		if err := c.st.ReleaseGroup(c.ctx, "u", "g1"); err != nil {
			c.t.Errorf("release: %v", err)
		}
	}
	ok("u", "g3")
	if gs, _ := c.st.UserGroups(c.ctx, "u"); !reflect.DeepEqual(gs, []string{"g2", "g3"}) {
		c.t.Errorf("UserGroups after release %v", gs)
	}
	c.wantErr("limit 0", c.st.ReserveGroup(c.ctx, "w", "g", 0), ErrTooManyGroups)
	if err := c.st.ReleaseGroup(c.ctx, "nobody", "g"); err != nil {
		c.t.Errorf("release of nothing: %v", err)
	}
	if gs, err := c.st.UserGroups(c.ctx, "nobody"); err != nil || len(gs) != 0 {
		c.t.Errorf("UserGroups of nobody %v, %v", gs, err)
	}
}

func testNotices(c *storeCase) {
	g := testGroup("g", Public)
	for i := range NoticeKeep + 5 {
		n := newNotice(g, "u", "o", NoticeInvited, c.unix(), fmt.Sprint(i))
		n.ID = fmt.Sprint("n", i)
		if err := c.st.AppendNotice(c.ctx, "u", n); err != nil {
			c.t.Fatal(err)
		}
	}
	got, err := c.st.Notices(c.ctx, "u")
	if err != nil || len(got) != NoticeKeep || got[0].ID != "n5" || got[NoticeKeep-1].ID != fmt.Sprint("n", NoticeKeep+4) {
		c.t.Fatalf("Notices: %d, %v", len(got), err)
	}
	if got[0].NoticeType() != NoticeInvited || got[0].ConversationID != ConvSystem {
		c.t.Errorf("notice %+v", got[0])
	}
	// Too old to store, then everything too old to read.
	old := newNotice(g, "v", "o", NoticeKicked, c.unix()-int64(NoticeMaxAge/time.Second)-1, "")
	young := newNotice(g, "v", "o", NoticeKicked, c.unix(), "")
	for _, n := range []*Message{old, young} {
		if err := c.st.AppendNotice(c.ctx, "v", n); err != nil {
			c.t.Fatal(err)
		}
	}
	if got, _ := c.st.Notices(c.ctx, "v"); len(got) != 1 || got[0].ID != young.ID {
		c.t.Errorf("notices with an old one: %+v", got)
	}
	c.clk.add(NoticeMaxAge + time.Second)
	if got, err := c.st.Notices(c.ctx, "u"); err != nil || len(got) != 0 {
		c.t.Errorf("notices after 30 days: %d, %v", len(got), err)
	}
	if got, err := c.st.Notices(c.ctx, "nobody"); err != nil || len(got) != 0 {
		c.t.Errorf("notices of nobody: %v, %v", got, err)
	}
}

func testProfiles(c *storeCase) {
	for _, p := range []*Profile{{UserID: "a", Nick: "A"}, {UserID: "b", Nick: "B", Avatar: "x"}, {UserID: "a", Nick: "A2", Avatar: "y"}} {
		if err := c.st.SetProfile(c.ctx, p); err != nil {
			c.t.Fatal(err)
		}
	}
	got, err := c.st.Profiles(c.ctx, []string{"a", "b", "c"})
	want := map[string]*Profile{"a": {UserID: "a", Nick: "A2", Avatar: "y"}, "b": {UserID: "b", Nick: "B", Avatar: "x"}}
	if err != nil || !reflect.DeepEqual(got, want) {
		c.t.Errorf("Profiles %+v, %v", got, err)
	}
	if got, err := c.st.Profiles(c.ctx, nil); err != nil || len(got) != 0 {
		c.t.Errorf("Profiles of nobody %v, %v", got, err)
	}
}

func testPing(c *storeCase) {
	if err := c.st.Ping(c.ctx); err != nil {
		c.t.Error(err)
	}
}

func testConcurrentCommits(c *storeCase) {
	c.create("g", Public)
	v := c.group("g").Version
	const n = 20
	var wins, conflicts atomic.Int32
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			u := fmt.Sprint("u", i)
			err := c.st.Commit(c.ctx, &Change{GroupID: "g", Version: v, Put: []*Member{{UserID: u, Role: RoleMember}},
				Tips: []*Message{tip("g", u, c.unix())}, Keep: week})
			switch {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, ErrConflict):
				conflicts.Add(1)
			default:
				c.t.Errorf("commit: %v", err)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 || conflicts.Load() != n-1 {
		c.t.Errorf("%d wins, %d conflicts; want 1, %d", wins.Load(), conflicts.Load(), n-1)
	}
	if g := c.group("g"); g.Version != v+1 || g.Seq != 1 || g.MemberNum != 1 {
		c.t.Errorf("after the race: version %d seq %d members %d", g.Version, g.Seq, g.MemberNum)
	}
	c.wantSeqs("g", Range{}, 1)
}

func testConcurrentAppends(c *storeCase) {
	c.create("g", Public)
	v := c.group("g").Version
	const n = 20
	var mu sync.Mutex
	seen := map[uint64]bool{}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			m, _, err := c.st.Append(c.ctx, chat("g", "u", fmt.Sprint(i), "x", c.unix()), v, false, week)
			if err != nil {
				c.t.Errorf("append: %v", err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			seen[m.Sequence] = true
		})
	}
	wg.Wait()
	want := make([]uint64, n)
	for i := range want {
		want[i] = uint64(i + 1)
		if !seen[want[i]] {
			c.t.Errorf("sequence %d not taken", want[i])
		}
	}
	c.wantSeqs("g", Range{}, want...)
}
