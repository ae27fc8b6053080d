package hub

import (
	"encoding/binary"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestEnvelopeRoundTrip(t *testing.T) {
	envs := []*Envelope{
		{},
		{ID: "n1/1", Kind: KindPush, GroupID: "g", ToGroup: true, From: "alice",
			In: json.RawMessage(`{"a":1}`), Out: json.RawMessage(`{"b":"x"}`), Chat: true,
			Seq: 1 << 40, Node: "node-1", Session: 77},
		{ID: "n3/q", Kind: KindPush, GroupID: "live", ToGroup: true, Chat: true, Gather: true, In: json.RawMessage(`{}`)},
		{ID: "n2/z", Kind: KindSetDiscard, GroupID: "@TGS#x", UserIDs: []string{"a", "", "é"}, Discard: true},
		{Kind: KindPush, UserIDs: []string{"bob"}, Notice: json.RawMessage(`{"n":[1,2]}`)},
	}
	for _, env := range envs {
		b := AppendEnvelope(nil, env)
		if len(b) > EncodedEnvelopeSize(env) {
			t.Errorf("%+v: %d bytes, above the bound %d", env, len(b), EncodedEnvelopeSize(env))
		}
		got, err := DecodeEnvelope(b)
		if err != nil || !reflect.DeepEqual(got, env) {
			t.Errorf("round trip of %+v: %+v, %v", env, got, err)
		}
		// The JSON form of earlier nodes is still read.
		js, _ := json.Marshal(env)
		if got, err := DecodeEnvelope(js); err != nil || !reflect.DeepEqual(got, env) {
			t.Errorf("JSON form of %+v: %+v, %v", env, got, err)
		}
	}
}

// Every truncation and a few corruptions of a valid envelope are refused,
// never a panic or a huge allocation.
func TestEnvelopeMalformed(t *testing.T) {
	env := &Envelope{ID: "n1/1", Kind: KindPush, GroupID: "g", UserIDs: []string{"a", "b"}, In: json.RawMessage(`{}`)}
	b := AppendEnvelope(nil, env)
	for n := range len(b) {
		if _, err := DecodeEnvelope(b[:n]); err == nil {
			t.Errorf("a truncation to %d of %d bytes was accepted", n, len(b))
		}
	}
	bad := [][]byte{
		append(append([]byte{}, b...), 0),                                // trailing byte
		append([]byte{envMagic, 9}, b[2:]...),                            // unknown version
		{envMagic, envVersion, 0, 1, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f}, // a 4 GiB ID
		[]byte(`{"k":`),
		{'x'},
	}
	for _, p := range bad {
		if _, err := DecodeEnvelope(p); err == nil {
			t.Errorf("%q was accepted", p)
		}
	}
}

func FuzzDecodeEnvelope(f *testing.F) {
	f.Add(AppendEnvelope(nil, &Envelope{ID: "x", UserIDs: []string{"u"}, Out: json.RawMessage(`1`)}))
	f.Fuzz(func(t *testing.T, b []byte) {
		env, err := DecodeEnvelope(b)
		if err != nil || (len(b) > 0 && b[0] == '{') {
			return
		}
		again, err := DecodeEnvelope(AppendEnvelope(nil, env))
		if err != nil || !reflect.DeepEqual(again, env) {
			t.Fatalf("re-encoding %+v: %+v, %v", env, again, err)
		}
	})
}

func BenchmarkEnvelope(b *testing.B) {
	env := &Envelope{ID: "node-1/3k9", Kind: KindPush, GroupID: "@TGS#2ABCDEFGH", ToGroup: true, From: "alice",
		In:   json.RawMessage(`{"ID":"grp-@TGS#2ABCDEFGH-17","type":"TIMTextElem","payload":{"text":"hello there, a message of about a hundred bytes in all, like most"},"conversationID":"GROUP@TGS#2ABCDEFGH","flow":"in","time":1796279894,"sequence":17}`),
		Chat: true, Seq: 17, Node: "node-1", Session: 42}
	b.Run("binary", func(b *testing.B) {
		var buf []byte
		for b.Loop() {
			buf = AppendEnvelope(buf[:0], env)
			if _, err := DecodeEnvelope(buf); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json", func(b *testing.B) {
		for b.Loop() {
			js, _ := json.Marshal(env)
			var out Envelope
			if err := json.Unmarshal(js, &out); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// envelopeID finds the ID of every binary envelope without decoding it,
// and nothing in the JSON form or in a payload cut before the ID's end.
func TestEnvelopeID(t *testing.T) {
	for _, env := range []*Envelope{
		{Kind: KindPush, ID: "n1-42", GroupID: "g", Seq: 1 << 40, Session: 300, In: json.RawMessage(`{"a":1}`)},
		{Kind: KindPush, ID: ""},
		{Kind: KindSubscribeUser, ID: strings.Repeat("x", 300), UserIDs: []string{"u"}},
	} {
		b := AppendEnvelope(nil, env)
		idEnd := 4 + len(binary.AppendUvarint(nil, env.Seq)) + len(binary.AppendUvarint(nil, env.Session)) +
			len(binary.AppendUvarint(nil, uint64(len(env.ID)))) + len(env.ID)
		for cut := 0; cut <= len(b); cut++ {
			id, ok := envelopeID(string(b[:cut]))
			if want := cut >= idEnd; ok != want || (ok && id != env.ID) {
				t.Errorf("%+v cut at %d of %d: %q, %v; want ok %v", env, cut, len(b), id, ok, want)
			}
		}
	}
	if _, ok := envelopeID(`{"kind":1,"id":"x"}`); ok {
		t.Error("the JSON form has no binary ID")
	}
}
