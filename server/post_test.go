package server

import (
	"context"
	"sync"
	"testing"

	"chatd/groups"
	"chatd/hub"
)

// stuckBroker publishes asynchronously and never answers; a Publish waits
// until its ctx ends.
type stuckBroker struct {
	mu    sync.Mutex
	posts int
	kinds []hub.Kind
}

func (b *stuckBroker) Publish(ctx context.Context, _ []hub.Outgoing) error {
	<-ctx.Done()
	return ctx.Err()
}

func (b *stuckBroker) PublishAsync(_ context.Context, out []hub.Outgoing, _ func(error)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.posts++
	for _, o := range out {
		b.kinds = append(b.kinds, o.Env.Kind)
	}
}

func (b *stuckBroker) Listen(string, bool)            {}
func (b *stuckBroker) SetHandler(func(*hub.Envelope)) {}

// TestReplyDoesNotWaitForBroker: a request's reply leaves once the store
// has acknowledged it, with its pushes handed to the broker but not yet
// confirmed, and the pushes reach this node's sessions at once.
func TestReplyDoesNotWaitForBroker(t *testing.T) {
	br := &stuckBroker{}
	e := newEnv(t, groups.NewMemoryStore(), func(_ *Options, ho *hub.Options) { ho.Broker, ho.NodeID = br, "n1" })
	alice := e.login("alice")
	bob := e.login("bob")
	var created groupReply
	alice.mustOK("createGroup", map[string]any{"name": "fans", "type": "Public"}, &created)
	gid := created.Group.GroupID
	bob.mustOK("joinGroup", map[string]any{"groupID": gid})
	alice.mustOK("sendMessage", map[string]any{"to": gid, "conversationType": "GROUP", "type": "TIMTextElem",
		"payload": map[string]any{"text": "hi"}})
	if m := bob.messages(2); m[0].Type != groups.GroupTipElem || m[1].Type != groups.TextElem {
		t.Errorf("bob got %+v, want the join tip and the message", m)
	}
	br.mu.Lock()
	defer br.mu.Unlock()
	if br.posts < 3 || len(br.kinds) < 4 {
		t.Errorf("the broker got %d posts (%v), want those of createGroup, joinGroup and sendMessage", br.posts, br.kinds)
	}
}
