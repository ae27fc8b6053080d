package groups

import (
	"context"
	"time"
)

// SessionRef names one session in the cluster.
type SessionRef struct {
	Node string
	ID   uint64
}

// LiveJoin is the result of Presence.JoinLive.
type LiveJoin struct {
	// Left is the live room the user (or, for an anonymous session, the
	// session) was in and has been removed from ("" = none).
	Left string
	// LeftUser reports that the user's membership of Left ended (tip 2).
	LeftUser bool
	// New reports that the user was not a member of the room before (its
	// first session, and not back within the grace): tip 1.
	New bool
}

// Presence is live-room membership across the cluster (SPEC.md §5),
// implemented by package presence. Membership is per session; a user is a
// member while one of its sessions is in the room, or within the grace
// after its last session closed. userID "" is an anonymous session.
type Presence interface {
	// JoinLive puts session into room, first removing the user (every
	// session, every node) or the anonymous session from any other room.
	JoinLive(ctx context.Context, room, userID string, s SessionRef) (LiveJoin, error)
	// QuitLive ends the user's membership of room on every session.
	// It reports whether the user was a member.
	QuitLive(ctx context.Context, room, userID string) (bool, error)
	// LeaveSession takes one session out of room (an anonymous quit).
	LeaveSession(ctx context.Context, room string, s SessionRef) error
	// SessionClosed takes a closed session out of its room; its user stays
	// a member for the grace unless another session remains or returns.
	SessionClosed(ctx context.Context, userID string, s SessionRef) error
	// InRoom reports whether session s has joined room.
	InRoom(ctx context.Context, room string, s SessionRef) (bool, error)
	// IsMember reports whether userID is a live member of room.
	IsMember(ctx context.Context, room, userID string) (bool, error)
	// Count is the number of sessions in room across the cluster
	// (anonymous included), at most 10 s stale.
	Count(ctx context.Context, room string) (int, error)
	// Members lists the member user IDs of room, newest joiner first.
	Members(ctx context.Context, room string) ([]string, error)
	// Allow takes one message of priority p from room's per-second budget
	// (SPEC.md §5 shedding); false means shed (10023).
	Allow(ctx context.Context, room string, p Priority) (bool, error)
	// DropRoom forgets room (dismissal) and returns its members.
	DropRoom(ctx context.Context, room string) ([]string, error)
	// OnExpire registers f, called when a user's grace in a room ends.
	OnExpire(f func(room, userID string))

	// UserUp records a logged-in session of userID on its node; UserDown
	// removes it. A dead node's sessions stop counting within 30 s.
	UserUp(ctx context.Context, userID string, s SessionRef) error
	UserDown(ctx context.Context, userID string, s SessionRef) error
	// Online reports how many sessions userID has across the cluster.
	Online(ctx context.Context, userID string) (int, error)
}

// Event kinds for live rooms, beside those of service.go.
const (
	// SubscribeSession makes the calling session listen to GroupID as a
	// live-room viewer.
	SubscribeSession EventKind = iota + 100
	// UnsubscribeSession stops the calling session listening to GroupID.
	UnsubscribeSession
)

// liveTipWindow is how often a live room emits each kind of member tip
// (SPEC.md §5: at most one per type per room per second).
const (
	liveTipWindow  = time.Second
	maxLiveTipUIDs = 100
)
