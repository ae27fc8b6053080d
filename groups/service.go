package groups

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math/rand/v2"
	"time"
)

// Options configure a Service. Zero values take SPEC.md's defaults.
type Options struct {
	// AppAdmins are the user IDs with App-admin rights (SPEC.md §1).
	AppAdmins []string
	// GroupLimit is how many groups a user may be in (10037); default 1000.
	GroupLimit int
	// History bounds each group's stored messages; default 1000 and 7 days.
	History Retention
	// ReadAll lists the types whose new members read all retained history
	// (default: ChatRoom); other types read from the member's join.
	ReadAll map[Type]bool
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger logs failures that do not fail an operation; default
	// slog.Default().
	Logger *slog.Logger
	// Presence keeps live-room membership; nil: live rooms answer 10002
	// to membership ops.
	Presence Presence
	// NodeID names this node in SessionRefs.
	NodeID string
}

// Service executes the group operations of SPEC.md on a Store. It holds
// no per-group state: every decision is made on a fresh read and committed
// with a version check, so any number of Services (nodes) may share a
// store. It knows nothing of sockets: each operation returns the reply and
// the Events the transport must apply.
type Service struct {
	store  Store
	admins map[string]bool
	opts   Options
	tips   *tipBatcher
}

// NewService returns a Service on store.
func NewService(store Store, o Options) *Service {
	if o.GroupLimit <= 0 {
		o.GroupLimit = 1000
	}
	if o.History.MaxMessages <= 0 {
		o.History.MaxMessages = 1000
	}
	if o.History.MaxAge <= 0 {
		o.History.MaxAge = 7 * 24 * time.Hour
	}
	if o.ReadAll == nil {
		o.ReadAll = map[Type]bool{ChatRoom: true}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	s := &Service{store: store, admins: map[string]bool{}, opts: o, tips: newTipBatcher(liveTipWindow, o.Now)}
	for _, a := range o.AppAdmins {
		s.admins[a] = true
	}
	if o.Presence != nil {
		o.Presence.OnExpire(s.liveExpired)
		if sh, ok := o.Presence.(TipSharer); ok {
			s.tips.share = sh
		}
	}
	return s
}

// OnEvents sets the sink of events that arise outside a request (batched
// live-room tips, grace expiries). The transport applies them as it
// applies an Outcome's events.
func (s *Service) OnEvents(f func([]Event)) {
	s.tips.mu.Lock()
	s.tips.emit = f
	s.tips.mu.Unlock()
}

// Close stops the Service's timers. Pending batched tips are dropped.
func (s *Service) Close() { s.tips.close() }

// Store returns the service's store (for readiness checks).
func (s *Service) Store() Store { return s.store }

// IsAppAdmin reports whether userID has App-admin rights.
func (s *Service) IsAppAdmin(userID string) bool { return userID != "" && s.admins[userID] }

// Caller is who sends a request: a logged-in user, or an anonymous
// connection (UserID "").
type Caller struct {
	UserID    string
	SessionID uint64
}

// Outcome is the result of a successful operation: the reply's data and the
// events to apply, in order.
type Outcome struct {
	Reply  any
	Events []Event
}

// EventKind says what an Event asks the transport to do.
type EventKind int

// The event kinds.
const (
	// Deliver pushes Message to the sessions subscribed to GroupID (when
	// ToGroup) and to every session of UserIDs.
	Deliver EventKind = iota
	// Subscribe makes every session of UserIDs listen to GroupID.
	Subscribe
	// Unsubscribe stops every session of UserIDs listening to GroupID.
	Unsubscribe
	// DropGroup stops every session listening to GroupID (dismissal).
	DropGroup
	// SetDiscard turns Discard (no chat messages) on or off for UserIDs in
	// GroupID.
	SetDiscard
)

// Event is one instruction to the transport. Events are applied in order:
// a joiner is subscribed before its join tip, a quitter unsubscribed after
// its quit tip.
type Event struct {
	Kind    EventKind
	GroupID string
	UserIDs []string
	ToGroup bool
	Message *Message
	// Exclude: not to the calling session (a chat message's sender gets it
	// in the reply instead).
	Exclude bool
	Discard bool
	// Gather: a live room's chat message, which a node may hold for a
	// short window and send with the room's other messages in one frame.
	Gather bool
}

func deliverGroup(m *Message, also ...string) Event {
	return Event{Kind: Deliver, GroupID: m.To, ToGroup: true, Message: m, UserIDs: also}
}

func deliverUsers(groupID string, m *Message, users ...string) Event {
	return Event{Kind: Deliver, GroupID: groupID, Message: m, UserIDs: users}
}

// handler executes one op; anon marks the ops an anonymous connection may
// call (they check the login themselves, after the group is known).
type handler struct {
	run  func(s *Service, ctx context.Context, c Caller, data json.RawMessage) (Outcome, error)
	anon bool
}

// Do executes op with its raw request data for c. Errors are *Error with a
// SPEC.md §7 code (CodeOf maps anything else, such as a store failure, to
// 10002).
func (s *Service) Do(ctx context.Context, c Caller, op string, data json.RawMessage) (Outcome, error) {
	h, ok := handlers[Op(op)]
	if !ok {
		return Outcome{}, Errorf(CodeUnknownOp, "unknown op %q", op)
	}
	if c.UserID == "" && !h.anon {
		return Outcome{}, Errorf(CodeNotLoggedIn, "%s: log in first", op)
	}
	return h.run(s, ctx, c, data)
}

// Known reports whether op is a group operation.
func Known(op string) bool { _, ok := handlers[Op(op)]; return ok }

// parseData unmarshals request data into req; absent data leaves req zero.
func parseData(data json.RawMessage, req any) error {
	if len(data) == 0 || string(data) == "null" {
		return nil
	}
	if err := json.Unmarshal(data, req); err != nil {
		return errParam("data: %s", describeJSONError(err))
	}
	return nil
}

func describeJSONError(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field != "" {
			return te.Field + ": must be " + jsonKind(te.Type.Kind().String()) + ", got " + te.Value
		}
		return "must be an object, got " + te.Value
	}
	return err.Error()
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "slice", "array":
		return "an array"
	case "struct", "map", "ptr":
		return "an object"
	case "bool":
		return "a boolean"
	}
	return "a number"
}

// maxAttempts bounds the retries of an operation that lost a version race.
const maxAttempts = 32

// retry runs fn until it does not fail with ErrConflict, with jittered
// backoff, so concurrent operations on one group serialise.
func retry(ctx context.Context, fn func() (Outcome, error)) (Outcome, error) {
	for i := 0; ; i++ {
		out, err := fn()
		if !errors.Is(err, ErrConflict) {
			return out, err
		}
		if i+1 >= maxAttempts {
			return Outcome{}, Errorf(CodeInternal, "the group is too busy, retry")
		}
		d := time.Duration(rand.Int64N(int64(time.Millisecond) << min(i, 6)))
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return Outcome{}, ctx.Err()
		case <-t.C:
		}
	}
}

func (s *Service) now() int64 { return s.opts.Now().Unix() }

// group loads a group; a missing one is 10010.
func (s *Service) group(ctx context.Context, id string) (*Group, error) {
	g, err := s.store.Group(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, Errorf(CodeGroupNotFound, "group %s does not exist", id)
	}
	return g, err
}

// actor loads the caller's membership of g.
func (s *Service) actor(ctx context.Context, g *Group, userID string) (actor, error) {
	var m *Member
	if userID != "" && !g.Type.Live() {
		var err error
		if m, err = s.member(ctx, g.ID, userID); err != nil {
			return actor{userID: userID}, err
		}
	}
	return s.actorOf(ctx, g, userID, m)
}

// actorOf is the caller of g whose stored member record (nil: none) has
// been read already.
func (s *Service) actorOf(ctx context.Context, g *Group, userID string, m *Member) (actor, error) {
	a := actor{userID: userID, appAdmin: s.IsAppAdmin(userID)}
	if userID == "" {
		return a, nil
	}
	if g.Type.Live() {
		// Live membership is not stored; the owner's rights come from
		// ownerID (SPEC.md §5). Whether a session has joined is presence's.
		switch {
		case userID == g.OwnerID:
			a.member = &Member{UserID: userID, Role: RoleOwner}
		case s.opts.Presence != nil:
			in, err := s.opts.Presence.IsMember(ctx, g.ID, userID)
			if err != nil {
				return a, err
			}
			if in {
				a.member = &Member{UserID: userID, Role: RoleMember}
			}
		}
		if a.member != nil {
			a.member.MuteUntil = g.Mutes[userID] // live mutes are kept per room and user
		}
		return a, nil
	}
	a.member = m
	return a, nil
}

// member loads one member record; nil when not a member.
func (s *Service) member(ctx context.Context, groupID, userID string) (*Member, error) {
	ms, err := s.store.Members(ctx, groupID, []string{userID})
	if err != nil {
		return nil, err
	}
	return ms[userID], nil
}

// snapshot reads the group, the caller's member record and the profiles
// of profileIDs in one store read; a missing group is 10010.
func (s *Service) snapshot(ctx context.Context, groupID, userID string, profileIDs ...string) (*Snapshot, error) {
	var memberIDs []string
	if userID != "" {
		memberIDs = []string{userID}
	}
	snap, err := s.store.Read(ctx, groupID, memberIDs, profileIDs)
	if errors.Is(err, ErrNotFound) {
		return nil, Errorf(CodeGroupNotFound, "group %s does not exist", groupID)
	}
	return snap, err
}

// load reads a group and the caller's membership for op and applies the
// group-level rules (steps 3 to 7 of SPEC.md §3).
// targets are the op's target users (step 6).
func (s *Service) load(ctx context.Context, op Op, groupID, userID string, typeParams func(*Group) error, targets ...string) (*Group, actor, error) {
	g, a, _, err := s.loadWith(ctx, op, groupID, userID, nil, typeParams, targets...)
	return g, a, err
}

// loadWith is load that also reads the profiles of profileIDs.
func (s *Service) loadWith(ctx context.Context, op Op, groupID, userID string, profileIDs []string, typeParams func(*Group) error, targets ...string) (*Group, actor, *Snapshot, error) {
	snap, err := s.snapshot(ctx, groupID, userID, profileIDs...)
	if err != nil {
		return nil, actor{}, nil, err
	}
	g, a, err := s.decideOn(ctx, op, snap, userID, typeParams, targets...)
	return g, a, snap, err
}

// decideOn is load's decision on a snapshot it has: the caller as actor
// and the group-level rules (steps 3 to 7 of SPEC.md §3).
func (s *Service) decideOn(ctx context.Context, op Op, snap *Snapshot, userID string, typeParams func(*Group) error, targets ...string) (*Group, actor, error) {
	g := snap.Group
	a, err := s.actorOf(ctx, g, userID, snap.Members[userID])
	if err != nil {
		return nil, actor{}, err
	}
	var tp func() error
	if typeParams != nil {
		tp = func() error { return typeParams(g) }
	}
	return g, a, authorize(op, g, a, tp, targets...)
}

// keepAfter keeps, for userID's next join or quit, the group as c left
// it: g (already edited to the committed record, member count, sequence
// and last message) at the next version, with userID's record m (nil: no
// longer a member).
func (s *Service) keepAfter(g *Group, userID string, m *Member) {
	post := g.clone()
	post.Version++
	snap := &Snapshot{Group: post, Members: map[string]*Member{}}
	if m != nil {
		snap.Members[userID] = m
	}
	s.store.KeepMember(userID, snap)
}

// notify stores a system notice for each user and returns the events that
// deliver it. It runs after the group change is committed, so a notice
// that cannot be stored is still delivered (and the failure logged): the
// operation itself has succeeded.
func (s *Service) notify(ctx context.Context, g *Group, operator string, typ int, handleMsg string, users ...string) []Event {
	events := make([]Event, 0, len(users))
	now := s.now()
	for _, u := range users {
		n := newNotice(g, u, operator, typ, now, handleMsg)
		s.storeNotice(ctx, g, n)
		events = append(events, deliverUsers(g.ID, n, u))
	}
	return events
}

// storeNotice stores n for its user; a failure is logged (see notify).
func (s *Service) storeNotice(ctx context.Context, g *Group, n *Message) {
	if err := s.store.AppendNotice(ctx, n.To, n); err != nil {
		s.opts.Logger.Error("failed to store system notice", "group_id", g.ID, "user_id", n.To, "err", err)
	}
}
