package server

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"testing"

	"chatd/groups"
	"chatd/hub"
)

// encodeFlows gives exactly what encodeMessage gives for each flow, even
// when the message's own strings hold the bytes it looks for.
func TestEncodeFlows(t *testing.T) {
	tricky := `,"flow":"in","time":`
	msgs := []*groups.Message{
		{ID: "m1", Type: groups.TextElem, Payload: json.RawMessage(`{"text":"hi"}`), To: "g", From: "a", Time: 5, Sequence: 1},
		{ID: tricky, Type: groups.TextElem, Payload: json.RawMessage(`{"text":` + quote(tricky) + `}`), To: tricky,
			From: tricky, Nick: tricky, NameCard: tricky, CloudCustomData: tricky, Status: "success", Time: -1, Sequence: 1 << 60},
		{ID: "m3", Type: groups.CustomElem, Payload: json.RawMessage(`{"data":"<&>","description":"","extension":""}`), Nick: "é\u2028"},
	}
	for _, m := range msgs {
		in, out := encodeFlows(m)
		if want := encodeMessage(m, "in"); !bytes.Equal(in, want) {
			t.Errorf("in:\n got %s\nwant %s", in, want)
		}
		if want := encodeMessage(m, "out"); !bytes.Equal(out, want) {
			t.Errorf("out:\n got %s\nwant %s", out, want)
		}
	}
}

func quote(s string) string { b, _ := json.Marshal(s); return string(b) }

// encodeSuccess of a sendMessage reply reuses the out element and says
// the same as encodeReply; other replies are encodeReply's.
func TestEncodeSuccess(t *testing.T) {
	m := &groups.Message{ID: "m1", Type: groups.TextElem, Payload: json.RawMessage(`{"text":"hi"}`), To: "g", From: "a", Time: 5, Sequence: 7}
	in, out := encodeFlows(m)
	envs := []*hub.Envelope{{Kind: hub.KindSubscribeUser, GroupID: "g"}, {Kind: hub.KindPush, GroupID: "g", Seq: 7, In: in, Out: out}}
	reply := *m
	reply.Flow = "out"
	data := groups.MessageReply{Message: &reply}
	id := json.RawMessage(`"req-1"`)
	var got, want any
	if err := json.Unmarshal(encodeSuccess(id, data, envs), &got); err != nil {
		t.Fatal(err)
	}
	_ = json.Unmarshal(encodeReply(id, 0, "", data), &want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("sendMessage reply:\n got %v\nwant %v", got, want)
	}
	other := map[string]int{"x": 1}
	if g, w := encodeSuccess(id, other, envs), encodeReply(id, 0, "", other); !bytes.Equal(g, w) {
		t.Errorf("other reply: %s, want %s", g, w)
	}
	dup := reply // a resend within the window: no push went out
	if g, w := encodeSuccess(id, groups.MessageReply{Message: &dup}, nil), encodeReply(id, 0, "", groups.MessageReply{Message: &dup}); !bytes.Equal(g, w) {
		t.Errorf("reply of a repeat: %s, want %s", g, w)
	}
}

// The fast path of decodeRequest answers what encoding/json does, for
// every frame it takes.
func FuzzDecodeRequest(f *testing.F) {
	for _, s := range []string{`{"id":7,"op":"ping"}`, `{"id":"a-1","op":"ping","data":{}}`,
		`{ "op" : "sendMessage" , "data" : {"to":"g","payload":{"text":"a\"}b"}} , "id" : -1.5e3 }`,
		`{"id":1,"op":"x","op":"y"}`, `{"id":1,"op":"p\u0069ng"}`, `{"id":1,"op":""}`, `{"data":null,"id":2,"op":"ping"}`,
		`{"id":1,"op":"ping","data":[1]}`, `{"id":1,"op":"ping","x":{"y":[1,{"z":"}"}]}}`, `{}`, `[]`, ` `} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		fast := fastRequest(p)
		if fast == nil {
			return
		}
		slow, err := slowRequest(p)
		if err != nil {
			t.Fatalf("%q: fast path took it, encoding/json refuses it: %v", p, err)
		}
		if !bytes.Equal(fast.ID, slow.ID) || fast.Op != slow.Op || !bytes.Equal(fast.Data, slow.Data) {
			t.Fatalf("%q: fast %+v, encoding/json %+v", p, fast, slow)
		}
	})
}

func BenchmarkDecodeRequest(b *testing.B) {
	p := []byte(`{"id":17,"op":"sendMessage","data":{"to":"@TGS#2ABCDEFGH","conversationType":"GROUP","type":"TIMTextElem","payload":{"text":"hello there, about a hundred bytes of text in a message"},"priority":"Normal"}}`)
	b.Run("fast", func(b *testing.B) {
		for b.Loop() {
			if fastRequest(p) == nil {
				b.Fatal("not taken")
			}
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		for b.Loop() {
			if _, err := slowRequest(p); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// noticeFrame writes what encodePush writes for the notice push.
func TestNoticeFrame(t *testing.T) {
	for _, typ := range []int{groups.NoticeCreated, groups.NoticeKicked} {
		m := &groups.Message{ID: "sys-1", Type: groups.SystemNoticeElem, To: "bob", Time: 9,
			Payload: json.RawMessage(`{"operatorID":"a<b","operationType":` + strconv.Itoa(typ) + `,"groupProfile":{"groupID":"g","name":"n","type":"Public"},"handleMessage":"\u2028"}`)}
		in, _ := encodeFlows(m)
		want := encodePush("receiveGroupSystemNotice", struct {
			Type    int             `json:"type"`
			Message json.RawMessage `json:"message"`
		}{m.NoticeType(), in})
		if got := noticeFrame(m, in); !bytes.Equal(got, want) {
			t.Errorf("type %d:\n got %s\nwant %s", typ, got, want)
		}
	}
}

// encodeSuccess of a reply that appends itself (a group view inside)
// writes what encodeReply writes.
func TestEncodeSuccessAppender(t *testing.T) {
	view := groups.View{"groupID": "@TGS#1", "name": "<n>", "memberNum": 3, "selfInfo": &groups.SelfInfo{Role: groups.RoleMember}}
	for _, data := range []any{
		groups.JoinReply{Status: groups.JoinedSuccess, Group: view},
		groups.GroupReply{Group: view},
		groups.ListReply{GroupList: []groups.View{view, view}},
	} {
		for _, id := range []json.RawMessage{json.RawMessage(`"req-1"`), json.RawMessage(`42`), nil} {
			if got, want := encodeSuccess(id, data, nil), encodeReply(id, 0, "", data); !bytes.Equal(got, want) {
				t.Errorf("%T id %s:\n got %s\nwant %s", data, id, got, want)
			}
		}
	}
}
