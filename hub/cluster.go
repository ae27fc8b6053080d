package hub

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Kind says what an Envelope asks every node to do.
type Kind uint8

// The envelope kinds.
const (
	KindPush            Kind = iota + 1 // deliver a message (Push fields)
	KindSubscribeUser                   // UserIDs' sessions listen to GroupID
	KindUnsubscribeUser                 // UserIDs' sessions stop listening to GroupID
	KindDropGroup                       // every session stops listening to GroupID
	KindSetDiscard                      // Discard on/off for UserIDs in GroupID
)

// Envelope is one fan-out instruction as it travels between nodes: a Push
// (its element bytes encoded once, by the sending node) or a subscription
// change addressed to users or to a group.
type Envelope struct {
	ID      string          `json:"id"` // unique per sending node and envelope
	Kind    Kind            `json:"k"`
	GroupID string          `json:"g,omitempty"`
	ToGroup bool            `json:"tg,omitempty"` // KindPush: to the group's subscribers
	UserIDs []string        `json:"u,omitempty"`
	From    string          `json:"f,omitempty"`
	In      json.RawMessage `json:"i,omitempty"`
	Out     json.RawMessage `json:"o,omitempty"`
	Notice  json.RawMessage `json:"n,omitempty"`
	Chat    bool            `json:"c,omitempty"`
	Seq     uint64          `json:"s,omitempty"` // the group's sequence (0 = unordered)
	Node    string          `json:"nd,omitempty"`
	Session uint64          `json:"x,omitempty"` // the sending session on Node: gets no push
	Discard bool            `json:"d,omitempty"`
	Gather  bool            `json:"ga,omitempty"` // KindPush: Push.Gather
}

// Broker carries envelopes between the nodes of a cluster. A node listens
// only to the channels of groups and users that have sessions on it.
type Broker interface {
	// Publish sends each envelope on each of its channels, in order, to
	// every node listening to one of them (this node included), in one
	// round trip where the broker can. A node may receive one more than
	// once.
	Publish(ctx context.Context, out []Outgoing) error
	// Listen starts (on) or stops listening to channel. It is called with
	// hub locks held and must not block or call back into the hub.
	Listen(channel string, on bool)
	// SetHandler sets the function incoming envelopes go to.
	SetHandler(f func(*Envelope))
}

// AsyncBroker is a Broker that can publish without its caller waiting
// for the outcome.
type AsyncBroker interface {
	Broker
	// PublishAsync is Publish handing the outcome to then instead of
	// returning it: out goes after everything published before it from
	// this node, ahead of anything published after it. It may wait while
	// too many earlier calls are unanswered, or until ctx ends.
	PublishAsync(ctx context.Context, out []Outgoing, then func(error))
}

// Outgoing is one envelope and the channels it travels on.
type Outgoing struct {
	Channels []string
	Env      *Envelope
}

// GroupChannel and UserChannel name the broker channels of a group and a
// user.
func GroupChannel(groupID string) string { return "g:" + groupID }

// ChannelGroup returns the group of a GroupChannel name (false for others).
func ChannelGroup(channel string) (string, bool) { return strings.CutPrefix(channel, "g:") }

// UserChannel names the broker channel of a user.
func UserChannel(userID string) string { return "u:" + userID }

// Send applies envs here, in order, and carries them to every other node
// through the Broker (one Publish). Delivery is at most once per session;
// pushes of one group are released in sequence order at every node.
//
// This node does not wait for its own envelopes to come back through the
// broker: a subscription this node has just asked for (a user who has
// just logged in here and joins a group at once) may not be confirmed
// yet, and the envelope would miss it. The echo is dropped as seen.
func (h *Hub) Send(ctx context.Context, envs ...*Envelope) error {
	if h.opts.Broker == nil {
		for _, env := range envs {
			h.apply(env)
		}
		return nil
	}
	out := h.outgoing(envs)
	start := time.Now()
	err := h.opts.Broker.Publish(ctx, out)
	h.m.published(time.Since(start).Seconds())
	return err
}

// Post is Send without waiting for the broker: envs are applied here at
// once and queued for the other nodes in order, after everything this
// node sent or posted before and ahead of anything it sends or posts
// after. A failure to publish is logged (the nodes that miss a group's
// push recover it as a sequence gap). With a broker that cannot publish
// asynchronously Post is Send.
func (h *Hub) Post(ctx context.Context, envs ...*Envelope) {
	if len(envs) == 0 {
		return
	}
	ab, ok := h.opts.Broker.(AsyncBroker)
	if !ok {
		if err := h.Send(ctx, envs...); err != nil {
			h.log.Error("failed to fan out", "group_id", envs[0].GroupID, "envelopes", len(envs), "err", err, "node_id", h.opts.NodeID)
		}
		return
	}
	out := h.outgoing(envs)
	start := time.Now()
	groupID := envs[0].GroupID
	h.m.posted(1)
	ab.PublishAsync(ctx, out, func(err error) {
		h.m.posted(-1)
		h.m.published(time.Since(start).Seconds())
		if err != nil {
			h.log.Error("failed to fan out", "group_id", groupID, "envelopes", len(out), "err", err, "node_id", h.opts.NodeID)
		}
	})
}

// outgoing stamps envs, applies them here and returns them as the
// broker's.
func (h *Hub) outgoing(envs []*Envelope) []Outgoing {
	out := make([]Outgoing, len(envs))
	for i, env := range envs {
		h.stamp(env)
		h.apply(env)
		out[i] = Outgoing{Channels: channels(env), Env: env}
	}
	return out
}

// stamp gives env its node and an ID unique to this hub: its own prefix
// (the node ID and a random mark of this process) and a counter. The
// node knows its own envelopes by the prefix, so they need no place in
// the seen set, however many it sends.
func (h *Hub) stamp(env *Envelope) {
	env.Node = h.opts.NodeID
	env.ID = h.idPrefix + strconv.FormatUint(h.envSeq.Add(1), 36)
}

// own reports whether id is of an envelope this hub stamped (and so has
// applied already).
func (h *Hub) own(id string) bool { return strings.HasPrefix(id, h.idPrefix) }

// seenHere reports whether the envelope id was applied here: its own, or
// received already. The broker drops those undecoded.
func (h *Hub) seenHere(id string) bool { return h.own(id) || h.seen.has(id) }

// channels lists the channels env travels on.
func channels(env *Envelope) []string {
	var out []string
	if env.GroupID != "" && (env.Kind == KindDropGroup || env.ToGroup) {
		out = append(out, GroupChannel(env.GroupID))
	}
	for _, u := range env.UserIDs {
		out = append(out, UserChannel(u))
	}
	return out
}

// receive is the Broker's handler: each envelope is applied once.
func (h *Hub) receive(env *Envelope) {
	if env.ID != "" && (h.own(env.ID) || !h.seen.add(env.ID)) {
		return
	}
	h.apply(env)
}

// apply carries out env on this node's sessions.
func (h *Hub) apply(env *Envelope) {
	switch env.Kind {
	case KindPush:
		p := &Push{UserIDs: env.UserIDs, From: env.From, In: env.In, Out: env.Out, Notice: env.Notice, Chat: env.Chat, Gather: env.Gather}
		if env.ToGroup {
			p.GroupID = env.GroupID
		}
		if env.Session != 0 && (env.Node == h.opts.NodeID || env.Node == "") {
			p.Exclude = h.session(env.Session)
		}
		groupID := ""
		if env.ToGroup {
			groupID = env.GroupID
		}
		h.order.push(p, groupID, env.Seq)
	case KindSubscribeUser:
		for _, u := range env.UserIDs {
			h.SubscribeUser(u, env.GroupID)
		}
	case KindUnsubscribeUser:
		for _, u := range env.UserIDs {
			h.UnsubscribeUser(u, env.GroupID)
		}
	case KindDropGroup:
		h.DropGroup(env.GroupID)
	case KindSetDiscard:
		for _, u := range env.UserIDs {
			h.SetDiscard(u, env.GroupID, env.Discard)
		}
	}
}

// session finds a registered session by ID (nil when gone).
func (h *Hub) session(id uint64) *Session {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.byID[id]
}

// Broadcast queues one complete frame on every session of this node (the
// resync push after a lost broker subscription).
func (h *Hub) Broadcast(frame []byte) {
	h.mu.Lock()
	all := make([]*Session, 0, len(h.sessions))
	for s := range h.sessions {
		all = append(all, s)
	}
	h.mu.Unlock()
	for _, s := range all {
		s.Send(frame)
	}
}

// seenIDs remembers the last envelope IDs received from other nodes, so
// an envelope that arrives on a group and a user channel is applied once.
type seenIDs struct {
	mu   sync.Mutex // mu guards the fields below
	set  map[string]struct{}
	ring []string
	next int
}

// seenSize bounds the IDs remembered: a second copy of another node's
// envelope arriving after seenSize later envelopes would be applied
// again; at 20,000 envelopes/s received that is three seconds. (This
// node's own are known by their prefix, whenever they come back.)
const seenSize = 1 << 16

// has reports whether id was seen (it records nothing).
func (s *seenIDs) has(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.set[id]
	return ok
}

// add records id and reports whether it is new.
func (s *seenIDs) add(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.set == nil {
		s.set = make(map[string]struct{}, seenSize)
		s.ring = make([]string, seenSize)
	}
	if _, ok := s.set[id]; ok {
		return false
	}
	if old := s.ring[s.next]; old != "" {
		delete(s.set, old)
	}
	s.ring[s.next] = id
	s.next = (s.next + 1) % seenSize
	s.set[id] = struct{}{}
	return true
}

// GroupSubscribers returns the sessions of this node listening to groupID.
func (h *Hub) GroupSubscribers(groupID string) []*Session {
	gsh := h.groupShard(groupID)
	gsh.mu.RLock()
	defer gsh.mu.RUnlock()
	out := make([]*Session, 0, len(gsh.groups[groupID]))
	for s := range gsh.groups[groupID] {
		out = append(out, s)
	}
	return out
}
