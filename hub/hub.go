package hub

import (
	"cmp"
	"crypto/rand"
	"encoding/base64"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Close codes the hub itself uses (PROTOCOL.md, "Close codes").
const (
	codeGoingAway    = 1001 // Close, and Drain past its deadline
	codeInternal     = 1011 // a write failed; the peer rarely sees it
	codeSlowConsumer = 4008 // the send queue overflowed
	codePongTimeout  = 4012 // no pong within PongTimeout
)

// Options configure a Hub. Zero fields take the documented defaults.
type Options struct {
	QueueSize    int           // max queued items per session; default 512. Overflow closes the session with 4008.
	PingPeriod   time.Duration // default 25s
	PongTimeout  time.Duration // default 60s; no pong in time -> close 4012
	WriteTimeout time.Duration // default 10s per write; a failed/timed-out write ends the session
	Shards       int           // default 64: group and user indexes are sharded by FNV hash
	Metrics      *Metrics      // may be nil
	Logger       *slog.Logger  // may be nil -> slog.Default()
	// Broker carries Send's envelopes between nodes; nil = this node only.
	Broker Broker
	// NodeID names this node in envelopes (required with a Broker).
	NodeID string
	// WindowFrames is the frame budget of one live room on this node,
	// frames/s: a room whose viewers × message rate would exceed it
	// gathers its messages in windows (window.go). 0 = no windows
	// (chatd's default is CHAT_LIVE_WINDOW_FRAMES, 60,000).
	WindowFrames int
	// MaxWindow caps a room's window; default 200ms.
	MaxWindow time.Duration
	// ListenLinger is how long the node goes on listening to a group's or
	// a user's channel after its last session here left (linger.go);
	// default 30s, negative = not at all.
	ListenLinger time.Duration
}

func (o Options) withDefaults() Options {
	if o.QueueSize <= 0 {
		o.QueueSize = 512
	}
	if o.PingPeriod <= 0 {
		o.PingPeriod = 25 * time.Second
	}
	if o.PongTimeout <= 0 {
		o.PongTimeout = 60 * time.Second
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 10 * time.Second
	}
	if o.Shards <= 0 {
		o.Shards = 64
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.MaxWindow <= 0 {
		o.MaxWindow = 200 * time.Millisecond
	}
	if o.ListenLinger == 0 {
		o.ListenLinger = 30 * time.Second
	}
	return o
}

// Hub is the set of sessions of this node and the groups each listens to.
// All its methods are safe for concurrent use.
type Hub struct {
	opts   Options
	log    *slog.Logger
	m      *Metrics // nil-safe
	nextID atomic.Uint64
	users  []userShard
	groups []groupShard
	bufs   sync.Pool // *[]byte: coalescing buffers, lent to a writer per batch
	rcpts  sync.Pool // *[]*Session: recipient lists of Publish
	sets   sync.Pool // map[*Session]struct{}: Publish's dedupe of many users
	order  *orderer  // releases each group's sequenced pushes in order
	linger *lingerer // between the indexes and Broker.Listen; nil without a Broker
	// windows holds a *roomWindow per live room that sent here lately.
	windows     sync.Map
	windowCount atomic.Int64 // windows made, for amortised clean-up
	seen        seenIDs      // envelope IDs received lately (a node may get one twice)
	envSeq      atomic.Uint64
	idPrefix    string // of the IDs stamp gives: node ID, "/", a random mark, "."

	// mu guards sessions, byID and closed. Registering is once per connection,
	// far rarer than publishing, so one lock is enough here.
	mu       sync.Mutex
	sessions map[*Session]struct{}
	byID     map[uint64]*Session
	closed   bool
}

// New returns a Hub with o's settings (defaults for zero fields).
func New(o Options) *Hub {
	o = o.withDefaults()
	h := &Hub{
		opts:     o,
		log:      o.Logger,
		m:        o.Metrics,
		users:    make([]userShard, o.Shards),
		groups:   make([]groupShard, o.Shards),
		sessions: map[*Session]struct{}{},
		byID:     map[uint64]*Session{},
		idPrefix: o.NodeID + "/" + randomMark() + ".",
	}
	listen := func(string, bool) {}
	if o.Broker != nil {
		h.linger = newLingerer(o.Broker.Listen, o.ListenLinger)
		listen = h.linger.Listen
	}
	for i := range h.users {
		h.users[i].users = map[string]*userEntry{}
		h.users[i].listen = listen
		h.groups[i].groups = map[string]map[*Session]bool{}
		h.groups[i].listen = listen
	}
	h.order = newOrderer(h.release)
	if o.Broker != nil {
		o.Broker.SetHandler(h.receive)
		if b, ok := o.Broker.(interface{ SetSeen(func(string) bool) }); ok {
			b.SetSeen(h.seenHere)
		}
	}
	return h
}

// Register creates the session of c, starts its writer goroutine and its
// ping timer. The caller must end it: Unregister when its read loop ends
// (or Close/CloseNow), then wait for Done. On a closed hub the session is
// closed with 1001 at once.
func (h *Hub) Register(c Conn) *Session {
	s := newSession(h, c)
	h.mu.Lock()
	closed := h.closed
	h.sessions[s] = struct{}{}
	h.byID[s.ID()] = s
	h.mu.Unlock()
	h.m.sessionOpened()
	go s.run()
	s.startPing()
	if closed {
		s.CloseNow(codeGoingAway, "server going away")
	}
	return s
}

// Unregister is called by the server when its read loop of s ends (the
// peer is gone): s leaves every index at once and its writer stops without
// writing more (frames still queued are dropped, Conn.Close is not
// called). Idempotent, and safe with a concurrent Close or CloseNow.
func (h *Hub) Unregister(s *Session) {
	h.unindex(s)
	s.abort(0, "", true)
}

// Len returns the number of registered sessions (those not yet Done).
func (h *Hub) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.sessions)
}

// Close closes every session at once with 1001 and waits until all are
// Done. Sessions registered later are closed as they come. Used by tests
// and at shutdown.
func (h *Hub) Close() {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	list := h.snapshot()
	for _, s := range list {
		s.CloseNow(codeGoingAway, "server going away")
	}
	for _, s := range list {
		<-s.Done()
	}
	h.order.close()
	h.closeWindows()
	if h.linger != nil {
		h.linger.close()
	}
}

// snapshot returns the registered sessions, oldest first.
func (h *Hub) snapshot() []*Session {
	h.mu.Lock()
	list := make([]*Session, 0, len(h.sessions))
	for s := range h.sessions {
		list = append(list, s)
	}
	h.mu.Unlock()
	sortByID(list)
	return list
}

// forget drops s from the registry; the writer calls it on its way out.
func (h *Hub) forget(s *Session) {
	h.mu.Lock()
	_, ok := h.sessions[s]
	delete(h.sessions, s)
	delete(h.byID, s.ID())
	h.mu.Unlock()
	if ok {
		h.m.sessionClosed()
	}
}

func sortByID(list []*Session) {
	slices.SortFunc(list, func(a, b *Session) int { return cmp.Compare(a.id, b.id) })
}

// randomMark is 8 random characters that tell this process's envelope IDs
// from those of a node that ran before it with the same node ID.
func randomMark() string {
	var b [6]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read does not fail
	return base64.RawURLEncoding.EncodeToString(b[:])
}
