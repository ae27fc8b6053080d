package groups

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

// fixture is a Service on a store with a settable clock.
type fixture struct {
	t   *testing.T
	svc *Service
	now time.Time
}

func newFixture(t *testing.T, st Store, o Options) *fixture {
	f := &fixture{t: t, now: time.Now().Truncate(time.Second)}
	o.Now = func() time.Time { return f.now }
	if o.AppAdmins == nil {
		o.AppAdmins = []string{"administrator"}
	}
	f.svc = NewService(st, o)
	return f
}

func memFixture(t *testing.T) *fixture { return newFixture(t, NewMemoryStore(), Options{}) }

// do runs op as user with data (a JSON-encodable value) and returns the
// outcome and the error code.
func (f *fixture) do(user, op string, data any) (Outcome, int) {
	f.t.Helper()
	raw, err := json.Marshal(data)
	if err != nil {
		f.t.Fatal(err)
	}
	out, err := f.svc.Do(context.Background(), Caller{UserID: user, SessionID: 1}, op, raw)
	return out, CodeOf(err)
}

// ok runs op and fails the test unless it succeeds; it returns the reply
// as generic JSON.
func (f *fixture) ok(user, op string, data any) (map[string]any, []Event) {
	f.t.Helper()
	raw, _ := json.Marshal(data)
	out, err := f.svc.Do(context.Background(), Caller{UserID: user, SessionID: 1}, op, raw)
	if err != nil {
		f.t.Fatalf("%s by %s: %v", op, user, err)
	}
	b, _ := json.Marshal(out.Reply)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		f.t.Fatalf("%s reply %s: %v", op, b, err)
	}
	return m, out.Events
}

// create makes a group of type typ owned by owner and returns its ID.
func (f *fixture) create(owner string, typ Type, extra map[string]any) string {
	f.t.Helper()
	data := map[string]any{"name": "g", "type": typ}
	for k, v := range extra {
		data[k] = v
	}
	r, _ := f.ok(owner, "createGroup", data)
	return r["group"].(map[string]any)["groupID"].(string)
}

func (f *fixture) wantCode(want int, user, op string, data any) {
	f.t.Helper()
	if _, got := f.do(user, op, data); got != want {
		f.t.Errorf("%s by %q with %v: code %d, want %d", op, user, data, got, want)
	}
}

func TestCreateGroupErrors(t *testing.T) {
	f := memFixture(t)
	f.create("alice", Public, map[string]any{"groupID": "taken"})
	f.create("bob", Public, map[string]any{"groupID": "bobs"})
	many := make([]map[string]any, 501)
	for i := range many {
		many[i] = map[string]any{"userID": "u" + strings.Repeat("x", i%20)}
	}
	tests := []struct {
		name string
		user string
		data map[string]any
		want int
	}{
		{"anonymous", "", map[string]any{"name": "g"}, CodeNotLoggedIn},
		{"anonymous beats bad params", "", map[string]any{}, CodeNotLoggedIn},
		{"no name", "alice", map[string]any{"type": "Public"}, CodeInvalidParam},
		{"name too long", "alice", map[string]any{"name": strings.Repeat("n", 31)}, CodeInvalidParam},
		{"bad type", "alice", map[string]any{"name": "g", "type": "Community"}, CodeInvalidParam},
		{"name not a string", "alice", map[string]any{"name": 5}, CodeInvalidParam},
		{"reserved prefix", "alice", map[string]any{"name": "g", "groupID": "@TGS#ABC"}, CodeInvalidGroupID},
		{"space in ID", "alice", map[string]any{"name": "g", "groupID": "a b"}, CodeInvalidGroupID},
		{"ID too long", "alice", map[string]any{"name": "g", "groupID": strings.Repeat("i", 49)}, CodeInvalidGroupID},
		{"introduction too long", "alice", map[string]any{"name": "g", "introduction": strings.Repeat("i", 241)}, CodeInvalidParam},
		{"notification too long", "alice", map[string]any{"name": "g", "notification": strings.Repeat("i", 301)}, CodeInvalidParam},
		{"avatar too long", "alice", map[string]any{"name": "g", "avatar": strings.Repeat("i", 101)}, CodeInvalidParam},
		{"bad joinOption", "alice", map[string]any{"name": "g", "type": "Public", "joinOption": "Maybe"}, CodeInvalidParam},
		{"Private takes no FreeAccess", "alice", map[string]any{"name": "g", "joinOption": "FreeAccess"}, CodeInvalidParam},
		{"ChatRoom takes no NeedPermission", "alice", map[string]any{"name": "g", "type": "ChatRoom", "joinOption": "NeedPermission"}, CodeInvalidParam},
		{"maxMemberNum 0", "alice", map[string]any{"name": "g", "type": "Public", "maxMemberNum": 0}, CodeInvalidParam},
		{"maxMemberNum 6001", "alice", map[string]any{"name": "g", "type": "Public", "maxMemberNum": 6001}, CodeInvalidParam},
		{"live maxMemberNum", "alice", map[string]any{"name": "g", "type": "AVChatRoom", "maxMemberNum": 10}, CodeInvalidParam},
		{"live memberList", "alice", map[string]any{"name": "g", "type": "AVChatRoom", "memberList": []any{map[string]any{"userID": "bob"}}}, CodeNoPermission},
		{"Admin in Private", "alice", map[string]any{"name": "g", "memberList": []any{map[string]any{"userID": "bob", "role": "Admin"}}}, CodeInvalidParam},
		{"Owner role value", "alice", map[string]any{"name": "g", "type": "Public", "memberList": []any{map[string]any{"userID": "bob", "role": "Owner"}}}, CodeRoleInvalid},
		{"bad member ID", "alice", map[string]any{"name": "g", "memberList": []any{map[string]any{"userID": "b b"}}}, CodeInvalidParam},
		{"501 members", "alice", map[string]any{"name": "g", "memberList": many}, CodeInvalidParam},
		{"members over maxMemberNum", "alice", map[string]any{"name": "g", "maxMemberNum": 2, "memberList": []any{map[string]any{"userID": "b"}, map[string]any{"userID": "c"}}}, CodeInvalidParam},
		{"custom key too long", "alice", map[string]any{"name": "g", "groupCustomField": []any{map[string]any{"key": strings.Repeat("k", 17), "value": "v"}}}, CodeInvalidParam},
		{"custom value too long", "alice", map[string]any{"name": "g", "groupCustomField": []any{map[string]any{"key": "k", "value": strings.Repeat("v", 513)}}}, CodeInvalidParam},
		{"taken ID", "alice", map[string]any{"name": "g", "groupID": "bobs"}, CodeGroupIDTaken},
		{"own ID", "alice", map[string]any{"name": "g", "groupID": "taken"}, CodeGroupIDOwned},
		{"reserved prefix beats taken", "alice", map[string]any{"name": "g", "groupID": "@TGS#", "type": "Nope"}, CodeInvalidParam},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.t = t
			f.wantCode(tt.want, tt.user, "createGroup", tt.data)
		})
	}
}

func TestCreateGroup(t *testing.T) {
	f := memFixture(t)
	r, events := f.ok("alice", "createGroup", map[string]any{"name": "Go fans", "type": "Public",
		"memberList":       []any{map[string]any{"userID": "bob", "role": "Admin"}, map[string]any{"userID": "carol"}, map[string]any{"userID": "alice"}},
		"groupCustomField": []any{map[string]any{"key": "k", "value": "v"}}})
	g := r["group"].(map[string]any)
	id := g["groupID"].(string)
	if !strings.HasPrefix(id, "@TGS#") || len(id) != 15 {
		t.Errorf("generated ID %q", id)
	}
	for k, want := range map[string]any{"type": "Public", "name": "Go fans", "ownerID": "alice", "memberNum": 3.0,
		"memberCount": 3.0, "maxMemberNum": 6000.0, "joinOption": "FreeAccess", "nextMessageSeq": 1.0} {
		if g[k] != want {
			t.Errorf("group.%s = %v, want %v", k, g[k], want)
		}
	}
	if self := g["selfInfo"].(map[string]any); self["role"] != "Owner" {
		t.Errorf("selfInfo %v", self)
	}
	if cf := g["groupCustomField"].([]any); len(cf) != 1 {
		t.Errorf("groupCustomField %v", cf)
	}
	notices := map[string]int{}
	for _, ev := range events {
		if ev.Kind == Deliver {
			notices[ev.UserIDs[0]] = ev.Message.NoticeType()
		}
	}
	want := map[string]int{"alice": NoticeCreated, "bob": NoticeInvited, "carol": NoticeInvited}
	if len(notices) != 3 || notices["alice"] != want["alice"] || notices["bob"] != want["bob"] || notices["carol"] != want["carol"] {
		t.Errorf("notices %v, want %v", notices, want)
	}
	m, _ := f.svc.store.Members(context.Background(), id, []string{"bob", "carol"})
	if m["bob"].Role != RoleAdmin || m["carol"].Role != RoleMember {
		t.Errorf("members %+v %+v", m["bob"], m["carol"])
	}
}

func TestGroupLimit(t *testing.T) { testGroupLimit(t, NewMemoryStore()) }

// TestGroupLimitRedis: the same on Redis, where a join's slot is
// reserved and a quit's released (with its notice stored) by the commit.
func TestGroupLimitRedis(t *testing.T) {
	rdb, prefix := testRedis(t)
	testGroupLimit(t, NewRedisStore(rdb, prefix))
}

func testGroupLimit(t *testing.T, store Store) {
	ctx := context.Background()
	f := newFixture(t, store, Options{GroupLimit: 2})
	f.create("alice", Public, nil)
	bob1 := f.create("bob", Public, nil)
	f.create("bob", Public, nil)
	f.create("alice", AVChatRoom, nil) // live rooms do not count
	r, _ := f.ok("alice", "createGroup", map[string]any{"name": "g", "memberList": []any{map[string]any{"userID": "bob"}}})
	if over := r["overLimitUserIDList"].([]any); len(over) != 1 || over[0] != "bob" {
		t.Errorf("overLimitUserIDList %v", over)
	}
	f.wantCode(CodeTooManyGroups, "alice", "createGroup", map[string]any{"name": "g"})
	id := f.create("carol", Public, nil)
	f.wantCode(CodeTooManyGroups, "bob", "joinGroup", map[string]any{"groupID": id})
	// the refused join changed nothing
	if g, err := store.Read(ctx, id, []string{"bob"}, nil); err != nil || g.Group.MemberNum != 1 || g.Members["bob"] != nil || g.Group.Seq != 0 {
		t.Errorf("after the refused join: %+v, %v", g, err)
	}
	if ids, _ := store.UserGroups(ctx, "bob"); len(ids) != 2 || slices.Contains(ids, id) {
		t.Errorf("bob's groups after the refused join: %v", ids)
	}
	// dave quits carol's group: his slot is free again and he has the notice
	f.ok("dave", "joinGroup", map[string]any{"groupID": id})
	f.ok("dave", "quitGroup", map[string]any{"groupID": id})
	if ids, _ := store.UserGroups(ctx, "dave"); len(ids) != 0 {
		t.Errorf("dave's groups after the quit: %v", ids)
	}
	if ns, err := store.Notices(ctx, "dave"); err != nil || len(ns) != 1 || ns[0].NoticeType() != NoticeQuit || ns[0].To != "dave" {
		t.Errorf("dave's notices after the quit: %+v, %v", ns, err)
	}
	// bob owns bob1 (an owner may not quit a Public group): once it is
	// dismissed he is in one group fewer and may join
	f.ok("bob", "dismissGroup", map[string]any{"groupID": bob1})
	f.ok("bob", "joinGroup", map[string]any{"groupID": id})
	if ids, _ := store.UserGroups(ctx, "bob"); len(ids) != 2 || !slices.Contains(ids, id) {
		t.Errorf("bob's groups after the join: %v", ids)
	}
}

func TestJoinGroup(t *testing.T) {
	f := memFixture(t)
	work := f.create("alice", Private, nil)
	pub := f.create("alice", Public, nil)
	closed := f.create("alice", Public, map[string]any{"joinOption": "DisableApply"})
	small := f.create("alice", Public, map[string]any{"maxMemberNum": 1})
	f.wantCode(CodeWorkJoin, "bob", "joinGroup", map[string]any{"groupID": work})
	f.wantCode(CodeGroupNotFound, "bob", "joinGroup", map[string]any{"groupID": "nope"})
	f.wantCode(CodeInvalidParam, "bob", "joinGroup", map[string]any{"groupID": ""})
	f.wantCode(CodeInvalidParam, "bob", "joinGroup", map[string]any{"groupID": pub, "type": "ChatRoom"})
	f.wantCode(CodeNoPermission, "bob", "joinGroup", map[string]any{"groupID": closed})
	f.wantCode(CodeGroupFull, "bob", "joinGroup", map[string]any{"groupID": small})
	f.wantCode(CodeAnonNotLive, "", "joinGroup", map[string]any{"groupID": pub})
	f.wantCode(CodeAnonNotLive, "", "joinGroup", map[string]any{"groupID": pub, "type": "AVChatRoom"})
	f.wantCode(CodeInvalidParam, "bob", "joinGroup", map[string]any{"groupID": pub, "applyMessage": strings.Repeat("a", 301)})

	r, events := f.ok("bob", "joinGroup", map[string]any{"groupID": pub})
	if r["status"] != JoinedSuccess || r["group"].(map[string]any)["memberNum"] != 2.0 {
		t.Errorf("join reply %v", r)
	}
	if len(events) != 2 || events[0].Kind != Subscribe || events[1].Kind != Deliver || !events[1].ToGroup {
		t.Fatalf("join events %+v", events)
	}
	tip := events[1].Message
	if tip.Sequence != 1 || tip.Type != GroupTipElem || !strings.Contains(string(tip.Payload), `"operationType":1`) {
		t.Errorf("join tip %+v %s", tip, tip.Payload)
	}
	r, events = f.ok("bob", "joinGroup", map[string]any{"groupID": pub})
	if r["status"] != AlreadyInGroup || len(events) != 0 {
		t.Errorf("second join %v %v", r, events)
	}
}

func TestJoinApplication(t *testing.T) {
	f := memFixture(t)
	id := f.create("alice", Public, map[string]any{"joinOption": "NeedPermission",
		"memberList": []any{map[string]any{"userID": "adm", "role": "Admin"}, map[string]any{"userID": "mem"}}})
	r, events := f.ok("bob", "joinGroup", map[string]any{"groupID": id, "applyMessage": "let me in"})
	if r["status"] != WaitAdminApproval {
		t.Errorf("status %v", r["status"])
	}
	got := map[string]bool{}
	for _, ev := range events {
		if ev.Message.NoticeType() != NoticeJoinRequest || !strings.Contains(string(ev.Message.Payload), "let me in") {
			t.Errorf("notice %s", ev.Message.Payload)
		}
		got[ev.UserIDs[0]] = true
	}
	if len(got) != 2 || !got["alice"] || !got["adm"] {
		t.Errorf("notice 1 went to %v, want alice and adm", got)
	}
	apps, _ := f.svc.store.Applications(context.Background(), id)
	if len(apps) != 1 || apps[0].Applicant != "bob" {
		t.Errorf("applications %+v", apps)
	}
	notices, _ := f.svc.store.Notices(context.Background(), "adm")
	if len(notices) != 2 || notices[0].NoticeType() != NoticeInvited || notices[1].NoticeType() != NoticeJoinRequest {
		t.Errorf("stored notices of adm: %d, want notice 7 then 1", len(notices))
	}
}

func TestQuitGroup(t *testing.T) {
	f := memFixture(t)
	pub := f.create("alice", Public, nil)
	work := f.create("alice", Private, map[string]any{"memberList": []any{map[string]any{"userID": "bob"}}})
	f.ok("bob", "joinGroup", map[string]any{"groupID": pub})
	f.wantCode(CodeNoPermission, "carol", "quitGroup", map[string]any{"groupID": pub})
	f.wantCode(CodeOwnerCannotQuit, "alice", "quitGroup", map[string]any{"groupID": pub})
	f.wantCode(CodeGroupNotFound, "bob", "quitGroup", map[string]any{"groupID": "nope"})
	f.wantCode(CodeInvalidParam, "bob", "quitGroup", map[string]any{})

	_, events := f.ok("bob", "quitGroup", map[string]any{"groupID": pub})
	if len(events) != 3 || events[0].Kind != Deliver || !events[0].ToGroup || events[0].UserIDs[0] != "bob" ||
		events[1].Kind != Unsubscribe || events[2].Message.NoticeType() != NoticeQuit {
		t.Fatalf("quit events %+v", events)
	}
	if events[0].Message.Sequence != 2 {
		t.Errorf("quit tip sequence %d, want 2", events[0].Message.Sequence)
	}
	groups, _ := f.svc.store.UserGroups(context.Background(), "bob")
	if len(groups) != 1 || groups[0] != work {
		t.Errorf("bob's groups %v", groups)
	}

	f.ok("alice", "quitGroup", map[string]any{"groupID": work})
	r, _ := f.ok("bob", "getGroupProfile", map[string]any{"groupID": work})
	if owner := r["group"].(map[string]any)["ownerID"]; owner != "" {
		t.Errorf("Work group owner after the owner quit: %q", owner)
	}
}

func TestSendMessage(t *testing.T) {
	f := memFixture(t)
	id := f.create("alice", Public, nil)
	f.ok("bob", "joinGroup", map[string]any{"groupID": id}) // tip 1
	text := func(s string) map[string]any {
		return map[string]any{"to": id, "conversationType": "GROUP", "type": "TIMTextElem", "payload": map[string]any{"text": s}}
	}
	for i, want := range []uint64{2, 3, 4} {
		r, events := f.ok([]string{"alice", "bob", "alice"}[i], "sendMessage", text("hi"))
		m := r["message"].(map[string]any)
		if uint64(m["sequence"].(float64)) != want || m["flow"] != "out" || m["status"] != "success" {
			t.Errorf("message %v, want sequence %d", m, want)
		}
		if len(events) != 1 || !events[0].Exclude || !events[0].ToGroup {
			t.Errorf("send events %+v", events)
		}
	}
	big := text(strings.Repeat("x", MaxMessageBodyBytes))
	tests := []struct {
		name string
		user string
		data map[string]any
		want int
	}{
		{"anonymous", "", text("x"), CodeNotLoggedIn},
		{"non-member", "carol", text("x"), CodeNoPermission},
		{"no group", "alice", map[string]any{"to": "nope", "type": "TIMTextElem", "payload": map[string]any{"text": "x"}}, CodeGroupNotFound},
		{"bad type", "alice", map[string]any{"to": id, "type": "TIMImageElem", "payload": map[string]any{}}, CodeInvalidParam},
		{"text missing", "alice", map[string]any{"to": id, "type": "TIMTextElem", "payload": map[string]any{}}, CodeInvalidParam},
		{"text not a string", "alice", map[string]any{"to": id, "type": "TIMTextElem", "payload": map[string]any{"text": 1}}, CodeInvalidParam},
		{"too big", "alice", big, CodeInvalidParam},
		{"bad priority", "alice", map[string]any{"to": id, "type": "TIMTextElem", "payload": map[string]any{"text": "x"}, "priority": "Urgent"}, CodeInvalidParam},
		{"bad conversation type", "alice", map[string]any{"to": id, "conversationType": "C2C", "type": "TIMTextElem", "payload": map[string]any{"text": "x"}}, CodeInvalidParam},
		{"bad ID", "alice", map[string]any{"to": id, "type": "TIMTextElem", "payload": map[string]any{"text": "x"}, "ID": "a b"}, CodeInvalidParam},
		{"bad param beats non-member", "carol", map[string]any{"to": id, "type": "TIMTextElem"}, CodeInvalidParam},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.t = t
			f.wantCode(tt.want, tt.user, "sendMessage", tt.data)
		})
	}
	f.t = t
	custom := map[string]any{"to": id, "type": "TIMCustomElem", "payload": map[string]any{"data": "d", "description": "desc", "extension": "e"}, "ID": "m-1"}
	r1, ev1 := f.ok("bob", "sendMessage", custom)
	r2, ev2 := f.ok("bob", "sendMessage", custom)
	if r1["message"].(map[string]any)["sequence"] != r2["message"].(map[string]any)["sequence"] || len(ev1) != 1 || len(ev2) != 0 {
		t.Errorf("idempotent resend: %v %v events %d %d", r1, r2, len(ev1), len(ev2))
	}
	r, _ := f.ok("alice", "getGroupList", nil)
	list := r["groupList"].([]any)
	last := list[0].(map[string]any)["lastMessage"].(map[string]any)
	if last["messageForShow"] != "desc" || last["fromAccount"] != "bob" || list[0].(map[string]any)["nextMessageSeq"] != 6.0 {
		t.Errorf("group list entry %v", list[0])
	}
}

func TestGetGroupProfile(t *testing.T) {
	f := memFixture(t)
	work := f.create("alice", Private, nil)
	pub := f.create("alice", Public, map[string]any{"groupCustomField": []any{map[string]any{"key": "a", "value": "1"}, map[string]any{"key": "b", "value": "2"}}})
	f.wantCode(CodeNoPermission, "bob", "getGroupProfile", map[string]any{"groupID": work})
	f.wantCode(CodeNotLoggedIn, "", "getGroupProfile", map[string]any{"groupID": pub})
	f.wantCode(CodeGroupNotFound, "bob", "getGroupProfile", map[string]any{"groupID": "nope"})
	r, _ := f.ok("bob", "getGroupProfile", map[string]any{"groupID": pub})
	g := r["group"].(map[string]any)
	for _, k := range []string{"selfInfo", "lastMessage", "nextMessageSeq", "groupCustomField"} {
		if _, ok := g[k]; ok {
			t.Errorf("non-member sees %s", k)
		}
	}
	r, _ = f.ok("alice", "getGroupProfile", map[string]any{"groupID": pub, "groupCustomFieldFilter": []string{"b"}})
	if cf := r["group"].(map[string]any)["groupCustomField"].([]any); len(cf) != 1 {
		t.Errorf("filtered custom fields %v", cf)
	}
	r, _ = f.ok("administrator", "getGroupProfile", map[string]any{"groupID": work})
	if _, ok := r["group"].(map[string]any)["selfInfo"]; !ok {
		t.Errorf("App admin gets the member view")
	}
	f.wantCode(CodeGroupNotFound, "bob", "searchGroupByID", map[string]any{"groupID": work})
	r, _ = f.ok("bob", "searchGroupByID", map[string]any{"groupID": pub})
	if r["group"].(map[string]any)["groupID"] != pub {
		t.Errorf("search %v", r)
	}
}

func TestUnknownOp(t *testing.T) {
	f := memFixture(t)
	f.wantCode(CodeUnknownOp, "alice", "fly", nil)
	f.wantCode(CodeUnknownOp, "", "fly", nil)
}
