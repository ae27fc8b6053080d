package hub

import (
	"fmt"
	"testing"
)

// TestPublishFanOut: who gets what, with which flow, and only once.
func TestPublishFanOut(t *testing.T) {
	notice := []byte(`{"event":"receiveGroupSystemNotice","data":{"type":1}}`)
	tests := []struct {
		name string
		push func(ss map[string]*Session) *Push
		want map[string]string // session → tokens
	}{{
		name: "group, from alice, excluding her sending session",
		push: func(ss map[string]*Session) *Push {
			p := push("m1", "g", "alice")
			p.Exclude = ss["alice1"]
			return p
		},
		want: map[string]string{"alice2": "m1/out", "bob": "m1/in", "anon": "m1/in"},
	}, {
		name: "group and a user outside it",
		push: func(map[string]*Session) *Push {
			p := push("m2", "g", "alice")
			p.UserIDs = []string{"carol"}
			return p
		},
		want: map[string]string{"alice1": "m2/out", "alice2": "m2/out", "bob": "m2/in", "anon": "m2/in", "carol": "m2/in"},
	}, {
		name: "matched by group and user (twice) gets it once",
		push: func(map[string]*Session) *Push {
			p := push("m3", "g", "")
			p.UserIDs = []string{"bob", "alice", "bob"}
			return p
		},
		want: map[string]string{"alice1": "m3/in", "alice2": "m3/in", "bob": "m3/in", "anon": "m3/in"},
	}, {
		name: "users only",
		push: func(map[string]*Session) *Push {
			p := push("m4", "", "alice")
			p.UserIDs = []string{"alice", "carol"}
			return p
		},
		want: map[string]string{"alice1": "m4/out", "alice2": "m4/out", "carol": "m4/in"},
	}, {
		name: "notice follows its element",
		push: func(map[string]*Session) *Push {
			p := push("m5", "g", "bob")
			p.Notice = notice
			return p
		},
		want: map[string]string{
			"alice1": "m5/in receiveGroupSystemNotice", "alice2": "m5/in receiveGroupSystemNotice",
			"bob": "m5/out receiveGroupSystemNotice", "anon": "m5/in receiveGroupSystemNotice",
		},
	}, {
		name: "no group, no users: nobody",
		push: func(map[string]*Session) *Push { return push("m6", "", "alice") },
		want: map[string]string{},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newTestHub(t, Options{})
			ss, cs := map[string]*Session{}, map[string]*fakeConn{}
			for name, user := range map[string]string{"alice1": "alice", "alice2": "alice", "bob": "bob", "anon": "", "carol": "carol"} {
				ss[name], cs[name] = session(h, user)
				if name != "carol" {
					h.Subscribe(ss[name], "g", false)
				}
			}
			h.Publish(tt.push(ss))
			for name, s := range ss {
				if got := join(tokens(t, flushed(t, s, cs[name]))); got != tt.want[name] {
					t.Errorf("%s got %q, want %q", name, got, tt.want[name])
				}
			}
		})
	}
}

// TestPublishManyUsers takes the set path of the dedupe.
func TestPublishManyUsers(t *testing.T) {
	h := newTestHub(t, Options{})
	var users []string
	var ss []*Session
	var cs []*fakeConn
	for i := range 2 * smallDedupe {
		u := fmt.Sprintf("u%d", i)
		s, c := session(h, u)
		if i%2 == 0 {
			h.Subscribe(s, "g", false)
		}
		users = append(users, u, u)
		ss, cs = append(ss, s), append(cs, c)
	}
	p := push("m", "g", "")
	p.UserIDs = users
	h.Publish(p)
	for i, s := range ss {
		if got := join(tokens(t, flushed(t, s, cs[i]))); got != "m/in" {
			t.Errorf("session %d got %q", i, got)
		}
	}
}

// TestDiscard: Discard skips chat messages, not tips, also for a session
// of the user that subscribes later, and for pushes addressed to the user.
func TestDiscard(t *testing.T) {
	h := newTestHub(t, Options{})
	bob1, c1 := session(h, "bob")
	h.Subscribe(bob1, "g", false)
	alice, ca := session(h, "alice")
	h.Subscribe(alice, "g", false)
	h.SetDiscard("bob", "g", true)
	bob2, c2 := session(h, "bob")
	h.Subscribe(bob2, "g", false)

	chat := push("chat1", "g", "alice")
	chat.Chat = true
	h.Publish(chat)
	h.Publish(push("tip1", "g", "alice"))
	direct := push("chat2", "g", "alice")
	direct.Chat, direct.UserIDs = true, []string{"bob"}
	h.Publish(direct)
	otherGroup := push("chat3", "other", "alice")
	otherGroup.Chat, otherGroup.UserIDs = true, []string{"bob"}
	h.Publish(otherGroup)

	for _, tc := range []struct {
		s    *Session
		c    *fakeConn
		want string
	}{
		{bob1, c1, "tip1/in chat3/in"},
		{bob2, c2, "tip1/in chat3/in"},
		{alice, ca, "chat1/out tip1/out chat2/out"},
	} {
		if got := join(tokens(t, flushed(t, tc.s, tc.c))); got != tc.want {
			t.Errorf("session %d got %q, want %q", tc.s.ID(), got, tc.want)
		}
	}

	h.SetDiscard("bob", "g", false)
	chat = push("chat4", "g", "alice")
	chat.Chat = true
	h.Publish(chat)
	if got := join(tokens(t, flushed(t, bob2, c2))); got != "tip1/in chat3/in chat4/in" {
		t.Errorf("after Discard off: %q", got)
	}
}

// TestDiscardLogin: the flag follows the user, not the session: a session
// that logs in after subscribing (live) gets it; logging out clears it.
func TestDiscardLogin(t *testing.T) {
	h := newTestHub(t, Options{})
	bob1, _ := session(h, "bob")
	h.SetDiscard("bob", "live", true)
	viewer, c := session(h, "")
	h.Subscribe(viewer, "live", true)
	h.SetUser(viewer, "bob")
	chat := push("c1", "live", "alice")
	chat.Chat = true
	h.Publish(chat)
	h.SetUser(viewer, "")
	chat = push("c2", "live", "alice")
	chat.Chat = true
	h.Publish(chat)
	if got := join(tokens(t, flushed(t, viewer, c))); got != "c2/in" {
		t.Errorf("got %q, want c2/in only", got)
	}
	_ = bob1
}
