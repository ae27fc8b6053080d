package groups

import (
	"bytes"
	"encoding/json"
	"strconv"
	"testing"
)

// TestMessageJSONMatches: AppendJSON writes what json.Marshal writes,
// for messages with every kind of character in every string, and
// payloads compact or not.
func TestMessageJSONMatches(t *testing.T) {
	strs := []string{"", "plain", `quo"te\back`, "<b>&amp;</b>", "line\nbreak\ttab\r\b\f\x00\x01\x1f\x7f",
		"héllo wörld 你好 🎉", "bad \xff utf8 \xc3", "sep \u2028 and \u2029", "\xe2\x80", "end\xe2"}
	payloads := []string{`{"text":"hi"}`, `{"text":"<b>"}`, `{ "text" : "a b",  "n": [1, 2] }`,
		`{"text":"\u2028"}`, "{\"text\":\"\u2029\"}", `"just a string"`, `null`, `{"data":"x","description":"","extension":"&"}`}
	i := 0
	for _, s := range strs {
		for _, p := range payloads {
			i++
			m := &Message{ID: s, Type: TextElem, Payload: json.RawMessage(p), ConversationID: "GROUP" + s,
				ConversationType: ConvGroup, To: s, From: s + "x", Flow: "in", Time: int64(i) * 1e9, Sequence: uint64(i) << 40,
				Priority: Priority(s), Nick: s, NameCard: s, CloudCustomData: s, Status: "success"}
			want, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			got, err := m.AppendJSON([]byte("prefix"))
			if err != nil {
				t.Fatalf("AppendJSON(%q, %q): %v", s, p, err)
			}
			if !bytes.Equal(got[len("prefix"):], want) {
				t.Errorf("AppendJSON(%q, %q):\n got %s\nwant %s", s, p, got[len("prefix"):], want)
			}
		}
	}
	m := &Message{ID: "nil payload"} // no payload at all: null
	want, _ := json.Marshal(m)
	if got, err := m.AppendJSON(nil); err != nil || !bytes.Equal(got, want) {
		t.Errorf("AppendJSON without a payload = %s, %v; want %s", got, err, want)
	}
}

// TestMessageJSONInvalidPayload: a payload that is not JSON is an error,
// as it is to json.Marshal.
func TestMessageJSONInvalidPayload(t *testing.T) {
	for _, p := range []string{``, `{"text":`, `{"a":1}x`, `{ "a": }`, "\xff"} {
		m := &Message{Payload: json.RawMessage(p)}
		if _, err := json.Marshal(m); err == nil {
			t.Fatalf("json.Marshal took %q", p)
		}
		if b, err := m.AppendJSON(nil); err == nil {
			t.Errorf("AppendJSON(%q) = %s, want an error", p, b)
		}
	}
}

func FuzzMessageJSON(f *testing.F) {
	f.Add("id", "text", `{"text":"hi"}`, int64(1), uint64(2))
	f.Add("<\u2028\xff", "\x00", `{ "a" : [1, "<"] }`, int64(-5), uint64(0))
	f.Fuzz(func(t *testing.T, s, nick, payload string, tm int64, seq uint64) {
		m := &Message{ID: s, Type: nick, Payload: json.RawMessage(payload), ConversationID: s, ConversationType: nick,
			To: s, From: nick, Flow: s, Time: tm, Sequence: seq, Priority: Priority(nick), Nick: nick, NameCard: s,
			CloudCustomData: payload, Status: s}
		want, werr := json.Marshal(m)
		got, gerr := m.AppendJSON(nil)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("json.Marshal error %v, AppendJSON error %v", werr, gerr)
		}
		if werr == nil && !bytes.Equal(got, want) {
			t.Fatalf("\n got %s\nwant %s", got, want)
		}
	})
}

func BenchmarkMessageJSON(b *testing.B) {
	m := &Message{ID: "144115188075855872-1", Type: TextElem, Payload: json.RawMessage(`{"text":"hello, this is a message of about a hundred bytes, give or take a few more words"}`),
		ConversationID: "GROUP@TGS#abc", ConversationType: ConvGroup, To: "@TGS#abc", From: "user42", Flow: "in",
		Time: 1764700000, Sequence: 12345, Priority: Normal, Nick: "Nick", Status: "success"}
	b.Run("reflect", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(m); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("append", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			var err error
			if buf, err = m.AppendJSON(buf[:0]); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// storedRest and templateByReflection are how messageTemplate encoded a
// message before it had its own encoder: the reference it must match.
type storedRest struct {
	*Message
	Time     *struct{} `json:"time,omitempty"`
	Sequence *struct{} `json:"sequence,omitempty"`
	ID       *struct{} `json:"ID,omitempty"`
}

func templateByReflection(groupID string, m *Message) string {
	rest, err := json.Marshal(storedRest{Message: m})
	if err != nil {
		panic(err)
	}
	id, _ := json.Marshal(m.ID)
	if m.ID == "" {
		zero, _ := json.Marshal(groupMessageID(groupID, 0))
		id = append(zero[:len(zero)-2:len(zero)-2], "\x00\""...)
	}
	return `{"time":` + strconv.FormatInt(m.Time, 10) + `,"sequence":` + "\x00" +
		`,"ID":` + string(id) + "," + string(rest[1:])
}

// TestMessageTemplate: the store's template of a message, with and
// without an ID, is what it was when encoding/json wrote it.
func TestMessageTemplate(t *testing.T) {
	for _, id := range []string{"", "client-<id>", "144115188075855872-9"} {
		m := &Message{ID: id, Type: TextElem, Payload: json.RawMessage(`{"text":"a <b> \u2028 c"}`), ConversationID: "GROUP@TGS#1",
			ConversationType: ConvGroup, To: "@TGS#1", From: "alice", Time: 1764700000, Priority: Normal, Nick: "Ali\"ce",
			NameCard: "\xff", Status: "success"}
		got, err := messageTemplate("@TGS#1", m)
		if err != nil {
			t.Fatal(err)
		}
		if want := templateByReflection("@TGS#1", m); string(got) != want {
			t.Errorf("ID %q:\n got %q\nwant %q", id, got, want)
		}
	}
}

// TestNoticeTypeKept: a notice built here answers NoticeType without
// decoding its payload, with what the payload says.
func TestNoticeTypeKept(t *testing.T) {
	for typ := NoticeJoinRequest; typ <= 20; typ++ {
		n := newNotice(&Group{ID: "g", Name: "n", Type: Public}, "bob", "alice", typ, 5, "")
		decoded := *n
		decoded.noticeType = 0
		if n.NoticeType() != typ || decoded.NoticeType() != typ {
			t.Errorf("type %d: kept %d, decoded %d", typ, n.NoticeType(), decoded.NoticeType())
		}
	}
}

// TestMessageJSONBuiltHere: the messages the service builds (a chat
// message, a tip, a notice) are marked as encoded, and AppendJSON,
// copying their payloads unchecked, still writes what json.Marshal
// writes.
func TestMessageJSONBuiltHere(t *testing.T) {
	g := &Group{ID: "@TGS#1", Name: "<n&m>", Type: Public}
	var built []*Message
	for _, data := range []string{
		`{"to":"@TGS#1","type":"TIMTextElem","payload":{"text":"hi <b>&</b> \u2028"}}`,
		`{"to":"@TGS#1","type":"TIMTextElem","payload":{"text":"fast <b>"}}`,
		`{"to":"@TGS#1","type":"TIMCustomElem","payload":{"data":"<d>","description":"x","extension":"&"}}`,
	} {
		var r sendRequest
		if !parseSendFast([]byte(data), &r) {
			if err := parseData([]byte(data), &r); err != nil {
				t.Fatal(err)
			}
		}
		p, err := r.payload()
		if err != nil {
			t.Fatalf("%s: %v", data, err)
		}
		built = append(built, r.message(g, "u1", p, "nick", 5))
	}
	built = append(built, newTip(g, 5, TipPayload{OperatorID: "u<1>", OperationType: 1, UserIDList: []string{"&"}}),
		newNotice(g, "u2", "u1", 2, 5, "<why>"))
	for _, m := range built {
		if !m.encoded {
			t.Errorf("%s: not marked as encoded", m.Type)
		}
		want, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := m.AppendJSON(nil); err != nil || !bytes.Equal(got, want) {
			t.Errorf("AppendJSON = %s, %v\nwant %s", got, err, want)
		}
	}
}

// TestPayloadJSONMatches: tip and notice payloads encode as json.Marshal
// encodes them, whatever their strings and lists hold.
func TestPayloadJSONMatches(t *testing.T) {
	strs := []string{"", "u1", `q"b\`, "<&>", "\u2028\xff\x01", "你好"}
	for _, s := range strs {
		tips := []TipPayload{
			{OperatorID: s, OperationType: 1, UserIDList: []string{s, "x"}},
			{OperatorID: s, OperationType: 2, UserIDList: []string{}},
			{OperatorID: s, OperationType: 3},
			{OperatorID: s, OperationType: 7, UserIDList: []string{s}, MemberList: []TipMember{{UserID: s, MuteTime: 60}, {UserID: "b"}}},
			{OperatorID: s, OperationType: 6, UserIDList: []string{}, NewGroupProfile: map[string]any{"name": s, "n": 1}},
			{OperatorID: s, MemberList: []TipMember{}},
		}
		for _, p := range tips {
			want, err := json.Marshal(p)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.appendJSON([]byte("x")); !bytes.Equal(got[1:], want) {
				t.Errorf("tip:\n got %s\nwant %s", got[1:], want)
			}
		}
		n := NoticePayload{OperatorID: s, OperationType: 4, GroupProfile: NoticeGroup{GroupID: s, Name: s + "n", Type: Public},
			HandleMessage: s, UserDefinedField: s}
		want, _ := json.Marshal(n)
		if got := n.appendJSON(nil); !bytes.Equal(got, want) {
			t.Errorf("notice:\n got %s\nwant %s", got, want)
		}
	}
}

// TestMemberJSONMatches: a member record encodes as json.Marshal encodes
// it, its optional fields set or not.
func TestMemberJSONMatches(t *testing.T) {
	for _, s := range []string{"", "u1", `q"<&>\u2028`, "\xff你"} {
		for _, m := range []Member{
			{UserID: s, Role: RoleMember, JoinTime: 1, JoinSeq: 2},
			{UserID: s, Role: RoleAdmin, JoinTime: -5, NameCard: s + "c", MuteUntil: 99, Remind: AcceptAndNotify},
			{UserID: s, Role: Role(s), Remind: RemindType(s)},
			{UserID: s, Role: RoleOwner, Custom: map[string]string{"b": s, "a": "1"}},
			{UserID: s, Custom: map[string]string{}},
		} {
			want, err := json.Marshal(&m)
			if err != nil {
				t.Fatal(err)
			}
			if got := m.appendJSON(nil); !bytes.Equal(got, want) {
				t.Errorf("member:\n got %s\nwant %s", got, want)
			}
		}
	}
}
