package server

import (
	"fmt"
	"sync"
	"testing"

	"chatd/groups"
	"chatd/hub"
)

func sendText(cl *client, gid, text string, extra ...any) groups.Message {
	cl.t.Helper()
	data := map[string]any{"to": gid, "conversationType": "GROUP", "type": "TIMTextElem", "payload": map[string]any{"text": text}}
	for i := 0; i+1 < len(extra); i += 2 {
		data[extra[i].(string)] = extra[i+1]
	}
	var r struct{ Message groups.Message }
	cl.mustOK("sendMessage", data, &r)
	return r.Message
}

// TestOrderingUnderConcurrentSenders: 10 senders × 100 messages into one
// group at once; every receiving session sees strictly increasing
// sequences with no gaps.
func TestOrderingUnderConcurrentSenders(t *testing.T) {
	stores(t, func(t *testing.T, store groups.Store) {
		e := newEnv(t, store, func(_ *Options, h *hub.Options) { h.QueueSize = 4096 })
		owner := e.login("owner")
		var r groupReply
		owner.mustOK("createGroup", map[string]any{"name": "busy", "type": "Public"}, &r)
		gid := r.Group.GroupID
		owner.notice() // notice 6 of the creation
		const senders, each = 10, 100
		readers := []*client{owner, e.login("s0")} // s0's second session sees s0's own messages too
		cls := make([]*client, senders)
		for i := range cls {
			cls[i] = e.login(fmt.Sprintf("s%d", i))
			cls[i].mustOK("joinGroup", map[string]any{"groupID": gid})
		}
		first := uint64(senders + 1) // after the join tips
		var wg sync.WaitGroup
		for _, cl := range cls {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := 0; j < each; j++ {
					sendText(cl, gid, "m")
				}
			}()
		}
		wg.Wait()
		for _, rd := range readers {
			got := rd.messages(senders + senders*each) // the join tips, then the messages
			prev := uint64(0)
			chat := 0
			for _, m := range got {
				if m.Sequence <= prev {
					t.Fatalf("%s: sequence %d after %d", rd.name, m.Sequence, prev)
				}
				if m.Sequence >= first && prev >= first && m.Sequence != prev+1 {
					more := rd.messages(len(rd.msgBuf))
					for len(rd.pushes) > 0 {
						rd.pull(nil)
					}
					t.Fatalf("%s: gap from %d to %d (then %d more buffered: %v)", rd.name, prev, m.Sequence, len(more)+len(rd.msgBuf), rd.msgBuf)
				}
				if m.Chat() {
					chat++
				}
				prev = m.Sequence
			}
			if chat != senders*each {
				t.Errorf("%s: %d chat messages, want %d", rd.name, chat, senders*each)
			}
		}
	})
}

// TestReconnectRecovers: a member disconnects, 50 messages are sent, it
// reconnects and recovers exactly those 50 with syncMessages, in order.
func TestReconnectRecovers(t *testing.T) {
	stores(t, func(t *testing.T, store groups.Store) {
		e := newEnv(t, store)
		alice := e.login("alice")
		bob := e.login("bob")
		var r groupReply
		alice.mustOK("createGroup", map[string]any{"name": "g", "type": "Public"}, &r)
		gid := r.Group.GroupID
		bob.mustOK("joinGroup", map[string]any{"groupID": gid})
		sendText(alice, gid, "before")
		last := bob.messages(2)[1].Sequence // join tip, then "before"
		_ = bob.c.CloseNow()
		<-bob.closed
		var sent []uint64
		for i := 0; i < 50; i++ {
			sent = append(sent, sendText(alice, gid, fmt.Sprint(i)).Sequence)
		}
		bob = e.login("bob")
		var list struct {
			GroupList []struct {
				GroupID        string
				NextMessageSeq uint64
			}
		}
		bob.mustOK("getGroupList", nil, &list)
		if len(list.GroupList) != 1 || list.GroupList[0].NextMessageSeq-1 != sent[49] {
			t.Fatalf("group list %+v", list)
		}
		var got []groups.Message
		after := last
		for {
			var s struct {
				MessageList    []groups.Message
				IsCompleted    bool
				OldestSequence uint64
			}
			bob.mustOK("syncMessages", map[string]any{"groupID": gid, "afterSequence": after, "count": 20}, &s)
			got = append(got, s.MessageList...)
			if s.IsCompleted {
				break
			}
			after = s.MessageList[len(s.MessageList)-1].Sequence
		}
		if len(got) != 50 {
			t.Fatalf("recovered %d messages, want 50", len(got))
		}
		for i, m := range got {
			if m.Sequence != sent[i] || string(m.Payload) != fmt.Sprintf(`{"text":"%d"}`, i) {
				t.Fatalf("recovered message %d: %+v", i, m)
			}
		}
	})
}

// TestIdempotentResendOverTheWire: the same ID twice gives the first
// message back and delivers once.
func TestIdempotentResendOverTheWire(t *testing.T) {
	stores(t, func(t *testing.T, store groups.Store) {
		e := newEnv(t, store)
		alice := e.login("alice")
		bob := e.login("bob")
		var r groupReply
		alice.mustOK("createGroup", map[string]any{"name": "g", "type": "Public"}, &r)
		gid := r.Group.GroupID
		bob.mustOK("joinGroup", map[string]any{"groupID": gid})
		alice.messages(1)
		bob.messages(1)
		m1 := sendText(alice, gid, "once", "ID", "alice-1", "priority", "High", "cloudCustomData", "cc")
		m2 := sendText(alice, gid, "once", "ID", "alice-1", "priority", "High", "cloudCustomData", "cc")
		if m1.ID != "alice-1" || m1.Sequence != m2.Sequence || m2.CloudCustomData != "cc" || m2.Priority != "High" {
			t.Errorf("resend %+v / %+v", m1, m2)
		}
		if got := bob.messages(1)[0]; got.ID != "alice-1" {
			t.Errorf("bob got %+v", got)
		}
		bob.quiet()
	})
}

// TestMuteByRole: a muted member, admin; mute-all spares only the owner
// and App admins.
func TestMuteByRole(t *testing.T) {
	e := newEnv(t, groups.NewMemoryStore())
	c := map[string]*client{}
	for _, u := range []string{"o", "a", "m", "administrator"} {
		c[u] = e.login(u)
	}
	var r groupReply
	c["o"].mustOK("createGroup", map[string]any{"name": "g", "type": "Public",
		"memberList": []any{map[string]any{"userID": "a", "role": "Admin"}, map[string]any{"userID": "m"}}}, &r)
	gid := r.Group.GroupID
	text := map[string]any{"to": gid, "type": "TIMTextElem", "payload": map[string]any{"text": "x"}}
	c["o"].mustOK("setGroupMemberMuteTime", map[string]any{"groupID": gid, "userID": "a", "muteTime": 100})
	c["a"].wantCode(groups.CodeMuted, "sendMessage", text)
	c["o"].mustOK("setGroupMemberMuteTime", map[string]any{"groupID": gid, "userID": "a", "muteTime": 0})
	c["a"].mustOK("sendMessage", text)
	c["a"].mustOK("setGroupMemberMuteTime", map[string]any{"groupID": gid, "userID": "m", "muteTime": 100})
	c["m"].wantCode(groups.CodeMuted, "sendMessage", text)
	c["o"].mustOK("updateGroupProfile", map[string]any{"groupID": gid, "muteAllMembers": true})
	for u, want := range map[string]int{"o": 0, "a": groups.CodeMuted, "m": groups.CodeMuted, "administrator": 0} {
		c[u].wantCode(want, "sendMessage", text)
	}
}

// TestPagingHistory: paging back through 40 messages with
// nextReqMessageID returns each exactly once, newest page first and
// ascending within a page.
func TestPagingHistory(t *testing.T) {
	stores(t, func(t *testing.T, store groups.Store) {
		e := newEnv(t, store)
		alice := e.login("alice")
		var r groupReply
		alice.mustOK("createGroup", map[string]any{"name": "g", "type": "ChatRoom"}, &r)
		gid := r.Group.GroupID
		for i := 0; i < 40; i++ {
			sendText(alice, gid, fmt.Sprint(i))
		}
		seen := map[uint64]bool{}
		cursor, pages, prevFirst := "", 0, uint64(1<<62)
		for {
			var page struct {
				MessageList      []groups.Message
				NextReqMessageID string
				IsCompleted      bool
			}
			alice.mustOK("getMessageList", map[string]any{"conversationID": "GROUP" + gid, "count": 15, "nextReqMessageID": cursor}, &page)
			pages++
			for i, m := range page.MessageList {
				if seen[m.Sequence] || (i > 0 && m.Sequence <= page.MessageList[i-1].Sequence) || m.Sequence >= prevFirst {
					t.Fatalf("page %d: sequence %d repeated or out of order", pages, m.Sequence)
				}
				seen[m.Sequence] = true
			}
			if len(page.MessageList) > 0 {
				prevFirst = page.MessageList[0].Sequence
			}
			if page.IsCompleted {
				break
			}
			cursor = page.NextReqMessageID
		}
		if len(seen) != 40 || pages != 3 {
			t.Errorf("%d messages in %d pages, want 40 in 3", len(seen), pages)
		}
	})
}
