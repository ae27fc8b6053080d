package presence

import (
	"context"
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

func TestMemoryPresence(t *testing.T) {
	testPresence(t, func(t *testing.T, grace time.Duration) (groups.Presence, func()) {
		m := NewMemory(Options{Grace: grace})
		t.Cleanup(m.Close)
		return m, func() {}
	})
}
