package hub

import (
	"encoding/json"
	"reflect"
	"strconv"
	"testing"
)

func batchOf(envs ...*Envelope) []byte {
	encs := make([][]byte, len(envs))
	for i, env := range envs {
		encs[i] = AppendEnvelope(nil, env)
	}
	return appendBatch(nil, encs...)
}

// TestEnvelopeBatch: a batch decodes to its envelopes in order; a single
// envelope in either form decodes as before; every truncation and a few
// corruptions of a batch are refused.
func TestEnvelopeBatch(t *testing.T) {
	envs := []*Envelope{
		{ID: "n1/1", Kind: KindSubscribeUser, GroupID: "g", UserIDs: []string{"bob"}},
		{ID: "n1/2", Kind: KindPush, GroupID: "g", ToGroup: true, UserIDs: []string{"bob"}, In: json.RawMessage(`{"a":1}`), Seq: 3},
		{ID: "n1/3", Kind: KindPush, UserIDs: []string{"bob"}, Notice: json.RawMessage(`{"n":1}`)},
	}
	b := batchOf(envs...)
	got, err := DecodeEnvelopes(b)
	if err != nil || !reflect.DeepEqual(got, envs) {
		t.Fatalf("batch: %+v, %v", got, err)
	}
	for _, one := range [][]byte{AppendEnvelope(nil, envs[1]), func() []byte { js, _ := json.Marshal(envs[1]); return js }()} {
		if got, err := DecodeEnvelopes(one); err != nil || len(got) != 1 || !reflect.DeepEqual(got[0], envs[1]) {
			t.Errorf("one envelope %q: %+v, %v", one, got, err)
		}
	}
	for n := range len(b) {
		if _, err := DecodeEnvelopes(b[:n]); err == nil {
			t.Errorf("a truncation to %d of %d bytes was accepted", n, len(b))
		}
	}
	bad := [][]byte{
		append(append([]byte{}, b...), 0),                      // trailing byte
		{envMagic, envBatchVersion, 0},                         // no envelopes
		{envMagic, envBatchVersion, 1, 2, 'x', 'y'},            // a part that is no envelope
		{envMagic, envBatchVersion, 0xff, 0xff, 0xff, 0xff, 1}, // a huge count
		{envMagic, envBatchVersion, 1, 0xff, 0xff, 0xff, 0x0f}, // a huge part
	}
	for _, p := range bad {
		if _, err := DecodeEnvelopes(p); err == nil {
			t.Errorf("%q was accepted", p)
		}
	}
}

// TestAllSeen: a batch is dropped undecoded only when every one of its
// envelopes is seen.
func TestAllSeen(t *testing.T) {
	b := string(batchOf(&Envelope{ID: "n/1"}, &Envelope{ID: "n/2"}))
	seenOf := func(ids ...string) func(string) bool {
		return func(id string) bool {
			for _, s := range ids {
				if s == id {
					return true
				}
			}
			return false
		}
	}
	if !allSeen(b, seenOf("n/1", "n/2", "x")) {
		t.Error("every envelope seen: not all seen")
	}
	for _, ids := range [][]string{{"n/1"}, {"n/2"}, nil} {
		if allSeen(b, seenOf(ids...)) {
			t.Errorf("only %v seen: all seen", ids)
		}
	}
	if allSeen(b[:len(b)-1], seenOf("n/1", "n/2")) {
		t.Error("a truncated batch: all seen")
	}
	for _, p := range []string{"", "\xce", string(AppendEnvelope(nil, &Envelope{ID: "n/1"}))} { // no batch (found by the fuzzer)
		if allSeen(p, seenOf("n/1")) {
			t.Errorf("%q: all seen", p)
		}
	}
}

// TestEncodeGroupsByChannel: the envelopes of one Publish that share a
// channel go out as one message on it, in order; channels keep the order
// they first appear in; without a shared channel every message is an
// envelope of its own.
func TestEncodeGroupsByChannel(t *testing.T) {
	b := NewRedisBroker(nil, RedisBrokerOptions{Prefix: "p"})
	sub := &Envelope{ID: "n/1", Kind: KindSubscribeUser, GroupID: "g", UserIDs: []string{"bob"}}
	tip := &Envelope{ID: "n/2", Kind: KindPush, GroupID: "g", ToGroup: true, UserIDs: []string{"bob"}}
	notice := &Envelope{ID: "n/3", Kind: KindPush, UserIDs: []string{"bob"}}
	u, g := UserChannel("bob"), GroupChannel("g")
	msgs, bufs := b.encode([]Outgoing{{Channels: []string{u}, Env: sub}, {Channels: []string{g, u}, Env: tip}, {Channels: []string{u}, Env: notice}})
	defer recycle(bufs)
	if len(msgs) != 2 || msgs[0].channel != b.channel(u) || msgs[1].channel != b.channel(g) {
		t.Fatalf("messages on %v, want one on %s then one on %s", msgs, u, g)
	}
	got, err := DecodeEnvelopes(msgs[0].payload)
	if err != nil || len(got) != 3 || got[0].ID != "n/1" || got[1].ID != "n/2" || got[2].ID != "n/3" {
		t.Errorf("on %s: %+v, %v", u, got, err)
	}
	if got, err := DecodeEnvelopes(msgs[1].payload); err != nil || len(got) != 1 || got[0].ID != "n/2" || isBatch(string(msgs[1].payload)) {
		t.Errorf("on %s: %+v, %v (one envelope, not a batch)", g, got, err)
	}
	msgs, bufs2 := b.encode([]Outgoing{{Channels: []string{g}, Env: tip}, {Channels: []string{u}, Env: sub}})
	defer recycle(bufs2)
	if len(msgs) != 2 || isBatch(string(msgs[0].payload)) || isBatch(string(msgs[1].payload)) || msgs[0].channel != b.channel(g) {
		t.Errorf("no shared channel: %v", msgs)
	}
	// More envelopes than the pairwise check takes: a notice to each of
	// twelve users, the first user's twice.
	var many []Outgoing
	for i := range 12 {
		many = append(many, Outgoing{Channels: []string{UserChannel("u" + strconv.Itoa(i))}, Env: &Envelope{ID: "n/m" + strconv.Itoa(i)}})
	}
	many = append(many, Outgoing{Channels: []string{UserChannel("u0")}, Env: &Envelope{ID: "n/again"}})
	msgs, bufs3 := b.encode(many)
	defer recycle(bufs3)
	if len(msgs) != 12 || msgs[0].channel != b.channel(UserChannel("u0")) || msgs[11].channel != b.channel(UserChannel("u11")) {
		t.Fatalf("twelve users: %d messages", len(msgs))
	}
	if got, err := DecodeEnvelopes(msgs[0].payload); err != nil || len(got) != 2 || got[0].ID != "n/m0" || got[1].ID != "n/again" {
		t.Errorf("u0's message: %+v, %v", got, err)
	}
}

func FuzzDecodeEnvelopes(f *testing.F) {
	f.Add(batchOf(&Envelope{ID: "a"}, &Envelope{ID: "b", UserIDs: []string{"u"}}))
	f.Add([]byte{envMagic, envBatchVersion, 1, 4, envMagic, envVersion, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		envs, err := DecodeEnvelopes(b)
		if err == nil && len(envs) == 0 {
			t.Fatal("no error and no envelope")
		}
		_ = allSeen(string(b), func(string) bool { return true })
	})
}
