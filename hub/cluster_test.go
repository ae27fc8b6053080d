package hub

import (
	"context"
	"errors"
	"reflect"
	"strconv"
	"sync"
	"testing"
)

// slowBroker carries nothing until echo is called: a broker whose
// subscriptions are not confirmed yet.
type slowBroker struct {
	mu      sync.Mutex
	handler func(*Envelope)
	sent    []*Envelope
}

func (b *slowBroker) Publish(_ context.Context, out []Outgoing) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, o := range out {
		b.sent = append(b.sent, o.Env)
	}
	return nil
}
func (b *slowBroker) Listen(string, bool)          {}
func (b *slowBroker) SetHandler(f func(*Envelope)) { b.handler = f }

// echo delivers everything published so far back to the node.
func (b *slowBroker) echo() {
	b.mu.Lock()
	sent := b.sent
	b.sent = nil
	b.mu.Unlock()
	for _, env := range sent {
		b.handler(env)
	}
}

// TestSendAppliesHere: a node applies its own envelopes at once, without
// waiting for the broker (a user who logs in and joins at once, before the
// node's subscription to the user's channel is confirmed, is subscribed
// and gets the group's pushes), and the echo changes nothing.
func TestSendAppliesHere(t *testing.T) {
	for _, batch := range []bool{false, true} {
		br := &slowBroker{}
		h := newTestHub(t, Options{Broker: br, NodeID: "n1"})
		s, c := session(h, "bob")
		in, out := msg("m1")
		envs := []*Envelope{
			{Kind: KindSubscribeUser, GroupID: "g", UserIDs: []string{"bob"}},
			{Kind: KindPush, GroupID: "g", ToGroup: true, From: "alice", In: in, Out: out, Seq: 1},
		}
		if batch {
			_ = h.Send(context.Background(), envs...)
		} else {
			for _, env := range envs {
				_ = h.Send(context.Background(), env)
			}
		}
		if got := tokens(t, flushed(t, s, c)); !reflect.DeepEqual(got, []string{"m1/in"}) {
			t.Errorf("batch %v: before the echo bob got %v, want m1/in", batch, got)
		}
		br.echo()
		if got := tokens(t, flushed(t, s, c)); !reflect.DeepEqual(got, []string{"m1/in"}) {
			t.Errorf("batch %v: after the echo bob got %v, want m1/in once", batch, got)
		}
	}
}

// heldBroker is a slowBroker that publishes asynchronously and answers
// only when told to.
type heldBroker struct {
	slowBroker
	thens []func(error)
}

func (b *heldBroker) PublishAsync(ctx context.Context, out []Outgoing, then func(error)) {
	_ = b.Publish(ctx, out)
	b.mu.Lock()
	b.thens = append(b.thens, then)
	b.mu.Unlock()
}

// answer hands every unanswered PublishAsync err.
func (b *heldBroker) answer(err error) {
	b.mu.Lock()
	thens := b.thens
	b.thens = nil
	b.mu.Unlock()
	for _, f := range thens {
		f(err)
	}
}

// TestPost: Post applies the envelopes here at once and hands them to
// the broker in order without waiting for its answer (a failed publish
// is only logged); with a broker that cannot publish asynchronously it
// is Send.
func TestPost(t *testing.T) {
	t.Run("async", func(t *testing.T) {
		br := &heldBroker{}
		h := newTestHub(t, Options{Broker: br, NodeID: "n1"})
		s, c := session(h, "bob")
		in, out := msg("m1")
		in2, out2 := msg("m2")
		h.Post(context.Background(),
			&Envelope{Kind: KindSubscribeUser, GroupID: "g", UserIDs: []string{"bob"}},
			&Envelope{Kind: KindPush, GroupID: "g", ToGroup: true, From: "alice", In: in, Out: out, Seq: 1})
		h.Post(context.Background(), &Envelope{Kind: KindPush, GroupID: "g", ToGroup: true, From: "alice", In: in2, Out: out2, Seq: 2})
		h.Post(context.Background()) // nothing to post: no call
		if got := tokens(t, flushed(t, s, c)); !reflect.DeepEqual(got, []string{"m1/in", "m2/in"}) {
			t.Errorf("before the broker answered bob got %v, want m1/in m2/in", got)
		}
		br.mu.Lock()
		var kinds []Kind
		var ids []string
		for _, env := range br.sent {
			kinds = append(kinds, env.Kind)
			ids = append(ids, env.ID)
		}
		calls := len(br.thens)
		br.mu.Unlock()
		if want := []Kind{KindSubscribeUser, KindPush, KindPush}; !reflect.DeepEqual(kinds, want) || calls != 2 {
			t.Errorf("the broker got %v in %d calls, want %v in 2", kinds, calls, want)
		}
		for _, id := range ids {
			if id == "" {
				t.Errorf("an envelope went out without its ID: %v", ids)
			}
		}
		br.answer(errors.New("redis is down")) // logged, nothing else
		br.echo()
		if got := tokens(t, flushed(t, s, c)); !reflect.DeepEqual(got, []string{"m1/in", "m2/in"}) {
			t.Errorf("after the echo bob got %v, want m1/in m2/in once", got)
		}
	})
	t.Run("sync broker", func(t *testing.T) {
		br := &slowBroker{}
		h := newTestHub(t, Options{Broker: br, NodeID: "n1"})
		s, c := session(h, "bob")
		in, out := msg("m1")
		h.Post(context.Background(),
			&Envelope{Kind: KindSubscribeUser, GroupID: "g", UserIDs: []string{"bob"}},
			&Envelope{Kind: KindPush, GroupID: "g", ToGroup: true, From: "alice", In: in, Out: out, Seq: 1})
		if got := tokens(t, flushed(t, s, c)); !reflect.DeepEqual(got, []string{"m1/in"}) {
			t.Errorf("bob got %v, want m1/in", got)
		}
		br.mu.Lock()
		n := len(br.sent)
		br.mu.Unlock()
		if n != 2 {
			t.Errorf("Publish got %d envelopes, want 2", n)
		}
	})
}

// TestOwnEnvelopes: a node knows its own envelopes by their ID whenever
// they come back (not only while they are in the seen set), and tells
// them from those of an earlier process with the same node ID.
func TestOwnEnvelopes(t *testing.T) {
	br := &slowBroker{}
	h := newTestHub(t, Options{Broker: br, NodeID: "n1"})
	s, c := session(h, "bob")
	in, out := msg("m1")
	_ = h.Send(context.Background(),
		&Envelope{Kind: KindSubscribeUser, GroupID: "g", UserIDs: []string{"bob"}},
		&Envelope{Kind: KindPush, GroupID: "g", ToGroup: true, From: "alice", In: in, Out: out, Seq: 1})
	for i := range seenSize + 10 { // push the seen set round more than once
		h.receive(&Envelope{ID: "n2/" + strconv.Itoa(i), Kind: KindSetDiscard, GroupID: "other"})
	}
	br.echo() // this node's own, long after
	if got := tokens(t, flushed(t, s, c)); !reflect.DeepEqual(got, []string{"m1/in"}) {
		t.Errorf("after the late echo bob got %v, want m1/in once", got)
	}
	// A node that ran before with the same ID: its envelopes are not ours.
	in2, out2 := msg("m2")
	earlier := &Envelope{ID: "n1/1", Node: "n1", Kind: KindPush, GroupID: "g", ToGroup: true, From: "alice", In: in2, Out: out2, Seq: 2}
	h.receive(earlier)
	if got := tokens(t, flushed(t, s, c)); !reflect.DeepEqual(got, []string{"m1/in", "m2/in"}) {
		t.Errorf("after an earlier process's envelope bob got %v, want m1/in m2/in", got)
	}
	if !h.seenHere(h.idPrefix+"7") || h.seenHere("n1/7") {
		t.Error("seenHere does not tell this hub's IDs from others")
	}
}
