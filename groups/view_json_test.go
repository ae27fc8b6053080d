package groups

import (
	"bytes"
	"encoding/json"
	"testing"
)

// viewByReflection is how encoding/json writes a View without its
// MarshalJSON: the reference.
func viewByReflection(t *testing.T, v View) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any(v))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestViewJSONMatches: a view encodes to the bytes encoding/json gives
// the same map, for the views the service builds (every group type, with
// custom fields, a last message and odd strings) and for values it has
// no case for.
func TestViewJSONMatches(t *testing.T) {
	odd := "<b>&\"\\\n\u2028\xff é"
	g := &Group{ID: "@TGS#1" + odd, Name: odd, Avatar: "a", Type: Public, Introduction: odd, Notification: "",
		OwnerID: "alice", CreateTime: 1764700000, InfoSeq: 1 << 60, LastInfoTime: -1, MemberNum: 3, MaxMemberNum: 2000,
		MuteAll: true, JoinOption: NeedPermission, Seq: 41, Custom: map[string]string{"b": odd, "a": "1", "c<": ""},
		Last: &LastMessage{LastTime: 5, LastSequence: 41, FromAccount: odd, MessageForShow: odd}}
	self := &Member{UserID: "bob", Role: RoleAdmin, JoinTime: 9, NameCard: odd, Remind: AcceptAndNotify}
	views := map[string]View{
		"public":   publicView(g),
		"member":   memberView(g, self, nil),
		"stranger": memberView(&Group{ID: "x", Type: Private}, nil, []string{"a"}),
		"list":     listView(g, self, []string{"ownerID", "memberNum", "joinOption"}),
		"empty":    {},
		"other":    {"z": []string{"x"}, "y": map[string]int{"k": 1}, "x": nil, "w": 1.5, "v": (*SelfInfo)(nil), "u": []KV(nil)},
	}
	for name, v := range views {
		got, err := v.AppendJSON([]byte("x"))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if want := viewByReflection(t, v); !bytes.Equal(got[1:], want) {
			t.Errorf("%s:\n got %s\nwant %s", name, got[1:], want)
		}
	}
	var none View
	if got, _ := none.AppendJSON(nil); string(got) != "null" {
		t.Errorf("a nil view: %s", got)
	}
}

// TestReplyJSONMatches: the replies that hold views append what
// json.Marshal writes for them.
func TestReplyJSONMatches(t *testing.T) {
	g := &Group{ID: "@TGS#1", Name: "<n>", Type: Public, Custom: map[string]string{"k": "v"}}
	v := memberView(g, &Member{UserID: "bob", Role: RoleMember}, nil)
	replies := []interface {
		AppendJSON([]byte) ([]byte, error)
	}{
		JoinReply{Status: JoinedSuccess, Group: v}, JoinReply{Status: WaitAdminApproval}, JoinReply{Status: "x", Group: View{}},
		GroupReply{Group: v}, GroupReply{},
		ListReply{GroupList: []View{v, publicView(g), nil}}, ListReply{GroupList: []View{}}, ListReply{},
		groupIDRequest{GroupID: "@TGS#1"}, groupIDRequest{GroupID: "<a\"b\u2028\xff>"}, groupIDRequest{},
	}
	for _, r := range replies {
		want, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		got, err := r.AppendJSON(nil)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%T:\n got %s (%v)\nwant %s", r, got, err, want)
		}
	}
}

func BenchmarkViewJSON(b *testing.B) {
	g := &Group{ID: "@TGS#abc", Name: "chatbench ops 1", Type: Public, OwnerID: "alice", CreateTime: 1764700000,
		MemberNum: 10, MaxMemberNum: 2000, JoinOption: FreeAccess, Seq: 41, Last: &LastMessage{LastTime: 5, LastSequence: 41, FromAccount: "a", MessageForShow: "hi"}}
	v := memberView(g, &Member{UserID: "bob", Role: RoleMember, JoinTime: 9}, nil)
	b.Run("reflect", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = json.Marshal(map[string]any(v))
		}
	})
	b.Run("append", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			buf, _ = v.AppendJSON(buf[:0])
		}
	})
}
