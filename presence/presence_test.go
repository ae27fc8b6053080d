package presence

import (
	"context"
	"sync"
	"testing"
	"time"

	"chatd/groups"
)

// testPresence is the conformance suite of groups.Presence. newP returns a
// presence with the given grace and a function that runs its periodic
// sweep (a no-op where timers do the work).
func testPresence(t *testing.T, newP func(t *testing.T, grace time.Duration) (groups.Presence, func())) {
	ctx := context.Background()
	t.Run("join, move, grace", func(t *testing.T) {
		m, sweep := newP(t, 50*time.Millisecond)
		var mu sync.Mutex
		var expired []string
		m.OnExpire(func(room, user string) { mu.Lock(); expired = append(expired, room+"/"+user); mu.Unlock() })

		if res, err := m.JoinLive(ctx, "A", "alice", ref(1)); err != nil || !res.New || res.Left != "" {
			t.Errorf("first join %+v %v", res, err)
		}
		if res, _ := m.JoinLive(ctx, "A", "alice", ref(2)); res.New {
			t.Errorf("second session is not new: %+v", res)
		}
		m.JoinLive(ctx, "A", "", ref(3)) // anonymous viewer
		if n, _ := m.Count(ctx, "A"); n != 3 {
			t.Errorf("count %d, want 3", n)
		}
		res, _ := m.JoinLive(ctx, "B", "alice", ref(1))
		if res.Left != "A" || !res.LeftUser || !res.New {
			t.Errorf("join B %+v", res)
		}
		if in, _ := m.InRoom(ctx, "A", ref(2)); in {
			t.Error("alice's other session still in A")
		}
		if ok, _ := m.IsMember(ctx, "A", "alice"); ok {
			t.Error("alice still a member of A")
		}
		if n, _ := m.Count(ctx, "A"); n != 1 {
			t.Errorf("A count %d, want 1 (the viewer)", n)
		}
		if res, _ := m.JoinLive(ctx, "B", "", ref(3)); res.Left != "A" {
			t.Errorf("viewer move %+v", res)
		}
		if in, _ := m.InRoom(ctx, "B", ref(3)); !in {
			t.Error("viewer not in B")
		}
		m.SessionClosed(ctx, "alice", ref(1))
		if ok, _ := m.IsMember(ctx, "B", "alice"); !ok {
			t.Error("alice left B at once; want the grace")
		}
		if res, _ := m.JoinLive(ctx, "B", "alice", ref(4)); res.New {
			t.Error("rejoin within the grace is not new")
		}
		m.SessionClosed(ctx, "alice", ref(4))
		deadline := time.Now().Add(5 * time.Second)
		for {
			time.Sleep(20 * time.Millisecond)
			sweep()
			mu.Lock()
			n := len(expired)
			mu.Unlock()
			if n > 0 || time.Now().After(deadline) {
				break
			}
		}
		mu.Lock()
		if len(expired) != 1 || expired[0] != "B/alice" {
			t.Errorf("expired %v", expired)
		}
		mu.Unlock()
		if ok, _ := m.IsMember(ctx, "B", "alice"); ok {
			t.Error("alice still a member after the grace")
		}
	})
	t.Run("members, quit, drop", func(t *testing.T) {
		m, _ := newP(t, time.Minute)
		m.JoinLive(ctx, "B", "bob", ref(5))
		time.Sleep(2 * time.Millisecond)
		m.JoinLive(ctx, "B", "carol", ref(6))
		if ms, _ := m.Members(ctx, "B"); len(ms) != 2 || ms[0] != "carol" {
			t.Errorf("members newest first: %v", ms)
		}
		if ok, _ := m.QuitLive(ctx, "B", "bob"); !ok {
			t.Error("quit bob")
		}
		if ok, _ := m.QuitLive(ctx, "B", "bob"); ok {
			t.Error("quit twice")
		}
		if in, _ := m.InRoom(ctx, "B", ref(5)); in {
			t.Error("bob's session still in B")
		}
		m.JoinLive(ctx, "B", "", ref(7))
		if err := m.LeaveSession(ctx, "B", ref(7)); err != nil {
			t.Fatal(err)
		}
		users, _ := m.DropRoom(ctx, "B")
		if len(users) != 1 || users[0] != "carol" {
			t.Errorf("drop room users %v", users)
		}
		if n, _ := m.Count(ctx, "B"); n != 0 {
			t.Errorf("count after drop %d", n)
		}
		// After the drop carol may join another room without leaving B.
		if res, _ := m.JoinLive(ctx, "C", "carol", ref(6)); res.Left != "" {
			t.Errorf("join after drop %+v", res)
		}
	})
	t.Run("online", func(t *testing.T) {
		m, _ := newP(t, time.Minute)
		a, b := groups.SessionRef{Node: "n1", ID: 1}, groups.SessionRef{Node: "n2", ID: 1}
		m.UserUp(ctx, "alice", a)
		m.UserUp(ctx, "alice", b)
		if n, err := m.Online(ctx, "alice"); err != nil || n != 2 {
			t.Errorf("online %d %v, want 2", n, err)
		}
		m.UserDown(ctx, "alice", a)
		m.UserDown(ctx, "alice", b)
		if n, _ := m.Online(ctx, "alice"); n != 0 {
			t.Errorf("online after both left: %d", n)
		}
		if n, _ := m.Online(ctx, "nobody"); n != 0 {
			t.Errorf("nobody online: %d", n)
		}
	})
	t.Run("budget", func(t *testing.T) {
		m, _ := newP(t, time.Minute)
		counts := map[groups.Priority]int{}
		for i := 0; i < 30; i++ {
			for _, p := range []groups.Priority{groups.Lowest, groups.Low, groups.Normal, groups.High} {
				if ok, err := m.Allow(ctx, "R", p); err != nil {
					t.Fatal(err)
				} else if ok {
					counts[p]++
				}
			}
		}
		if counts[groups.High] != 30 || counts[groups.Normal] == 0 || counts[groups.Lowest] > counts[groups.Low] {
			t.Errorf("accepted per priority %v", counts)
		}
	})
}
