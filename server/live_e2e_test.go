package server

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"chatd/groups"
	"chatd/hub"
)

func liveRoom(t *testing.T, e *testEnv, owner *client) string {
	t.Helper()
	var r groupReply
	owner.mustOK("createGroup", map[string]any{"name": "live", "type": "AVChatRoom"}, &r)
	owner.notice()
	return r.Group.GroupID
}

// TestAnonymousViewer: every op an anonymous connection may and may not
// call (SPEC.md §5).
func TestAnonymousViewer(t *testing.T) {
	e := newEnv(t, groups.NewMemoryStore(), func(o *Options, _ *hub.Options) { o.LoginTimeout = 300 * time.Millisecond })
	owner := e.login("owner")
	room := liveRoom(t, e, owner)
	var pub groupReply
	owner.mustOK("createGroup", map[string]any{"name": "p", "type": "Public"}, &pub)
	v := e.dial("viewer")
	v.wantCode(groups.CodeAnonNotLive, "joinGroup", map[string]any{"groupID": pub.Group.GroupID, "type": "AVChatRoom"})
	v.wantCode(groups.CodeAnonNotLive, "joinGroup", map[string]any{"groupID": pub.Group.GroupID})
	v.wantCode(groups.CodeAnonNotLive, "joinGroup", map[string]any{"groupID": room, "type": "Public"})
	v.mustOK("joinGroup", map[string]any{"groupID": room, "type": "AVChatRoom"})
	var prof struct{ Group map[string]any }
	v.mustOK("getGroupProfile", map[string]any{"groupID": room}, &prof)
	if _, ok := prof.Group["selfInfo"]; ok || prof.Group["type"] != "AVChatRoom" {
		t.Errorf("viewer's profile view %v", prof.Group)
	}
	var cnt struct{ MemberCount int }
	v.mustOK("getGroupOnlineMemberCount", map[string]any{"groupID": room}, &cnt)
	if cnt.MemberCount != 1 {
		t.Errorf("online count %d, want 1", cnt.MemberCount)
	}
	for _, op := range []string{"sendMessage", "createGroup", "getGroupList", "getGroupMemberList", "updateGroupProfile",
		"dismissGroup", "getMessageList", "syncMessages", "getMyProfile", "setGroupMemberNameCard"} {
		v.wantCode(groups.CodeNotLoggedIn, op, map[string]any{"groupID": room, "to": room, "name": "x",
			"type": "TIMTextElem", "payload": map[string]any{"text": "x"}, "conversationID": "GROUP" + room})
	}
	v.wantCode(groups.CodeNotLoggedIn, "getGroupProfile", map[string]any{"groupID": pub.Group.GroupID})
	v.wantCode(groups.CodeNotLoggedIn, "getGroupOnlineMemberCount", map[string]any{"groupID": pub.Group.GroupID})
	time.Sleep(500 * time.Millisecond) // past the login timeout: a viewer is not closed
	owner.mustOK("joinGroup", map[string]any{"groupID": room})
	sendText(owner, room, "to viewers")
	if m := v.messages(1)[0]; string(m.Payload) != `{"text":"to viewers"}` || m.Sequence != 1 {
		t.Errorf("viewer got %+v", m)
	}
	v.mustOK("quitGroup", map[string]any{"groupID": room})
	if code := v.waitClosed(2 * time.Second); code != closeNoLogin {
		t.Errorf("idle after quitting: close %d, want 4502", code)
	}
}

// TestLiveRoomMembership: live membership is per session, tips are
// batched, the owner cannot quit, mutes apply, nothing is stored.
func TestLiveRoomMembership(t *testing.T) {
	e := newEnv(t, groups.NewMemoryStore())
	owner := e.login("owner")
	room := liveRoom(t, e, owner)
	owner.mustOK("joinGroup", map[string]any{"groupID": room})
	a := e.login("a")
	aOther := e.login("a") // a second session of a that does not join
	b := e.login("b")
	a.mustOK("joinGroup", map[string]any{"groupID": room})
	b.mustOK("joinGroup", map[string]any{"groupID": room})
	// One tip 1 for both joins, within the second (batched).
	tip := owner.messages(1)[0]
	var p groups.TipPayload
	_ = json.Unmarshal(tip.Payload, &p)
	if p.OperationType != groups.TipJoin || len(p.UserIDList) != 3 || tip.Sequence != 0 {
		t.Errorf("batched join tip %s seq %d", tip.Payload, tip.Sequence)
	}
	a.messages(1)
	b.messages(1)
	sendText(b, room, "hello room")
	a.messages(1)
	owner.messages(1)
	aOther.quiet() // only sessions that joined receive the room
	aOther.wantCode(groups.CodeNoPermission, "sendMessage", map[string]any{"to": room, "type": "TIMTextElem", "payload": map[string]any{"text": "x"}})
	var ml struct{ MemberList []groups.MemberView }
	a.mustOK("getGroupMemberList", map[string]any{"groupID": room}, &ml)
	if len(ml.MemberList) != 3 || ml.MemberList[0].UserID != "b" {
		t.Errorf("live member list (newest first) %+v", ml.MemberList)
	}
	owner.wantCode(groups.CodeOwnerCannotQuit, "quitGroup", map[string]any{"groupID": room})
	owner.mustOK("setGroupMemberMuteTime", map[string]any{"groupID": room, "userID": "b", "muteTime": 60})
	b.wantCode(groups.CodeMuted, "sendMessage", map[string]any{"to": room, "type": "TIMTextElem", "payload": map[string]any{"text": "x"}})
	var hist struct{ MessageList []groups.Message }
	a.mustOK("getMessageList", map[string]any{"conversationID": "GROUP" + room}, &hist)
	if len(hist.MessageList) != 0 {
		t.Errorf("live room stored %d messages", len(hist.MessageList))
	}
	b.mustOK("quitGroup", map[string]any{"groupID": room})
	quitTip := func(m groups.Message) bool {
		return m.Type == groups.GroupTipElem && strings.Contains(string(m.Payload), `"operationType":2`)
	}
	for _, cl := range []*client{owner, a} { // the batched tip comes within the second
		deadline := time.Now().Add(3 * time.Second)
		for !cl.has(quitTip) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: no quit tip", cl.name)
			}
			cl.pull(time.After(100 * time.Millisecond))
		}
	}
	// Joining another room moves a out of this one.
	owner.reset()
	a.reset()
	room2 := liveRoom(t, e, owner)
	a.mustOK("joinGroup", map[string]any{"groupID": room2})
	sendText(owner, room, "a is gone")
	a.quiet()
}

// reset forgets every push received so far.
func (cl *client) reset() {
	cl.mustOK("ping", nil)
	for len(cl.pushes) > 0 {
		cl.pull(nil)
	}
	cl.msgBuf, cl.eventBuf = nil, nil
}

// has reports whether a message buffered so far matches f.
func (cl *client) has(f func(groups.Message) bool) bool {
	for _, m := range cl.msgBuf {
		if f(m) {
			return true
		}
	}
	return false
}

// TestLiveRoomShedding: above 40 msg/s a room sheds Lowest and Low first
// (10023) and never High.
func TestLiveRoomShedding(t *testing.T) {
	e := newEnv(t, groups.NewMemoryStore())
	owner := e.login("owner")
	room := liveRoom(t, e, owner)
	owner.mustOK("joinGroup", map[string]any{"groupID": room})
	codes := map[string]map[int]int{}
	for i := 0; i < 30; i++ {
		for _, p := range []string{"Lowest", "Low", "Normal", "High"} {
			f := owner.call("sendMessage", map[string]any{"to": room, "type": "TIMTextElem", "priority": p, "payload": map[string]any{"text": "x"}})
			if codes[p] == nil {
				codes[p] = map[int]int{}
			}
			codes[p][f.Code]++
		}
	}
	if codes["High"][0] != 30 {
		t.Errorf("High shed: %v", codes["High"])
	}
	if codes["Lowest"][groups.CodeGroupRateLimited] == 0 || codes["Lowest"][0] > codes["Low"][0] || codes["Low"][0] > codes["Normal"][0] {
		t.Errorf("shedding per priority %v", codes)
	}
}

// TestResyncJoined: a node that starts listening to a group tells the
// group's sessions, and only them, to resync it.
func TestResyncJoined(t *testing.T) {
	e := newEnv(t, groups.NewMemoryStore())
	alice := e.login("alice")
	other := e.login("other")
	var r groupReply
	alice.mustOK("createGroup", map[string]any{"name": "g", "type": "Public"}, &r)
	alice.notice()
	e.srv.ResyncJoined([]string{hub.GroupChannel(r.Group.GroupID), hub.UserChannel("alice")})
	f := alice.push("resync")
	if string(f.Data) != `{"groupIDList":["`+r.Group.GroupID+`"]}` {
		t.Errorf("resync %s", f.Data)
	}
	other.quiet()
}
