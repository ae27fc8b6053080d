package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"chatd/groups"
)

// world is a set of logged-in clients and groups for the op tests: in the
// Public group pub, o is the owner, a an admin, m1 and m2 members; x is in
// no group; z is a member of another group only.
type world struct {
	*testEnv
	c              map[string]*client
	pub, work, mtg string
}

func newWorld(t *testing.T, store groups.Store) *world {
	w := &world{testEnv: newEnv(t, store), c: map[string]*client{}}
	for _, u := range []string{"o", "a", "m1", "m2", "x", "z", "administrator"} {
		w.c[u] = w.login(u)
	}
	w.pub = w.create("o", "Public", `{"userID":"a","role":"Admin"},{"userID":"m1"},{"userID":"m2"}`)
	w.work = w.create("o", "Private", `{"userID":"m1"}`)
	w.mtg = w.create("z", "ChatRoom", "")
	w.drain()
	return w
}

// create makes a group with a raw memberList and returns its ID.
func (w *world) create(owner, typ, members string) string {
	var data map[string]any
	_ = json.Unmarshal([]byte(`{"name":"g","type":"`+typ+`","memberList":[`+members+`]}`), &data)
	var r groupReply
	w.c[owner].mustOK("createGroup", data, &r)
	return r.Group.GroupID
}

// drain drops every push received so far, so later checks see only new
// ones.
func (w *world) drain() {
	for _, cl := range w.c {
		cl.mustOK("ping", nil) // pushes queued before the reply are in now
		for len(cl.pushes) > 0 {
			cl.pull(nil)
		}
		cl.msgBuf, cl.eventBuf = nil, nil
	}
}

// tipTo waits for a group tip at each named client and checks its type.
func (w *world) tipTo(t *testing.T, typ int, users ...string) {
	t.Helper()
	for _, u := range users {
		m := w.c[u].messages(1)[0]
		var p groups.TipPayload
		_ = json.Unmarshal(m.Payload, &p)
		if m.Type != groups.GroupTipElem || p.OperationType != typ {
			t.Errorf("%s: got %s %s, want tip %d", u, m.Type, m.Payload, typ)
		}
	}
}

// noticeTo waits for a system notice of typ at each named client.
func (w *world) noticeTo(t *testing.T, typ int, users ...string) {
	t.Helper()
	for _, u := range users {
		if got, m := w.c[u].notice(); got != typ {
			t.Errorf("%s: notice %d (%s), want %d", u, got, m.Payload, typ)
		}
	}
}

// quiet asserts that the named clients got nothing more.
func (w *world) quiet(users ...string) {
	for _, u := range users {
		w.c[u].quiet()
	}
}

func TestOpsOverTheWire(t *testing.T) {
	stores(t, func(t *testing.T, store groups.Store) {
		w := newWorld(t, store)
		c := w.c
		pub := w.pub

		// updateGroupProfile: tip 6 to every member, nobody else.
		c["a"].mustOK("updateGroupProfile", map[string]any{"groupID": pub, "notification": "hello"})
		w.tipTo(t, groups.TipProfileUpdated, "o", "a", "m1", "m2")
		w.quiet("x", "z", "administrator")

		// setGroupMemberRole: tip 4 to all, notice 9 to the target only.
		c["o"].mustOK("setGroupMemberRole", map[string]any{"groupID": pub, "userID": "m2", "role": "Admin"})
		w.tipTo(t, groups.TipSetAdmin, "o", "a", "m1", "m2")
		w.noticeTo(t, groups.NoticeSetAdmin, "m2")
		c["o"].mustOK("setGroupMemberRole", map[string]any{"groupID": pub, "userID": "m2", "role": "Member"})
		w.tipTo(t, groups.TipCancelAdmin, "o", "a", "m1", "m2")
		w.noticeTo(t, groups.NoticeCanceledAdmin, "m2")
		w.quiet("o", "a", "m1", "x", "z")

		// setGroupMemberMuteTime: tip 7; the muted member gets 10017.
		c["a"].mustOK("setGroupMemberMuteTime", map[string]any{"groupID": pub, "userID": "m2", "muteTime": 60})
		w.tipTo(t, groups.TipMemberUpdated, "o", "a", "m1", "m2")
		c["m2"].wantCode(groups.CodeMuted, "sendMessage", map[string]any{"to": pub, "type": "TIMTextElem", "payload": map[string]any{"text": "x"}})

		// deleteGroupMember: tip 3 to the rest and the kicked, notice 4 to
		// the kicked, nothing to outsiders; the kicked hears no more.
		c["a"].mustOK("deleteGroupMember", map[string]any{"groupID": pub, "userIDList": []string{"m2"}, "reason": "bye"})
		w.tipTo(t, groups.TipKick, "o", "a", "m1", "m2")
		_, n := c["m2"].notice()
		if !strings.Contains(string(n.Payload), `"handleMessage":"bye"`) || n.NoticeType() != groups.NoticeKicked {
			t.Errorf("kick notice %s", n.Payload)
		}
		w.quiet("x", "z")
		c["o"].mustOK("sendMessage", map[string]any{"to": pub, "type": "TIMTextElem", "payload": map[string]any{"text": "after"}})
		c["a"].messages(1)
		c["m1"].messages(1)
		w.quiet("m2")

		// addGroupMember by the App admin: tip 1 to all including the
		// added, notice 7 to the added.
		c["administrator"].mustOK("addGroupMember", map[string]any{"groupID": pub, "userIDList": []string{"x"}})
		w.tipTo(t, groups.TipJoin, "o", "a", "m1", "x")
		w.noticeTo(t, groups.NoticeInvited, "x")
		w.quiet("m2", "z", "administrator")

		// changeGroupOwner: tip 6 to all.
		c["o"].mustOK("changeGroupOwner", map[string]any{"groupID": pub, "newOwnerID": "a"})
		w.tipTo(t, groups.TipProfileUpdated, "o", "a", "m1", "x")

		// Applications: notice 1 to owner and admins; Reject → notice 3;
		// Agree → notice 2 and tip 1.
		c["a"].mustOK("updateGroupProfile", map[string]any{"groupID": pub, "joinOption": "NeedPermission"})
		w.tipTo(t, groups.TipProfileUpdated, "o", "a", "m1", "x")
		c["z"].mustOK("joinGroup", map[string]any{"groupID": pub, "applyMessage": "me?"})
		w.noticeTo(t, groups.NoticeJoinRequest, "a")
		w.quiet("o", "m1", "x")
		c["a"].mustOK("handleGroupApplication", map[string]any{"handleAction": "Reject", "groupID": pub, "applicant": "z"})
		w.noticeTo(t, groups.NoticeJoinRejected, "z")
		c["z"].mustOK("joinGroup", map[string]any{"groupID": pub})
		_, req := c["a"].notice()
		c["a"].mustOK("handleGroupApplication", map[string]any{"handleAction": "Agree", "message": req})
		w.tipTo(t, groups.TipJoin, "o", "a", "m1", "x", "z")
		w.noticeTo(t, groups.NoticeJoinAccepted, "z")
		c["a"].wantCode(groups.CodeApplicationHandled, "handleGroupApplication", map[string]any{"handleAction": "Agree", "groupID": pub, "applicant": "z"})

		// setMessageRemindType Discard: chat messages stop, tips do not,
		// history still has them.
		c["m1"].mustOK("setMessageRemindType", map[string]any{"groupID": pub, "messageRemindType": "Discard"})
		var sent struct{ Message groups.Message }
		c["a"].mustOK("sendMessage", map[string]any{"to": pub, "type": "TIMTextElem", "payload": map[string]any{"text": "hidden"}}, &sent)
		for _, u := range []string{"o", "x", "z"} {
			c[u].messages(1)
		}
		w.quiet("m1")
		c["a"].mustOK("updateGroupProfile", map[string]any{"groupID": pub, "introduction": "tips still come"})
		w.tipTo(t, groups.TipProfileUpdated, "o", "a", "m1", "x", "z")
		var hist struct{ MessageList []groups.Message }
		c["m1"].mustOK("getMessageList", map[string]any{"conversationID": "GROUP" + pub}, &hist)
		found := false
		for _, m := range hist.MessageList {
			found = found || m.Sequence == sent.Message.Sequence
		}
		if !found {
			t.Errorf("Discard member does not find the message in history")
		}

		// Name cards, custom fields, member list and profiles.
		c["m1"].mustOK("setGroupMemberNameCard", map[string]any{"groupID": pub, "nameCard": "Em"})
		c["m1"].mustOK("setGroupMemberCustomField", map[string]any{"groupID": pub, "memberCustomField": []any{map[string]any{"key": "k", "value": "v"}}})
		c["m1"].mustOK("updateMyProfile", map[string]any{"nick": "Emmy"})
		var ml struct{ MemberList []groups.MemberView }
		c["x"].mustOK("getGroupMemberProfile", map[string]any{"groupID": pub, "userIDList": []string{"m1"}}, &ml)
		if len(ml.MemberList) != 1 || ml.MemberList[0].NameCard != "Em" || ml.MemberList[0].Nick != "Emmy" || len(ml.MemberList[0].MemberCustomField) != 1 {
			t.Errorf("member profile %+v", ml)
		}
		c["x"].mustOK("getGroupMemberList", map[string]any{"groupID": pub}, &ml)
		if len(ml.MemberList) != 5 {
			t.Errorf("member list %d entries, want 5", len(ml.MemberList))
		}
		var apps struct{ ApplicationList []groups.Application }
		c["a"].mustOK("getGroupApplicationList", nil, &apps)
		// An admin who was offline still finds the join requests in its
		// @TIM#SYSTEM conversation.
		var sys struct {
			MessageList []groups.Message
			IsCompleted bool
		}
		c["a"].mustOK("getMessageList", map[string]any{"conversationID": "@TIM#SYSTEM"}, &sys)
		requests := 0
		for _, m := range sys.MessageList {
			if m.NoticeType() == groups.NoticeJoinRequest {
				requests++
			}
		}
		if requests != 2 || !sys.IsCompleted {
			t.Errorf("admin's system conversation holds %d join requests (want 2): %+v", requests, sys)
		}
		c["z"].mustOK("searchGroupByID", map[string]any{"groupID": pub})
		c["z"].mustOK("getMyProfile", nil)
		c["x"].mustOK("syncMessages", map[string]any{"groupID": pub, "afterSequence": 0})
		var cnt struct{ MemberCount int }
		c["x"].mustOK("getGroupOnlineMemberCount", map[string]any{"groupID": pub}, &cnt)

		// quitGroup of a Work group by its owner; dismissGroup: notice 5.
		c["o"].mustOK("quitGroup", map[string]any{"groupID": w.work})
		w.tipTo(t, groups.TipQuit, "o", "m1")
		w.noticeTo(t, groups.NoticeQuit, "o")
		c["administrator"].mustOK("dismissGroup", map[string]any{"groupID": w.work})
		w.noticeTo(t, groups.NoticeDismissed, "m1")
		w.quiet("o", "a", "x", "z")
		c["a"].mustOK("dismissGroup", map[string]any{"groupID": pub})
		w.noticeTo(t, groups.NoticeDismissed, "o", "a", "m1", "x", "z")
		w.quiet("m2")
		c["o"].wantCode(groups.CodeGroupNotFound, "getGroupProfile", map[string]any{"groupID": pub})
	})
}

// TestErrorsOverTheWire: every error a SPEC.md §4 row names, over the
// WebSocket, and the §3 precedence where two rules break at once.
func TestErrorsOverTheWire(t *testing.T) {
	w := newWorld(t, groups.NewMemoryStore())
	anon := w.dial("anon")
	pub, work, mtg := w.pub, w.work, w.mtg
	var live groupReply
	w.c["o"].mustOK("createGroup", map[string]any{"name": "live", "type": "AVChatRoom"}, &live)
	w.c["a"].mustOK("createGroup", map[string]any{"name": "mine", "type": "Public", "groupID": "custom-taken"})
	lv := live.Group.GroupID
	var full groupReply
	w.c["o"].mustOK("createGroup", map[string]any{"name": "full", "type": "Public", "maxMemberNum": 1}, &full)
	text := func(to string) map[string]any {
		return map[string]any{"to": to, "type": "TIMTextElem", "payload": map[string]any{"text": "x"}}
	}
	tests := []struct {
		user string
		op   string
		data map[string]any
		code int
	}{
		{"", "createGroup", map[string]any{"name": "g"}, groups.CodeNotLoggedIn},
		{"", "getGroupList", nil, groups.CodeNotLoggedIn},
		{"", "getGroupProfile", map[string]any{"groupID": pub}, groups.CodeNotLoggedIn},
		{"", "joinGroup", map[string]any{"groupID": pub}, groups.CodeAnonNotLive},
		{"", "sendMessage", text(pub), groups.CodeNotLoggedIn},
		{"o", "createGroup", map[string]any{"name": "g", "groupID": "custom-taken"}, groups.CodeGroupIDTaken},
		{"a", "createGroup", map[string]any{"name": "g", "groupID": "custom-taken"}, groups.CodeGroupIDOwned},
		{"a", "createGroup", map[string]any{"name": "g", "groupID": "@TGS#x"}, groups.CodeInvalidGroupID},
		{"o", "createGroup", map[string]any{"name": "g", "type": "AVChatRoom", "memberList": []any{map[string]any{"userID": "m1"}}}, groups.CodeNoPermission},
		{"o", "createGroup", map[string]any{"name": "g", "type": "Private", "memberList": []any{map[string]any{"userID": "m1", "role": "Admin"}}}, groups.CodeInvalidParam},
		{"o", "createGroup", map[string]any{"name": "g", "type": "Public", "memberList": []any{map[string]any{"userID": "m1", "role": "Boss"}}}, groups.CodeRoleInvalid},
		{"x", "getGroupProfile", map[string]any{"groupID": work}, groups.CodeNoPermission},
		{"x", "getGroupProfile", map[string]any{"groupID": "nope"}, groups.CodeGroupNotFound},
		{"x", "searchGroupByID", map[string]any{"groupID": work}, groups.CodeGroupNotFound},
		{"m1", "updateGroupProfile", map[string]any{"groupID": pub, "name": "n"}, groups.CodeNoPermission},
		{"a", "updateGroupProfile", map[string]any{"groupID": pub, "muteAllMembers": true}, groups.CodeNoPermission},
		{"o", "updateGroupProfile", map[string]any{"groupID": work, "muteAllMembers": true}, groups.CodeNoPermission},
		{"o", "updateGroupProfile", map[string]any{"groupID": pub, "maxMemberNum": 2}, groups.CodeInvalidParam},
		{"o", "updateGroupProfile", map[string]any{"groupID": mtg, "name": "n"}, groups.CodeNoPermission},
		{"o", "dismissGroup", map[string]any{"groupID": work}, groups.CodeDismissWork},
		{"x", "dismissGroup", map[string]any{"groupID": work}, groups.CodeNoPermission},
		{"x", "joinGroup", map[string]any{"groupID": work}, groups.CodeWorkJoin},
		{"x", "joinGroup", map[string]any{"groupID": pub, "type": "ChatRoom"}, groups.CodeInvalidParam},
		{"o", "quitGroup", map[string]any{"groupID": pub}, groups.CodeOwnerCannotQuit},
		{"x", "joinGroup", map[string]any{"groupID": full.Group.GroupID}, groups.CodeGroupFull},
		{"x", "quitGroup", map[string]any{"groupID": pub}, groups.CodeNoPermission},
		{"o", "changeGroupOwner", map[string]any{"groupID": pub, "newOwnerID": "o"}, groups.CodeChangeOwnerSelf},
		{"a", "changeGroupOwner", map[string]any{"groupID": pub, "newOwnerID": "m1"}, groups.CodeNoPermission},
		{"o", "changeGroupOwner", map[string]any{"groupID": pub, "newOwnerID": "x"}, groups.CodeNotMember},
		{"o", "changeGroupOwner", map[string]any{"groupID": lv, "newOwnerID": "x"}, groups.CodeLiveChangeOwner},
		{"m1", "handleGroupApplication", map[string]any{"handleAction": "Agree", "groupID": pub, "applicant": "x"}, groups.CodeNoPermission},
		{"o", "handleGroupApplication", map[string]any{"handleAction": "Agree", "groupID": pub, "applicant": "x"}, groups.CodeApplicationHandled},
		{"m1", "setMessageRemindType", map[string]any{"groupID": pub, "messageRemindType": "Loud"}, groups.CodeInvalidParam},
		{"x", "getGroupMemberList", map[string]any{"groupID": pub}, groups.CodeNoPermission},
		{"x", "getGroupMemberProfile", map[string]any{"groupID": pub, "userIDList": []string{"o"}}, groups.CodeNoPermission},
		{"o", "addGroupMember", map[string]any{"groupID": pub, "userIDList": []string{"x"}}, groups.CodeNoPermission},
		{"o", "addGroupMember", map[string]any{"groupID": lv, "userIDList": []string{"x"}}, groups.CodeLiveAddMember},
		{"o", "addGroupMember", map[string]any{"groupID": work, "userIDList": []string{}}, groups.CodeInvalidParam},
		{"a", "deleteGroupMember", map[string]any{"groupID": pub, "userIDList": []string{"a"}}, groups.CodeNoPermission},
		{"a", "deleteGroupMember", map[string]any{"groupID": pub, "userIDList": []string{"o"}}, groups.CodeNoPermission},
		{"o", "deleteGroupMember", map[string]any{"groupID": lv, "userIDList": []string{"x"}}, groups.CodeLiveKick},
		{"a", "setGroupMemberMuteTime", map[string]any{"groupID": pub, "userID": "a", "muteTime": 5}, groups.CodeMuteSelf},
		{"a", "setGroupMemberMuteTime", map[string]any{"groupID": pub, "userID": "x", "muteTime": 5}, groups.CodeNotMember},
		{"o", "setGroupMemberMuteTime", map[string]any{"groupID": work, "userID": "m1", "muteTime": 5}, groups.CodeNoPermission},
		{"o", "setGroupMemberMuteTime", map[string]any{"groupID": pub, "userID": "m1", "muteTime": -1}, groups.CodeInvalidParam},
		{"o", "setGroupMemberRole", map[string]any{"groupID": pub, "userID": "m1", "role": "Owner"}, groups.CodeRoleInvalid},
		{"o", "setGroupMemberRole", map[string]any{"groupID": pub, "userID": "o", "role": "Member"}, groups.CodeRoleSelf},
		{"a", "setGroupMemberRole", map[string]any{"groupID": pub, "userID": "m1", "role": "Admin"}, groups.CodeRoleNotOwner},
		{"o", "setGroupMemberRole", map[string]any{"groupID": pub, "userID": "x", "role": "Admin"}, groups.CodeNotMember},
		{"o", "setGroupMemberRole", map[string]any{"groupID": work, "userID": "m1", "role": "Admin"}, groups.CodeRoleType},
		{"m1", "setGroupMemberNameCard", map[string]any{"groupID": pub, "userID": "m2", "nameCard": "n"}, groups.CodeNoPermission},
		{"m1", "setGroupMemberNameCard", map[string]any{"groupID": pub, "nameCard": strings.Repeat("n", 51)}, groups.CodeInvalidParam},
		{"m1", "setGroupMemberCustomField", map[string]any{"groupID": pub, "userID": "a", "memberCustomField": []any{}}, groups.CodeNoPermission},
		{"m1", "updateMyProfile", map[string]any{"avatar": strings.Repeat("a", 501)}, groups.CodeInvalidParam},
		{"x", "sendMessage", text(pub), groups.CodeNoPermission},
		{"o", "sendMessage", map[string]any{"to": pub, "type": "TIMTextElem", "payload": map[string]any{"text": strings.Repeat("x", 12300)}}, groups.CodeInvalidParam},
		{"x", "getMessageList", map[string]any{"conversationID": "GROUP" + pub}, groups.CodeNoPermission},
		{"x", "syncMessages", map[string]any{"groupID": pub}, groups.CodeNoPermission},
		// Precedence (SPEC.md §3): the first broken rule decides.
		{"", "deleteGroupMember", map[string]any{"groupID": "nope", "userIDList": []string{}}, groups.CodeNotLoggedIn},   // 1 before 2
		{"x", "deleteGroupMember", map[string]any{"groupID": "nope", "userIDList": []string{}}, groups.CodeInvalidParam}, // 2 before 3
		{"x", "setGroupMemberRole", map[string]any{"groupID": "nope", "userID": "m1", "role": "Boss"}, groups.CodeRoleInvalid},
		{"x", "setGroupMemberRole", map[string]any{"groupID": "nope", "userID": "m1", "role": "Admin"}, groups.CodeGroupNotFound}, // 3 before 4
		{"x", "setGroupMemberRole", map[string]any{"groupID": work, "userID": "m1", "role": "Admin"}, groups.CodeNoPermission},    // 4 before 5
		{"m1", "setGroupMemberRole", map[string]any{"groupID": work, "userID": "m1", "role": "Admin"}, groups.CodeRoleType},       // 5 before 6
		{"a", "setGroupMemberRole", map[string]any{"groupID": pub, "userID": "a", "role": "Member"}, groups.CodeRoleSelf},         // 6 before 7
		{"m1", "setGroupMemberRole", map[string]any{"groupID": pub, "userID": "x", "role": "Admin"}, groups.CodeRoleNotOwner},     // 7 before 8
		{"a", "setGroupMemberMuteTime", map[string]any{"groupID": pub, "userID": "ghost", "muteTime": 5}, groups.CodeNotMember},   // 8 before 9
		{"a", "deleteGroupMember", map[string]any{"groupID": pub, "userIDList": []string{"o"}}, groups.CodeNoPermission},          // 9
		{"m1", "quitGroup", map[string]any{"groupID": lv}, groups.CodeNoPermission},                                               // not in the live room
	}
	for _, tt := range tests {
		cl := anon
		if tt.user != "" {
			cl = w.c[tt.user]
		}
		if f := cl.call(tt.op, tt.data); f.Code != tt.code || f.Message == "" {
			t.Errorf("%s %s %v: code %d (%s), want %d", tt.user, tt.op, tt.data, f.Code, f.Message, tt.code)
		}
	}
}

// failingStore is a Store that fails every call while fail is set, as an
// unreachable Redis does.
type failingStore struct {
	groups.Store
	fail atomic.Bool
}

var errDown = errors.New("store unreachable")

func (f *failingStore) Group(ctx context.Context, id string) (*groups.Group, error) {
	if f.fail.Load() {
		return nil, errDown
	}
	return f.Store.Group(ctx, id)
}

func (f *failingStore) Read(ctx context.Context, id string, members, profiles []string) (*groups.Snapshot, error) {
	if f.fail.Load() {
		return nil, errDown
	}
	return f.Store.Read(ctx, id, members, profiles)
}

func (f *failingStore) UserGroups(ctx context.Context, u string) ([]string, error) {
	if f.fail.Load() {
		return nil, errDown
	}
	return f.Store.UserGroups(ctx, u)
}

func (f *failingStore) Ping(ctx context.Context) error {
	if f.fail.Load() {
		return errDown
	}
	return f.Store.Ping(ctx)
}

// TestStoreDown: with the store failing, ops answer 10002, the session
// stays open, /readyz is 503; when it is back everything works.
func TestStoreDown(t *testing.T) {
	st := &failingStore{Store: groups.NewMemoryStore()}
	e := newEnv(t, st)
	cl := e.login("alice")
	var r groupReply
	cl.mustOK("createGroup", map[string]any{"name": "g", "type": "Public"}, &r)
	st.fail.Store(true)
	for _, op := range []string{"getGroupProfile", "getGroupList", "sendMessage"} {
		f := cl.call(op, map[string]any{"groupID": r.Group.GroupID, "to": r.Group.GroupID, "type": "TIMTextElem", "payload": map[string]any{"text": "x"}})
		if f.Code != groups.CodeInternal || f.Message == "" {
			t.Errorf("%s with the store down: %+v", op, f)
		}
	}
	resp, err := http.Get(e.hts.URL + "/readyz")
	if err != nil || resp.StatusCode != 503 {
		t.Errorf("/readyz with the store down: %v %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	st.fail.Store(false)
	cl.mustOK("getGroupProfile", map[string]any{"groupID": r.Group.GroupID})
}

// TestStoreUnreachableRedis: a Redis that does not answer gives 10002.
func TestStoreUnreachableRedis(t *testing.T) {
	e := newEnv(t, unreachableRedis(t))
	cl := e.dial("c")
	f := cl.call("login", map[string]any{"userID": "alice", "userSig": token(t, "alice", 3600e9)})
	if f.Code != groups.CodeInternal {
		t.Errorf("login with Redis unreachable: %+v", f)
	}
	cl.mustOK("ping", nil)
}
