package groups

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
)

// nodes returns n Services sharing one store, as n chatd nodes share one
// Redis: on real Redis when CHAT_TEST_REDIS_URL is set (else skipped).
func redisNodes(t *testing.T, n int) []*fixture {
	rdb, prefix := testRedis(t)
	out := make([]*fixture, n)
	for i := range out {
		out[i] = newFixture(t, NewRedisStore(rdb, prefix), Options{})
	}
	return out
}

// concurrently runs f(i) for i in [0, n) at once and collects the codes.
func concurrently(n int, f func(i int) int) map[int]int {
	var mu sync.Mutex
	var wg sync.WaitGroup
	codes := map[int]int{}
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			c := f(i)
			mu.Lock()
			codes[c]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	return codes
}

func doOn(f *fixture, user, op string, data any) int {
	raw, _ := json.Marshal(data)
	_, err := f.svc.Do(context.Background(), Caller{UserID: user, SessionID: 1}, op, raw)
	return CodeOf(err)
}

// TestRaceJoinFullGroup: 40 users join a group with maxMemberNum 10 at
// once, through three nodes: exactly 9 succeed (the owner is the 10th).
func TestRaceJoinFullGroup(t *testing.T) {
	ns := redisNodes(t, 3)
	id := ns[0].create("owner", Public, map[string]any{"maxMemberNum": 10})
	codes := concurrently(40, func(i int) int {
		return doOn(ns[i%3], fmt.Sprintf("u%02d", i), "joinGroup", map[string]any{"groupID": id})
	})
	if codes[0] != 9 || codes[CodeGroupFull] != 31 {
		t.Errorf("join codes %v, want 9 successes and 31 × 10014", codes)
	}
	g, err := ns[1].svc.store.Group(context.Background(), id)
	if err != nil || g.MemberNum != 10 {
		t.Fatalf("member count %v %v, want 10", g, err)
	}
	msgs, _ := ns[2].svc.store.Messages(context.Background(), id, Range{})
	if len(msgs) != 9 {
		t.Errorf("%d join tips stored, want 9", len(msgs))
	}
	for i, m := range msgs {
		if m.Sequence != uint64(i+1) {
			t.Errorf("tip %d has sequence %d", i, m.Sequence)
		}
	}
}

// TestRaceApproveOnce: the owner and two admins approve the same
// application at once: exactly one succeeds, the others get 10024.
func TestRaceApproveOnce(t *testing.T) {
	ns := redisNodes(t, 3)
	id := ns[0].create("owner", Public, map[string]any{"joinOption": "NeedPermission", "memberList": []any{
		map[string]any{"userID": "a1", "role": "Admin"}, map[string]any{"userID": "a2", "role": "Admin"}}})
	for round := 0; round < 5; round++ {
		applicant := fmt.Sprintf("app%d", round)
		ns[0].ok(applicant, "joinGroup", map[string]any{"groupID": id})
		handlers := []string{"owner", "a1", "a2"}
		codes := concurrently(3, func(i int) int {
			return doOn(ns[i], handlers[i], "handleGroupApplication",
				map[string]any{"handleAction": "Agree", "groupID": id, "applicant": applicant})
		})
		if codes[0] != 1 || codes[CodeApplicationHandled] != 2 {
			t.Errorf("round %d: codes %v, want one success and two 10024", round, codes)
		}
	}
	g, _ := ns[0].svc.store.Group(context.Background(), id)
	if g.MemberNum != 8 {
		t.Errorf("member count %d, want 8", g.MemberNum)
	}
}

// TestRaceOneOwner: the owner transfers ownership to two members at once:
// the group ends with exactly one owner.
func TestRaceOneOwner(t *testing.T) {
	ns := redisNodes(t, 2)
	id := ns[0].create("owner", Public, map[string]any{"memberList": members("m1", "m2")})
	targets := []string{"m1", "m2"}
	codes := concurrently(2, func(i int) int {
		return doOn(ns[i], "owner", "changeGroupOwner", map[string]any{"groupID": id, "newOwnerID": targets[i]})
	})
	if codes[0] != 1 || codes[CodeNoPermission] != 1 {
		t.Errorf("codes %v, want one success and one 10007 (no longer the owner)", codes)
	}
	all, _ := ns[0].svc.store.AllMembers(context.Background(), id)
	owners := 0
	for _, m := range all {
		if m.Role == RoleOwner {
			owners++
		}
	}
	g, _ := ns[0].svc.store.Group(context.Background(), id)
	if owners != 1 || (g.OwnerID != "m1" && g.OwnerID != "m2") {
		t.Errorf("%d owners, ownerID %q", owners, g.OwnerID)
	}
}

// TestRaceDismissRemovesEverything: dismissal while members join and send
// leaves nothing of the group behind but its sequence counter.
func TestRaceDismissRemovesEverything(t *testing.T) {
	ns := redisNodes(t, 2)
	rdb, _ := testRedis(t)
	_ = rdb
	id := ns[0].create("owner", Public, map[string]any{"groupID": "doomed"})
	concurrently(21, func(i int) int {
		if i == 20 {
			return doOn(ns[0], "owner", "dismissGroup", map[string]any{"groupID": id})
		}
		user := fmt.Sprintf("u%d", i)
		doOn(ns[i%2], user, "joinGroup", map[string]any{"groupID": id})
		return doOn(ns[i%2], user, "sendMessage", map[string]any{"to": id, "type": "TIMTextElem", "payload": map[string]any{"text": "x"}})
	})
	ctx := context.Background()
	st := ns[1].svc.store
	if _, err := st.Group(ctx, id); err != ErrNotFound {
		t.Errorf("group after dismissal: %v", err)
	}
	if ms, _ := st.AllMembers(ctx, id); len(ms) != 0 {
		t.Errorf("%d members left", len(ms))
	}
	if msgs, _ := st.Messages(ctx, id, Range{}); len(msgs) != 0 {
		t.Errorf("%d messages left", len(msgs))
	}
	for i := 0; i < 20; i++ {
		if gs, _ := st.UserGroups(ctx, fmt.Sprintf("u%d", i)); len(gs) != 0 {
			t.Errorf("u%d still has groups %v", i, gs)
		}
	}
}
