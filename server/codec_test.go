package server

import (
	"bytes"
	"encoding/json"
	"reflect"
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
