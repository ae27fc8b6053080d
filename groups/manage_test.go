package groups

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// members is a createGroup memberList of ordinary members.
func members(ids ...string) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = map[string]any{"userID": id}
	}
	return out
}

// withAdmin is a Public group: owner o, admin a, members m1 m2.
func withAdmin(f *fixture) string {
	return f.create("o", Public, map[string]any{"memberList": []any{
		map[string]any{"userID": "a", "role": "Admin"}, map[string]any{"userID": "m1"}, map[string]any{"userID": "m2"}}})
}

func tipOf(t *testing.T, events []Event) *Message {
	t.Helper()
	for _, ev := range events {
		if ev.Kind == Deliver && ev.Message.Type == GroupTipElem {
			return ev.Message
		}
	}
	t.Fatalf("no tip in %+v", events)
	return nil
}

func noticesTo(events []Event) map[string]int {
	out := map[string]int{}
	for _, ev := range events {
		if ev.Kind == Deliver && ev.Message.Type == SystemNoticeElem {
			out[ev.Message.To] = ev.Message.NoticeType()
		}
	}
	return out
}

func TestUpdateGroupProfile(t *testing.T) {
	f := memFixture(t)
	pub := withAdmin(f)
	work := f.create("o", Private, map[string]any{"memberList": members("m1")})
	live := f.create("o", AVChatRoom, nil)
	upd := func(id string, kv ...any) map[string]any {
		d := map[string]any{"groupID": id}
		for i := 0; i < len(kv); i += 2 {
			d[kv[i].(string)] = kv[i+1]
		}
		return d
	}
	f.wantCode(CodeNoPermission, "m1", "updateGroupProfile", upd(pub, "name", "x"))
	f.wantCode(CodeNoPermission, "x", "updateGroupProfile", upd(pub, "name", "x"))
	f.wantCode(CodeNoPermission, "a", "updateGroupProfile", upd(pub, "muteAllMembers", true))
	f.wantCode(CodeNoPermission, "o", "updateGroupProfile", upd(work, "muteAllMembers", true))
	f.wantCode(CodeInvalidParam, "m1", "updateGroupProfile", upd(work, "joinOption", "FreeAccess"))
	f.wantCode(CodeInvalidParam, "o", "updateGroupProfile", upd(pub, "maxMemberNum", 3))
	f.wantCode(CodeInvalidParam, "o", "updateGroupProfile", upd(live, "maxMemberNum", 3))
	f.wantCode(CodeInvalidParam, "o", "updateGroupProfile", upd(pub, "name", ""))
	f.wantCode(CodeInvalidParam, "x", "updateGroupProfile", upd("nope", "name", strings.Repeat("n", 31)))
	f.wantCode(CodeGroupNotFound, "o", "updateGroupProfile", upd("nope", "name", "x"))

	r, events := f.ok("m1", "updateGroupProfile", upd(work, "name", "renamed", "notification", "hi"))
	if r["group"].(map[string]any)["name"] != "renamed" || r["group"].(map[string]any)["infoSequence"] != 2.0 {
		t.Errorf("Work update reply %v", r)
	}
	tip := tipOf(t, events)
	if !strings.Contains(string(tip.Payload), `"newGroupProfile":{"name":"renamed","notification":"hi"}`) {
		t.Errorf("tip 6 payload %s", tip.Payload)
	}
	_, events = f.ok("a", "updateGroupProfile", upd(pub, "introduction", "x", "groupCustomField", []any{map[string]any{"key": "k", "value": "v"}}))
	if tip := tipOf(t, events); !strings.Contains(string(tip.Payload), `"groupCustomField":[{"key":"k","value":"v"}]`) {
		t.Errorf("custom field tip %s", tip.Payload)
	}
	_, events = f.ok("a", "updateGroupProfile", upd(pub, "introduction", "x"))
	if len(events) != 0 {
		t.Errorf("no-op update emitted %v", events)
	}
	_, events = f.ok("o", "updateGroupProfile", upd(pub, "muteAllMembers", true))
	if tip := tipOf(t, events); !strings.Contains(string(tip.Payload), `"muteAllMembers":true`) {
		t.Errorf("mute-all tip %s", tip.Payload)
	}
	f.ok("administrator", "updateGroupProfile", upd(pub, "muteAllMembers", false))
	f.ok("o", "updateGroupProfile", upd(live, "name", "live!"))
	f.ok("a", "updateGroupProfile", upd(pub, "groupCustomField", []any{map[string]any{"key": "k", "value": ""}}))
	r, _ = f.ok("o", "getGroupProfile", map[string]any{"groupID": pub})
	if cf := r["group"].(map[string]any)["groupCustomField"].([]any); len(cf) != 0 {
		t.Errorf("an empty value deletes the key: %v", cf)
	}
}

func TestDismissGroup(t *testing.T) {
	f := memFixture(t)
	pub := withAdmin(f)
	work := f.create("o", Private, map[string]any{"memberList": members("m1")})
	f.wantCode(CodeDismissWork, "o", "dismissGroup", map[string]any{"groupID": work})
	f.wantCode(CodeNoPermission, "x", "dismissGroup", map[string]any{"groupID": work})
	f.wantCode(CodeNoPermission, "a", "dismissGroup", map[string]any{"groupID": pub})
	_, events := f.ok("administrator", "dismissGroup", map[string]any{"groupID": work})
	if n := noticesTo(events); len(n) != 2 || n["o"] != NoticeDismissed || n["m1"] != NoticeDismissed {
		t.Errorf("dismiss notices %v", n)
	}
	_, events = f.ok("o", "dismissGroup", map[string]any{"groupID": pub})
	if n := noticesTo(events); len(n) != 4 {
		t.Errorf("dismiss notices %v", n)
	}
	if events[len(events)-1].Kind != DropGroup {
		t.Errorf("last event %+v, want DropGroup", events[len(events)-1])
	}
	f.wantCode(CodeGroupNotFound, "o", "getGroupProfile", map[string]any{"groupID": pub})
	if gs, _ := f.svc.store.UserGroups(context.Background(), "m1"); len(gs) != 0 {
		t.Errorf("m1 still has groups %v", gs)
	}
	// The ID may be reused and the sequence continues.
	id := f.create("o", Public, map[string]any{"groupID": "reuse"})
	f.ok("o", "sendMessage", map[string]any{"to": id, "type": "TIMTextElem", "payload": map[string]any{"text": "1"}})
	f.ok("o", "dismissGroup", map[string]any{"groupID": id})
	f.create("o", Public, map[string]any{"groupID": "reuse"})
	r, _ := f.ok("o", "sendMessage", map[string]any{"to": id, "type": "TIMTextElem", "payload": map[string]any{"text": "2"}})
	if seq := r["message"].(map[string]any)["sequence"]; seq != 2.0 {
		t.Errorf("sequence after reuse %v, want 2", seq)
	}
}

func TestChangeGroupOwner(t *testing.T) {
	f := memFixture(t)
	pub := withAdmin(f)
	live := f.create("o", AVChatRoom, nil)
	f.wantCode(CodeChangeOwnerSelf, "o", "changeGroupOwner", map[string]any{"groupID": pub, "newOwnerID": "o"})
	f.wantCode(CodeNoPermission, "a", "changeGroupOwner", map[string]any{"groupID": pub, "newOwnerID": "m1"})
	f.wantCode(CodeNotMember, "o", "changeGroupOwner", map[string]any{"groupID": pub, "newOwnerID": "x"})
	f.wantCode(CodeLiveChangeOwner, "o", "changeGroupOwner", map[string]any{"groupID": live, "newOwnerID": "x"})
	f.wantCode(CodeInvalidParam, "o", "changeGroupOwner", map[string]any{"groupID": pub})
	f.ok("o", "setGroupMemberMuteTime", map[string]any{"groupID": pub, "userID": "m1", "muteTime": 600})
	r, events := f.ok("o", "changeGroupOwner", map[string]any{"groupID": pub, "newOwnerID": "m1"})
	if g := r["group"].(map[string]any); g["ownerID"] != "m1" || g["selfInfo"].(map[string]any)["role"] != "Member" {
		t.Errorf("reply %v", g)
	}
	if tip := tipOf(t, events); !strings.Contains(string(tip.Payload), `"newGroupProfile":{"ownerID":"m1"}`) {
		t.Errorf("tip %s", tip.Payload)
	}
	ms, _ := f.svc.store.Members(context.Background(), pub, []string{"o", "m1"})
	if ms["o"].Role != RoleMember || ms["m1"].Role != RoleOwner || ms["m1"].MuteUntil != 0 {
		t.Errorf("roles after transfer: %+v %+v", ms["o"], ms["m1"])
	}
	f.ok("o", "quitGroup", map[string]any{"groupID": pub}) // no longer the owner
}

func TestApplications(t *testing.T) {
	f := memFixture(t)
	pub := f.create("o", Public, map[string]any{"joinOption": "NeedPermission", "maxMemberNum": 5,
		"memberList": []any{map[string]any{"userID": "a", "role": "Admin"}, map[string]any{"userID": "m1"}}})
	f.ok("u1", "joinGroup", map[string]any{"groupID": pub, "applyMessage": "one"})
	f.ok("u2", "joinGroup", map[string]any{"groupID": pub})
	f.ok("u3", "joinGroup", map[string]any{"groupID": pub})
	r, _ := f.ok("a", "getGroupApplicationList", nil)
	if l := r["applicationList"].([]any); len(l) != 3 || l[0].(map[string]any)["applyMessage"] != "one" {
		t.Errorf("application list %v", l)
	}
	if r, _ := f.ok("m1", "getGroupApplicationList", nil); len(r["applicationList"].([]any)) != 0 {
		t.Errorf("a member sees applications")
	}
	handle := func(action, applicant string) map[string]any {
		return map[string]any{"handleAction": action, "groupID": pub, "applicant": applicant}
	}
	f.wantCode(CodeNoPermission, "m1", "handleGroupApplication", handle("Agree", "u1"))
	f.wantCode(CodeInvalidParam, "a", "handleGroupApplication", handle("Maybe", "u1"))
	f.wantCode(CodeApplicationHandled, "a", "handleGroupApplication", handle("Agree", "nobody"))
	_, events := f.ok("a", "handleGroupApplication", handle("Agree", "u1"))
	if tip := tipOf(t, events); !strings.Contains(string(tip.Payload), `"operatorID":"a","operationType":1,"userIDList":["u1"]`) {
		t.Errorf("approval tip %s", tip.Payload)
	}
	if n := noticesTo(events); n["u1"] != NoticeJoinAccepted {
		t.Errorf("approval notices %v", n)
	}
	f.wantCode(CodeApplicationHandled, "o", "handleGroupApplication", handle("Agree", "u1"))
	_, events = f.ok("o", "handleGroupApplication", handle("Reject", "u2"))
	if n := noticesTo(events); n["u2"] != NoticeJoinRejected || len(events) != 1 {
		t.Errorf("reject events %+v", events)
	}
	// Fill the group: approving u3 into a full group leaves it pending.
	f.ok("x", "createGroup", map[string]any{"name": "other"})
	f.svc.store.(*MemoryStore).mu.Lock()
	g := f.svc.store.(*MemoryStore).groups[pub]
	g.members["filler"] = &Member{UserID: "filler", Role: RoleMember}
	g.version++
	f.svc.store.(*MemoryStore).mu.Unlock()
	f.wantCode(CodeGroupFull, "o", "handleGroupApplication", handle("Agree", "u3"))
	if apps, _ := f.svc.store.Applications(context.Background(), pub); len(apps) != 1 {
		t.Errorf("application left pending: %v", apps)
	}
	// Agree with the notice message itself.
	notices, _ := f.svc.store.Notices(context.Background(), "o")
	last := notices[len(notices)-1]
	f.ok("o", "deleteGroupMember", map[string]any{"groupID": pub, "userIDList": []string{"filler"}})
	f.ok("o", "handleGroupApplication", map[string]any{"handleAction": "Agree", "message": last})
	// Applications expire after 7 days.
	f.ok("o", "deleteGroupMember", map[string]any{"groupID": pub, "userIDList": []string{"u3"}})
	f.ok("u9", "joinGroup", map[string]any{"groupID": pub})
	f.now = f.now.Add(ApplicationMaxAge + time.Minute)
	f.wantCode(CodeApplicationHandled, "o", "handleGroupApplication", handle("Agree", "u9"))
}

func TestKickMuteRole(t *testing.T) {
	f := memFixture(t)
	pub := withAdmin(f)
	work := f.create("o", Private, map[string]any{"memberList": members("m1", "m2")})
	del := func(id string, users ...string) map[string]any {
		return map[string]any{"groupID": id, "userIDList": users, "reason": "bye"}
	}
	f.wantCode(CodeNoPermission, "o", "deleteGroupMember", del(pub, "o"))
	f.wantCode(CodeNoPermission, "a", "deleteGroupMember", del(pub, "a", "m1"))
	f.wantCode(CodeNoPermission, "a", "deleteGroupMember", del(pub, "o"))
	f.wantCode(CodeNoPermission, "m1", "deleteGroupMember", del(pub, "m2"))
	f.wantCode(CodeNoPermission, "m1", "deleteGroupMember", del(work, "m2"))
	f.wantCode(CodeInvalidParam, "o", "deleteGroupMember", del(pub))
	f.wantCode(CodeNoPermission, "a", "deleteGroupMember", del(pub, "m1", "o")) // whole call fails
	r, events := f.ok("a", "deleteGroupMember", del(pub, "m1", "ghost"))
	if l := r["userIDList"].([]any); len(l) != 1 || l[0] != "m1" {
		t.Errorf("removed %v", l)
	}
	tip := tipOf(t, events)
	if !strings.Contains(string(tip.Payload), `"operationType":3,"userIDList":["m1"]`) {
		t.Errorf("kick tip %s", tip.Payload)
	}
	if n := noticesTo(events); n["m1"] != NoticeKicked || len(n) != 1 {
		t.Errorf("kick notices %v", n)
	}
	if r, events := f.ok("a", "deleteGroupMember", del(pub, "ghost")); len(r["userIDList"].([]any)) != 0 || len(events) != 0 {
		t.Errorf("nobody to remove: %v %v", r, events)
	}

	mute := func(user string, secs int) map[string]any {
		return map[string]any{"groupID": pub, "userID": user, "muteTime": secs}
	}
	f.wantCode(CodeMuteSelf, "a", "setGroupMemberMuteTime", mute("a", 60))
	f.wantCode(CodeNoPermission, "a", "setGroupMemberMuteTime", mute("o", 60))
	f.wantCode(CodeNoPermission, "m2", "setGroupMemberMuteTime", mute("a", 60))
	f.wantCode(CodeNotMember, "a", "setGroupMemberMuteTime", mute("ghost", 60))
	f.wantCode(CodeInvalidParam, "a", "setGroupMemberMuteTime", mute("m2", -1))
	f.wantCode(CodeNoPermission, "o", "setGroupMemberMuteTime", map[string]any{"groupID": work, "userID": "m1", "muteTime": 5})
	_, events = f.ok("a", "setGroupMemberMuteTime", mute("m2", 60))
	if tip := tipOf(t, events); !strings.Contains(string(tip.Payload), `"memberList":[{"userID":"m2","muteTime":60}]`) {
		t.Errorf("mute tip %s", tip.Payload)
	}
	text := map[string]any{"to": pub, "type": "TIMTextElem", "payload": map[string]any{"text": "x"}}
	f.wantCode(CodeMuted, "m2", "sendMessage", text)
	// A mute survives quitting and rejoining.
	f.ok("m2", "quitGroup", map[string]any{"groupID": pub})
	f.ok("m2", "joinGroup", map[string]any{"groupID": pub})
	f.wantCode(CodeMuted, "m2", "sendMessage", text)
	f.now = f.now.Add(61 * time.Second)
	f.ok("m2", "sendMessage", text)

	role := func(user, r string) map[string]any { return map[string]any{"groupID": pub, "userID": user, "role": r} }
	f.wantCode(CodeRoleInvalid, "o", "setGroupMemberRole", role("m2", "Owner"))
	f.wantCode(CodeRoleSelf, "o", "setGroupMemberRole", role("o", "Member"))
	f.wantCode(CodeRoleNotOwner, "a", "setGroupMemberRole", role("m2", "Admin"))
	f.wantCode(CodeNotMember, "o", "setGroupMemberRole", role("ghost", "Admin"))
	f.wantCode(CodeRoleType, "o", "setGroupMemberRole", map[string]any{"groupID": work, "userID": "m1", "role": "Admin"})
	_, events = f.ok("o", "setGroupMemberRole", role("m2", "Admin"))
	if tip := tipOf(t, events); !strings.Contains(string(tip.Payload), `"operationType":4`) || noticesTo(events)["m2"] != NoticeSetAdmin {
		t.Errorf("set admin %s %v", tip.Payload, noticesTo(events))
	}
	_, events = f.ok("o", "setGroupMemberRole", role("m2", "Member"))
	if tip := tipOf(t, events); !strings.Contains(string(tip.Payload), `"operationType":5`) || noticesTo(events)["m2"] != NoticeCanceledAdmin {
		t.Errorf("cancel admin %s %v", tip.Payload, noticesTo(events))
	}
}

func TestMuteAll(t *testing.T) {
	f := memFixture(t)
	pub := withAdmin(f)
	f.ok("o", "updateGroupProfile", map[string]any{"groupID": pub, "muteAllMembers": true})
	text := map[string]any{"to": pub, "type": "TIMTextElem", "payload": map[string]any{"text": "x"}}
	f.wantCode(CodeMuted, "a", "sendMessage", text)
	f.wantCode(CodeMuted, "m1", "sendMessage", text)
	f.ok("o", "sendMessage", text)
	f.ok("administrator", "sendMessage", text)
}

func TestAddGroupMember(t *testing.T) {
	f := newFixture(t, NewMemoryStore(), Options{GroupLimit: 2})
	work := f.create("o", Private, map[string]any{"memberList": members("m1"), "maxMemberNum": 4})
	pub := f.create("o", Public, nil)
	live := f.create("o", AVChatRoom, nil)
	f.create("full", Public, nil)
	f.create("full", Public, nil)
	add := func(id string, users ...string) map[string]any {
		return map[string]any{"groupID": id, "userIDList": users}
	}
	f.wantCode(CodeNoPermission, "o", "addGroupMember", add(pub, "x"))
	f.wantCode(CodeLiveAddMember, "o", "addGroupMember", add(live, "x"))
	f.wantCode(CodeNoPermission, "x", "addGroupMember", add(work, "y"))
	f.wantCode(CodeInvalidParam, "m1", "addGroupMember", add(work))
	f.wantCode(CodeGroupFull, "m1", "addGroupMember", add(work, "a", "b", "c"))
	r, events := f.ok("m1", "addGroupMember", add(work, "a", "o", "full", "a"))
	if s, fl, e := r["successUserIDList"].([]any), r["failureUserIDList"].([]any), r["existedUserIDList"].([]any); len(s) != 1 || s[0] != "a" ||
		len(fl) != 1 || fl[0] != "full" || len(e) != 1 || e[0] != "o" {
		t.Errorf("add reply %v", r)
	}
	if events[0].Kind != Subscribe || noticesTo(events)["a"] != NoticeInvited {
		t.Errorf("add events %+v", events)
	}
	if tip := tipOf(t, events); !strings.Contains(string(tip.Payload), `"operatorID":"m1","operationType":1,"userIDList":["a"]`) {
		t.Errorf("add tip %s", tip.Payload)
	}
	f.ok("administrator", "addGroupMember", add(pub, "z"))
}

func TestMemberData(t *testing.T) {
	f := memFixture(t)
	pub := withAdmin(f)
	live := f.create("o", AVChatRoom, nil)
	card := func(user, c string) map[string]any {
		return map[string]any{"groupID": pub, "userID": user, "nameCard": c}
	}
	f.ok("m1", "setGroupMemberNameCard", map[string]any{"groupID": pub, "nameCard": "me"})
	f.wantCode(CodeNoPermission, "m1", "setGroupMemberNameCard", card("m2", "x"))
	f.wantCode(CodeNoPermission, "a", "setGroupMemberNameCard", card("o", "x"))
	f.ok("a", "setGroupMemberNameCard", card("m2", "two"))
	f.ok("o", "setGroupMemberNameCard", card("a", "adm"))
	f.wantCode(CodeInvalidParam, "o", "setGroupMemberNameCard", card("a", strings.Repeat("c", 51)))
	f.wantCode(CodeNotMember, "o", "setGroupMemberNameCard", card("ghost", "x"))
	f.wantCode(CodeNoPermission, "o", "setGroupMemberNameCard", map[string]any{"groupID": live, "nameCard": "x"})
	cf := func(user string, kv ...string) map[string]any {
		l := []any{}
		for i := 0; i < len(kv); i += 2 {
			l = append(l, map[string]any{"key": kv[i], "value": kv[i+1]})
		}
		return map[string]any{"groupID": pub, "userID": user, "memberCustomField": l}
	}
	f.ok("m1", "setGroupMemberCustomField", cf("m1", "k1", "v1", "k2", "v2"))
	f.wantCode(CodeNoPermission, "m2", "setGroupMemberCustomField", cf("m1", "k", "v"))
	f.wantCode(CodeInvalidParam, "m1", "setGroupMemberCustomField", cf("m1", "", "v"))
	r, _ := f.ok("m2", "getGroupMemberProfile", map[string]any{"groupID": pub, "userIDList": []string{"m1", "ghost", "m2"}, "memberCustomFieldFilter": []string{"k2"}})
	list := r["memberList"].([]any)
	if len(list) != 2 || list[0].(map[string]any)["nameCard"] != "me" || len(list[0].(map[string]any)["memberCustomField"].([]any)) != 1 {
		t.Errorf("member profiles %v", list)
	}
	f.ok("m1", "updateMyProfile", map[string]any{"nick": "Em One", "avatar": "http://a"})
	f.wantCode(CodeInvalidParam, "m1", "updateMyProfile", map[string]any{"nick": strings.Repeat("n", 65)})
	r, _ = f.ok("m1", "getMyProfile", nil)
	if p := r["profile"].(map[string]any); p["nick"] != "Em One" || p["userID"] != "m1" {
		t.Errorf("profile %v", p)
	}
	r, _ = f.ok("o", "getGroupMemberList", map[string]any{"groupID": pub, "count": 2, "offset": 1})
	list = r["memberList"].([]any)
	// Same joinTime: ordered by userID (a, m1, m2, o).
	if len(list) != 2 || list[0].(map[string]any)["userID"] != "m1" || list[0].(map[string]any)["nick"] != "Em One" {
		t.Errorf("member list page %v", list)
	}
	f.wantCode(CodeNoPermission, "ghost", "getGroupMemberList", map[string]any{"groupID": pub})
	r, _ = f.ok("m1", "sendMessage", map[string]any{"to": pub, "type": "TIMTextElem", "payload": map[string]any{"text": "x"}})
	if m := r["message"].(map[string]any); m["nick"] != "Em One" || m["nameCard"] != "me" {
		t.Errorf("message stamps %v", m)
	}
	_, events := f.ok("m1", "setMessageRemindType", map[string]any{"groupID": pub, "messageRemindType": "Discard"})
	if len(events) != 1 || events[0].Kind != SetDiscard || !events[0].Discard {
		t.Errorf("remind events %+v", events)
	}
	f.wantCode(CodeInvalidParam, "m1", "setMessageRemindType", map[string]any{"groupID": pub, "messageRemindType": "Loud"})
}

func TestHistory(t *testing.T) {
	f := memFixture(t)
	pub := f.create("o", Public, nil)
	room := f.create("o", ChatRoom, nil)
	for i := 0; i < 20; i++ {
		f.ok("o", "sendMessage", map[string]any{"to": pub, "type": "TIMTextElem", "payload": map[string]any{"text": "p"}})
		f.ok("o", "sendMessage", map[string]any{"to": room, "type": "TIMTextElem", "payload": map[string]any{"text": "r"}})
	}
	f.ok("m", "joinGroup", map[string]any{"groupID": pub})  // tip 21
	f.ok("m", "joinGroup", map[string]any{"groupID": room}) // tip 21
	for i := 0; i < 20; i++ {
		f.ok("o", "sendMessage", map[string]any{"to": pub, "type": "TIMTextElem", "payload": map[string]any{"text": "p"}})
	}
	seen := map[float64]bool{}
	cursor := ""
	for page := 0; ; page++ {
		r, _ := f.ok("m", "getMessageList", map[string]any{"conversationID": "GROUP" + pub, "count": 50, "nextReqMessageID": cursor})
		list := r["messageList"].([]any)
		for i, m := range list {
			seq := m.(map[string]any)["sequence"].(float64)
			if seen[seq] || (i > 0 && seq <= list[i-1].(map[string]any)["sequence"].(float64)) {
				t.Fatalf("page %d: sequence %v repeated or out of order", page, seq)
			}
			seen[seq] = true
		}
		if r["isCompleted"] == true {
			break
		}
		cursor = r["nextReqMessageID"].(string)
		if page > 5 {
			t.Fatal("paging does not end")
		}
	}
	if len(seen) != 21 || !seen[21] || !seen[41] || seen[20] {
		t.Errorf("member read %d messages; want 21..41 (from its join tip)", len(seen))
	}
	r, _ := f.ok("m", "syncMessages", map[string]any{"groupID": room, "afterSequence": 0, "count": 10})
	if l := r["messageList"].([]any); len(l) != 10 || l[0].(map[string]any)["sequence"] != 1.0 || r["isCompleted"] != false || r["oldestSequence"] != 1.0 {
		t.Errorf("ChatRoom sync from 0: %d messages, %v", len(l), r["isCompleted"])
	}
	r, _ = f.ok("m", "syncMessages", map[string]any{"groupID": pub, "afterSequence": 35})
	if l := r["messageList"].([]any); len(l) != 6 || r["isCompleted"] != true {
		t.Errorf("sync after 35: %d messages", len(l))
	}
	r, _ = f.ok("m", "getMessageList", map[string]any{"conversationID": "@TIM#SYSTEM"})
	if r["isCompleted"] != true {
		t.Errorf("system conversation %v", r)
	}
	f.wantCode(CodeInvalidParam, "m", "getMessageList", map[string]any{"conversationID": "C2Cbob"})
	f.wantCode(CodeInvalidParam, "m", "getMessageList", map[string]any{"conversationID": "GROUP" + pub, "nextReqMessageID": "zz"})
	f.wantCode(CodeNoPermission, "x", "syncMessages", map[string]any{"groupID": pub})
}

// raceStore sends a chat message into the group just before the commit
// of a join it is armed for: a message that lands between the join's
// decision and its commit.
type raceStore struct {
	*MemoryStore
	armed atomic.Bool
}

func (r *raceStore) Commit(ctx context.Context, c *Change) error {
	if len(c.Put) > 0 && r.armed.CompareAndSwap(true, false) {
		m := chat(c.GroupID, "o", "", "before the join", time.Now().Unix())
		if _, _, err := r.MemoryStore.Append(ctx, m, c.Version, false, Retention{}); err != nil {
			return err
		}
	}
	return r.MemoryStore.Commit(ctx, c)
}

// A new member of a group whose new members read from their join (not a
// ChatRoom) reads from the join tip on: not a message committed while
// its join was being decided (the JoinSeq is the tip's, set by the
// commit), whether it joined or was invited.
func TestNewMemberReadsFromItsJoinTip(t *testing.T) {
	st := &raceStore{MemoryStore: NewMemoryStore()}
	f := newFixture(t, st, Options{})
	pub := f.create("o", Public, nil)
	work := f.create("o", Private, nil)
	for _, tc := range []struct{ group, user, op string }{
		{pub, "m", "joinGroup"},
		{work, "w", "addGroupMember"},
	} {
		f.ok("o", "sendMessage", map[string]any{"to": tc.group, "type": TextElem, "payload": map[string]any{"text": "old"}})
		st.armed.Store(true)
		if tc.op == "joinGroup" {
			f.ok(tc.user, "joinGroup", map[string]any{"groupID": tc.group})
		} else {
			f.ok("o", "addGroupMember", map[string]any{"groupID": tc.group, "userIDList": []string{tc.user}})
		}
		r, _ := f.ok(tc.user, "getMessageList", map[string]any{"conversationID": "GROUP" + tc.group, "count": 50})
		var got []string
		for _, m := range r["messageList"].([]any) {
			msg := m.(map[string]any)
			got = append(got, msg["type"].(string))
			if p, ok := msg["payload"].(map[string]any); ok && p["text"] != nil {
				t.Errorf("%s: the new member reads %q, sent before it joined", tc.op, p["text"])
			}
		}
		if len(got) != 1 || got[0] != GroupTipElem {
			t.Errorf("%s: the new member reads %v, want only its join tip", tc.op, got)
		}
	}
}
