package hub

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestMembership: what each index operation does to which sessions.
func TestMembership(t *testing.T) {
	tests := []struct {
		name string
		ops  func(h *Hub, ss map[string]*Session)
		want map[string]string // session → its groups, comma-separated
	}{{
		name: "SubscribeUser reaches the user's current sessions only",
		ops: func(h *Hub, ss map[string]*Session) {
			h.SubscribeUser("alice", "g")
			ss["alice3"], _ = session(h, "alice")
		},
		want: map[string]string{"alice1": "g", "alice2": "g", "bob": "", "alice3": ""},
	}, {
		name: "UnsubscribeUser drops live and non-live",
		ops: func(h *Hub, ss map[string]*Session) {
			h.Subscribe(ss["alice1"], "live", true)
			h.Subscribe(ss["alice2"], "g", false)
			h.Subscribe(ss["bob"], "g", false)
			h.UnsubscribeUser("alice", "live")
			h.UnsubscribeUser("alice", "g")
		},
		want: map[string]string{"alice1": "", "alice2": "", "bob": "g"},
	}, {
		name: "Unsubscribe one session",
		ops: func(h *Hub, ss map[string]*Session) {
			h.SubscribeUser("alice", "g")
			h.Unsubscribe(ss["alice1"], "g")
			h.Unsubscribe(ss["alice1"], "never")
		},
		want: map[string]string{"alice1": "", "alice2": "g", "bob": ""},
	}, {
		name: "DropGroup unsubscribes everyone from that group only",
		ops: func(h *Hub, ss map[string]*Session) {
			for _, s := range ss {
				h.Subscribe(s, "g", false)
				h.Subscribe(s, "h", false)
			}
			h.Subscribe(ss["bob"], "g", true)
			h.DropGroup("g")
		},
		want: map[string]string{"alice1": "h", "alice2": "h", "bob": "h"},
	}, {
		name: "logout keeps live subscriptions, drops the rest",
		ops: func(h *Hub, ss map[string]*Session) {
			h.SubscribeUser("alice", "g")
			h.Subscribe(ss["alice1"], "live", true)
			h.Subscribe(ss["alice1"], "live", false) // still live
			h.SetUser(ss["alice1"], "")
			h.SubscribeUser("alice", "later") // alice1 is no longer alice's
		},
		want: map[string]string{"alice1": "live", "alice2": "g,later", "bob": ""},
	}, {
		name: "login as another user",
		ops: func(h *Hub, ss map[string]*Session) {
			h.SubscribeUser("alice", "g")
			h.SetUser(ss["alice1"], "bob")
			h.SubscribeUser("bob", "b")
		},
		want: map[string]string{"alice1": "b", "alice2": "g", "bob": "b"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newTestHub(t, Options{})
			ss := map[string]*Session{}
			ss["alice1"], _ = session(h, "alice")
			ss["alice2"], _ = session(h, "alice")
			ss["bob"], _ = session(h, "bob")
			tt.ops(h, ss)
			for name, s := range ss {
				if got := strings.Join(s.Groups(), ","); got != tt.want[name] {
					t.Errorf("%s in %q, want %q", name, got, tt.want[name])
				}
			}
			checkIndexes(t, h)
		})
	}
}

// checkIndexes verifies the group index and the sessions' own lists agree.
func checkIndexes(t *testing.T, h *Hub) {
	t.Helper()
	count := map[string]int{}
	for _, s := range h.snapshot() {
		for _, g := range s.Groups() {
			count[g]++
		}
	}
	for i := range h.groups {
		gsh := &h.groups[i]
		gsh.mu.RLock()
		for g, subs := range gsh.groups {
			if len(subs) != count[g] {
				t.Errorf("group %s: index has %d sessions, sessions say %d", g, len(subs), count[g])
			}
			delete(count, g)
		}
		gsh.mu.RUnlock()
	}
	for g, n := range count {
		t.Errorf("group %s: %d sessions not in the index", g, n)
	}
}

func TestUserSessions(t *testing.T) {
	h := newTestHub(t, Options{})
	a1, _ := session(h, "alice")
	a2, _ := session(h, "alice")
	anon, _ := session(h, "")
	if a1.ID() >= a2.ID() || a2.ID() >= anon.ID() {
		t.Errorf("IDs not increasing: %d %d %d", a1.ID(), a2.ID(), anon.ID())
	}
	if a1.UserID() != "alice" || anon.UserID() != "" {
		t.Errorf("UserID %q %q", a1.UserID(), anon.UserID())
	}
	got := h.UserSessions("alice")
	sortByID(got)
	if !slices.Equal(got, []*Session{a1, a2}) {
		t.Errorf("UserSessions %v", got)
	}
	if h.Len() != 3 || len(h.UserSessions("nobody")) != 0 {
		t.Errorf("Len %d", h.Len())
	}
}

// TestUnregister: the peer went away: out of every index at once, nothing
// more written, no close frame, later calls are no-ops.
func TestUnregister(t *testing.T) {
	h := newTestHub(t, Options{})
	s, c, _ := blockedSession(t, h)
	s.Send([]byte(`{"event":"a"}`))
	h.Unregister(s)
	if h.GroupSessions("g") != 0 || len(h.UserSessions("bob")) != 0 {
		t.Error("still indexed after Unregister")
	}
	waitDoneT(t, s)
	h.Unregister(s)
	h.Subscribe(s, "g", false)
	h.SetUser(s, "bob")
	s.Close(4001, "")
	if w := c.written(); len(w) != 0 {
		t.Errorf("written %q", w)
	}
	if _, closed := c.closeCode(); closed || s.CloseCode() != 0 {
		t.Errorf("conn closed %v, CloseCode %d", closed, s.CloseCode())
	}
	if h.Len() != 0 || h.GroupSessions("g") != 0 || len(h.UserSessions("bob")) != 0 {
		t.Error("indexed again after Unregister")
	}
}

// TestUnregisterAfterClose: the code of a Close still queued is kept.
func TestUnregisterAfterClose(t *testing.T) {
	h := newTestHub(t, Options{})
	s, c, _ := blockedSession(t, h)
	s.Close(4503, "kicked")
	h.Unregister(s)
	waitDoneT(t, s)
	if _, closed := c.closeCode(); closed || s.CloseCode() != 4503 {
		t.Errorf("conn closed %v, CloseCode %d", closed, s.CloseCode())
	}
}

// TestRace runs every kind of call at once; -race and the final index
// check do the asserting.
func TestRace(t *testing.T) {
	h := newTestHub(t, Options{QueueSize: 64})
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			p := push(fmt.Sprint(i), "g", "u1")
			p.UserIDs = []string{"u0", "u1", "u2"}
			p.Chat = i%2 == 0
			h.Publish(p)
		}
	})
	var ss []*Session
	for i := range 40 {
		s, _ := session(h, fmt.Sprint("u", i%3))
		ss = append(ss, s)
		mid := make(chan struct{})
		wg.Go(func() { churn(h, s, i, mid) })
		wg.Go(func() { <-mid; end(h, s, i) })
	}
	for _, s := range ss {
		waitDoneT(t, s)
	}
	close(stop)
	wg.Wait()
	if h.Len() != 0 {
		t.Errorf("Len %d", h.Len())
	}
	for i := range h.users {
		if n := len(h.users[i].users) + len(h.groups[i].groups); n != 0 {
			t.Errorf("shard %d still holds %d entries", i, n)
		}
	}
}

// churn changes s's memberships; it closes mid half-way, for end.
func churn(h *Hub, s *Session, i int, mid chan struct{}) {
	u := fmt.Sprint("u", i%3)
	for j := range 200 {
		if j == 100 {
			close(mid)
		}
		h.Subscribe(s, "g", j%2 == 0)
		h.SetDiscard(u, "g", j%3 == 0)
		h.SubscribeUser(u, "h")
		if j%5 == 0 {
			h.SetUser(s, "")
			h.SetUser(s, u)
		}
		h.UnsubscribeUser(u, "h")
		s.Send([]byte(`{}`))
	}
	h.DropGroup("g")
}

// end ends s in one of the ways a session ends, racing Unregister.
func end(h *Hub, s *Session, i int) {
	switch i % 4 {
	case 0:
		s.Close(4001, "")
	case 1:
		s.CloseNow(4008, "")
	case 2:
		go h.Unregister(s)
		s.Close(4001, "")
	}
	h.Unregister(s)
}

// TestDrain: every session closed with the code, spread over the time.
func TestDrain(t *testing.T) {
	h := newTestHub(t, Options{})
	const n, spread = 6, 60 * time.Millisecond
	var cs []*fakeConn
	var ss []*Session
	for range n {
		s, c := session(h, "")
		ss, cs = append(ss, s), append(cs, c)
	}
	start := time.Now()
	h.Drain(context.Background(), spread, 4001)
	for i, s := range ss {
		if code, _ := cs[i].closeCode(); code != 4001 || s.CloseCode() != 4001 {
			t.Errorf("session %d closed with %d, CloseCode %d", i, code, s.CloseCode())
		}
		waitDoneT(t, s)
	}
	// Timers never fire early, so the last close cannot come sooner.
	if d := time.Since(start); d < spread*(n-1)/n {
		t.Errorf("drained in %v, under the spread", d)
	}
	if h.Len() != 0 {
		t.Errorf("Len %d", h.Len())
	}
}

// TestDrainDeadline: sessions still open when ctx ends get 1001.
func TestDrainDeadline(t *testing.T) {
	h := newTestHub(t, Options{})
	stuck, sc, _ := blockedSession(t, h)
	fine, fc := session(h, "")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	h.Drain(ctx, 0, 4001)
	waitDoneT(t, stuck)
	waitDoneT(t, fine)
	if code, _ := fc.closeCode(); code != 4001 {
		t.Errorf("fine session closed with %d", code)
	}
	if code, _ := sc.closeCode(); code != codeGoingAway || stuck.CloseCode() != codeGoingAway {
		t.Errorf("stuck session closed with %d, CloseCode %d", code, stuck.CloseCode())
	}
}

// TestHubClose: Close ends everything with 1001, and later sessions too.
func TestHubClose(t *testing.T) {
	h := New(Options{})
	s, c, _ := blockedSession(t, h)
	h.Close()
	if code, _ := c.closeCode(); code != codeGoingAway || h.Len() != 0 {
		t.Errorf("closed with %d, Len %d", code, h.Len())
	}
	late, lc := session(h, "")
	waitDoneT(t, late)
	if code, _ := lc.closeCode(); code != codeGoingAway {
		t.Errorf("late session closed with %d", code)
	}
	_ = s
}
