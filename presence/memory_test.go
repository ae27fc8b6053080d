package presence

import (
	"context"
	"sync"
	"testing"
	"time"

	"chatd/groups"
)

func ref(id uint64) groups.SessionRef { return groups.SessionRef{Node: "n1", ID: id} }

func TestAdmit(t *testing.T) {
	tests := []struct {
		p    groups.Priority
		used int
		want bool
	}{
		{groups.Lowest, 19, true}, {groups.Lowest, 20, false},
		{groups.Low, 29, true}, {groups.Low, 30, false},
		{groups.Normal, 39, true}, {groups.Normal, 40, false},
		{groups.High, 400, true},
	}
	for _, tt := range tests {
		if got := admit(tt.p, tt.used, 40); got != tt.want {
			t.Errorf("admit(%s, %d, 40) = %v, want %v", tt.p, tt.used, got, tt.want)
		}
	}
}

func TestAllowSheds(t *testing.T) {
	now := time.Unix(1000, 0)
	m := NewMemory(Options{Rate: 40, Now: func() time.Time { return now }})
	ctx := context.Background()
	counts := map[groups.Priority]int{}
	for i := 0; i < 100; i++ {
		for _, p := range []groups.Priority{groups.Lowest, groups.Low, groups.Normal, groups.High} {
			if ok, _ := m.Allow(ctx, "r", p); ok {
				counts[p]++
			}
		}
	}
	if counts[groups.High] != 100 || counts[groups.Normal] == 0 || counts[groups.Lowest] >= counts[groups.Low] || counts[groups.Low] >= counts[groups.Normal] {
		t.Errorf("accepted per priority %v", counts)
	}
	now = now.Add(time.Second)
	if ok, _ := m.Allow(ctx, "r", groups.Lowest); !ok {
		t.Error("a new second gives a new budget")
	}
}

func TestJoinLeaveGrace(t *testing.T) {
	m := NewMemory(Options{Grace: 20 * time.Millisecond})
	defer m.Close()
	ctx := context.Background()
	var mu sync.Mutex
	var expired []string
	m.OnExpire(func(room, user string) { mu.Lock(); expired = append(expired, room+"/"+user); mu.Unlock() })

	if res, _ := m.JoinLive(ctx, "A", "alice", ref(1)); !res.New || res.Left != "" {
		t.Errorf("first join %+v", res)
	}
	if res, _ := m.JoinLive(ctx, "A", "alice", ref(2)); res.New {
		t.Errorf("second session is not new: %+v", res)
	}
	m.JoinLive(ctx, "A", "", ref(3)) // anonymous viewer
	if n, _ := m.Count(ctx, "A"); n != 3 {
		t.Errorf("count %d, want 3", n)
	}
	// Joining B moves every session of alice out of A.
	res, _ := m.JoinLive(ctx, "B", "alice", ref(1))
	if res.Left != "A" || !res.LeftUser || !res.New {
		t.Errorf("join B %+v", res)
	}
	if in, _ := m.InRoom(ctx, "A", ref(2)); in {
		t.Error("alice's other session still in A")
	}
	if n, _ := m.Count(ctx, "A"); n != 1 {
		t.Errorf("A count %d, want 1 (the viewer)", n)
	}
	// An anonymous connection holds one room at a time.
	if res, _ := m.JoinLive(ctx, "B", "", ref(3)); res.Left != "A" {
		t.Errorf("viewer move %+v", res)
	}
	// Close within the grace and come back: no new membership.
	m.SessionClosed(ctx, "alice", ref(1))
	if ok, _ := m.IsMember(ctx, "B", "alice"); !ok {
		t.Error("alice left B at once; want the grace")
	}
	if res, _ := m.JoinLive(ctx, "B", "alice", ref(4)); res.New {
		t.Error("rejoin within the grace is not new")
	}
	m.SessionClosed(ctx, "alice", ref(4))
	time.Sleep(60 * time.Millisecond)
	mu.Lock()
	if len(expired) != 1 || expired[0] != "B/alice" {
		t.Errorf("expired %v", expired)
	}
	mu.Unlock()
	if ok, _ := m.IsMember(ctx, "B", "alice"); ok {
		t.Error("alice still a member after the grace")
	}
	m.JoinLive(ctx, "B", "bob", ref(5))
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
	users, _ := m.DropRoom(ctx, "B")
	if len(users) != 1 || users[0] != "carol" {
		t.Errorf("drop room users %v", users)
	}
	if n, _ := m.Count(ctx, "B"); n != 0 {
		t.Errorf("count after drop %d", n)
	}
}
