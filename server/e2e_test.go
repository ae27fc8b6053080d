package server

import (
	"testing"

	"chatd/groups"
)

// stores runs a test once on the embedded store and once on real Redis
// (when CHAT_TEST_REDIS_URL is set).
func stores(t *testing.T, run func(t *testing.T, store groups.Store)) {
	t.Run("memory", func(t *testing.T) { run(t, groups.NewMemoryStore()) })
	t.Run("redis", func(t *testing.T) { run(t, redisStore(t)) })
}

type groupReply struct {
	Group struct {
		GroupID   string `json:"groupID"`
		Type      string `json:"type"`
		MemberNum int    `json:"memberNum"`
	} `json:"group"`
}

func TestEndToEndPublicGroup(t *testing.T) {
	stores(t, func(t *testing.T, store groups.Store) {
		e := newEnv(t, store)
		alice := e.login("alice")
		alice2 := e.login("alice") // alice's second tab
		bob := e.login("bob")
		carol := e.login("carol") // a bystander in no group

		var created groupReply
		alice.mustOK("createGroup", map[string]any{"name": "Go fans", "type": "Public"}, &created)
		gid := created.Group.GroupID
		for _, cl := range []*client{alice, alice2} {
			if typ, n := cl.notice(); typ != groups.NoticeCreated || n.To != "alice" {
				t.Errorf("%s: creation notice %d %+v", cl.name, typ, n)
			}
		}

		var joined struct {
			Status string `json:"status"`
			Group  struct {
				MemberNum int `json:"memberNum"`
			} `json:"group"`
		}
		bob.mustOK("joinGroup", map[string]any{"groupID": gid}, &joined)
		if joined.Status != "JoinedSuccess" || joined.Group.MemberNum != 2 {
			t.Errorf("join reply %+v", joined)
		}
		for _, cl := range []*client{alice, alice2, bob} {
			tip := cl.messages(1)[0]
			want := "in"
			if cl == bob {
				want = "out"
			}
			if tip.Type != groups.GroupTipElem || tip.Sequence != 1 || tip.From != "bob" || tip.Flow != want ||
				tip.ConversationID != "GROUP"+gid {
				t.Errorf("%s: join tip %+v", cl.name, tip)
			}
		}

		send := func(cl *client, text string) groups.Message {
			var r struct {
				Message groups.Message `json:"message"`
			}
			cl.mustOK("sendMessage", map[string]any{"to": gid, "conversationType": "GROUP", "type": "TIMTextElem",
				"payload": map[string]any{"text": text}}, &r)
			return r.Message
		}
		m := send(bob, "hi")
		if m.Sequence != 2 || m.Flow != "out" || m.From != "bob" {
			t.Errorf("bob's reply %+v", m)
		}
		for _, cl := range []*client{alice, alice2} {
			got := cl.messages(1)[0]
			if got.Sequence != 2 || got.Flow != "in" || string(got.Payload) != `{"text":"hi"}` {
				t.Errorf("%s: got %+v", cl.name, got)
			}
		}
		bob.quiet() // the sender's own session gets only the reply

		m = send(alice, "hello")
		if m.Sequence != 3 {
			t.Errorf("alice's message sequence %d, want 3", m.Sequence)
		}
		if got := bob.messages(1)[0]; got.Sequence != 3 || got.Flow != "in" {
			t.Errorf("bob got %+v", got)
		}
		if got := alice2.messages(1)[0]; got.Sequence != 3 || got.Flow != "out" {
			t.Errorf("alice's other session got %+v", got)
		}
		alice.quiet()
		carol.quiet()

		var list struct {
			GroupList []struct {
				GroupID        string `json:"groupID"`
				NextMessageSeq int    `json:"nextMessageSeq"`
			} `json:"groupList"`
		}
		bob.mustOK("getGroupList", nil, &list)
		if len(list.GroupList) != 1 || list.GroupList[0].GroupID != gid || list.GroupList[0].NextMessageSeq != 4 {
			t.Errorf("bob's group list %+v", list)
		}

		bob.mustOK("quitGroup", map[string]any{"groupID": gid})
		for _, cl := range []*client{alice, alice2, bob} {
			tip := cl.messages(1)[0]
			if tip.Sequence != 4 || tip.Type != groups.GroupTipElem {
				t.Errorf("%s: quit tip %+v", cl.name, tip)
			}
		}
		if typ, _ := bob.notice(); typ != groups.NoticeQuit {
			t.Errorf("quit notice type %d", typ)
		}
		send(alice, "bye")
		alice2.messages(1)
		bob.quiet()
		carol.quiet()
	})
}
