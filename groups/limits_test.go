package groups

import (
	"fmt"
	"testing"
)

// TestLimitsAndTruncation pins the §2 limits that cut rather than fail, and
// that a refused update changes nothing.
func TestLimitsAndTruncation(t *testing.T) {
	f := newFixture(t, NewMemoryStore(), Options{})
	var ids []string
	for i := 0; i < 120; i++ {
		ids = append(ids, fmt.Sprintf("u%03d", i))
	}
	id := f.create("o", Private, map[string]any{"memberList": members(ids...)})
	r, _ := f.ok("o", "getGroupMemberList", map[string]any{"groupID": id, "count": 500})
	if n := len(r["memberList"].([]any)); n != MaxMemberCount {
		t.Errorf("getGroupMemberList count 500 gave %d, want %d", n, MaxMemberCount)
	}
	r, _ = f.ok("o", "getGroupMemberList", map[string]any{"groupID": id})
	if n := len(r["memberList"].([]any)); n != DefaultMemberCount {
		t.Errorf("default member page %d, want %d", n, DefaultMemberCount)
	}
	r, _ = f.ok("o", "getGroupMemberProfile", map[string]any{"groupID": id, "userIDList": ids[:60]})
	if n := len(r["memberList"].([]any)); n != MaxProfileUsers {
		t.Errorf("getGroupMemberProfile of 60 gave %d, want the first %d", n, MaxProfileUsers)
	}
	for i := 0; i < 120; i++ {
		f.ok("o", "sendMessage", map[string]any{"to": id, "type": "TIMTextElem", "payload": map[string]any{"text": "x"}})
	}
	r, _ = f.ok("o", "getMessageList", map[string]any{"conversationID": "GROUP" + id, "count": 100})
	if n := len(r["messageList"].([]any)); n != MaxPageSize {
		t.Errorf("getMessageList count 100 gave %d, want %d", n, MaxPageSize)
	}
	r, _ = f.ok("o", "syncMessages", map[string]any{"groupID": id, "afterSequence": 0, "count": 1000})
	if n := len(r["messageList"].([]any)); n != MaxSyncSize || r["isCompleted"] != false {
		t.Errorf("syncMessages count 1000 gave %d (completed %v), want %d", n, r["isCompleted"], MaxSyncSize)
	}

	pub := f.create("o", Public, map[string]any{"memberList": []any{map[string]any{"userID": "a", "role": "Admin"}}})
	f.wantCode(CodeNoPermission, "a", "updateGroupProfile", map[string]any{"groupID": pub, "name": "renamed", "muteAllMembers": true})
	r, _ = f.ok("o", "getGroupProfile", map[string]any{"groupID": pub})
	if g := r["group"].(map[string]any); g["name"] != "g" || g["muteAllMembers"] != false {
		t.Errorf("a refused update changed the group: %v", g)
	}
	var kvs []any
	for i := 0; i < MaxCustomKeys; i++ {
		kvs = append(kvs, map[string]any{"key": fmt.Sprintf("k%d", i), "value": "v"})
	}
	f.ok("o", "updateGroupProfile", map[string]any{"groupID": pub, "groupCustomField": kvs})
	f.wantCode(CodeInvalidParam, "o", "updateGroupProfile", map[string]any{"groupID": pub,
		"groupCustomField": []any{map[string]any{"key": "one-more", "value": "v"}}})
	f.ok("o", "updateGroupProfile", map[string]any{"groupID": pub, "groupCustomField": []any{
		map[string]any{"key": "k0", "value": ""}, map[string]any{"key": "one-more", "value": "v"}}}) // 16 after the merge
}
