package hub

import (
	"context"
	"reflect"
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
