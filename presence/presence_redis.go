package presence

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"chatd/groups"
)

//go:embed lua/*.lua
var luaFiles embed.FS

func script(name string) *redis.Script {
	b, err := luaFiles.ReadFile("lua/" + name)
	if err != nil {
		panic("presence: missing script " + name) // embedded at build time
	}
	return redis.NewScript(string(b))
}

var (
	joinScript      = script("join.lua")
	quitScript      = script("quit.lua")
	leaveScript     = script("leave.lua")
	sweepScript     = script("sweep.lua")
	allowScript     = script("allow.lua")
	heartbeatScript = script("heartbeat.lua")
	// clearLive deletes a user's live-room key only if it still names room.
	clearLive = redis.NewScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`)
)

// RedisOptions configure Redis presence beyond Options.
type RedisOptions struct {
	Options
	// SessionTTL is how long a session counts without a heartbeat: a dead
	// node's sessions stop counting within it (default 20 s).
	SessionTTL time.Duration
	// Heartbeat is how often a node extends its sessions (default 7 s).
	Heartbeat time.Duration
	// Sweep is how often a node expires dead sessions and ended graces
	// (default 2 s).
	Sweep  time.Duration
	Logger *slog.Logger
}

// Redis is presence for a cluster of nodes sharing one Redis (or Redis
// Cluster). Keys of one room share the hash tag {l:<room>}; a user's
// current room sits under {u:<user>} and is changed in a second step,
// checked again after the join so that racing joins leave the user in
// exactly one room.
type Redis struct {
	rdb    redis.UniversalClient
	prefix string
	node   string
	opts   RedisOptions

	mu       sync.Mutex // mu guards local, users and onExpire
	local    map[groups.SessionRef]localSession
	users    map[groups.SessionRef]string // this node's logged-in sessions
	onExpire func(room, userID string)
}

// localSession is one of this node's sessions in a live room.
type localSession struct {
	room, user string
}

var _ groups.Presence = (*Redis)(nil)

// NewRedis returns presence on rdb for node, with keys under prefix.
func NewRedis(rdb redis.UniversalClient, prefix, node string, o RedisOptions) *Redis {
	o.defaults()
	if o.SessionTTL <= 0 {
		o.SessionTTL = 20 * time.Second
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = 7 * time.Second
	}
	if o.Sweep <= 0 {
		o.Sweep = 2 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Redis{rdb: rdb, prefix: prefix, node: node, opts: o, local: map[groups.SessionRef]localSession{},
		users: map[groups.SessionRef]string{}}
}

// roomKeys are KEYS[1..4] of the room scripts: sess, byuser, users, grace.
func (r *Redis) roomKeys(room string) []string {
	p := r.prefix + ":{l:" + room + "}:"
	return []string{p + "sess", p + "byuser", p + "users", p + "grace"}
}

func (r *Redis) liveKey(user string) string   { return r.prefix + ":{u:" + user + "}:live" }
func (r *Redis) onlineKey(user string) string { return r.prefix + ":{u:" + user + "}:online" }
func (r *Redis) roomsKey() string             { return r.prefix + ":liverooms" }
func (r *Redis) rateKey(room string, sec int64) string {
	return r.prefix + ":{l:" + room + "}:rate:" + strconv.FormatInt(sec, 10)
}

func member(user string, s groups.SessionRef) string {
	return user + "\x00" + s.Node + "/" + strconv.FormatUint(s.ID, 10)
}

func (r *Redis) nowMs() int64 { return r.opts.Now().UnixMilli() }

// JoinLive implements groups.Presence.
func (r *Redis) JoinLive(ctx context.Context, room, userID string, s groups.SessionRef) (groups.LiveJoin, error) {
	var res groups.LiveJoin
	if cur, ok := r.lookup(s); ok && cur.room != room {
		if err := r.LeaveSession(ctx, cur.room, s); err != nil {
			return res, err
		}
		res.Left = cur.room
	}
	if userID != "" {
		prev, err := r.rdb.SetArgs(ctx, r.liveKey(userID), room, redis.SetArgs{Get: true}).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return res, fmt.Errorf("failed to set live room: %w", err)
		}
		if prev != "" && prev != room {
			left, err := r.quit(ctx, prev, userID)
			if err != nil {
				return res, err
			}
			res.Left, res.LeftUser = prev, left
		}
	}
	now := r.nowMs()
	isNew, err := joinScript.Run(ctx, r.rdb, r.roomKeys(room), member(userID, s), userID,
		now+r.opts.SessionTTL.Milliseconds(), now).Int()
	if err != nil {
		return res, fmt.Errorf("failed to join live room: %w", err)
	}
	r.rdb.SAdd(ctx, r.roomsKey(), room)
	res.New = isNew == 1
	r.mu.Lock()
	r.local[s] = localSession{room: room, user: userID}
	r.mu.Unlock()
	return res, r.checkOneRoom(ctx, room, userID)
}

// checkOneRoom undoes a join that lost a race with a join of the same user
// to another room on another node: the later SET wins.
func (r *Redis) checkOneRoom(ctx context.Context, room, userID string) error {
	if userID == "" {
		return nil
	}
	cur, err := r.rdb.Get(ctx, r.liveKey(userID)).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("failed to read live room: %w", err)
	}
	if cur == room {
		return nil
	}
	if _, err := r.quit(ctx, room, userID); err != nil {
		return err
	}
	return groups.Errorf(groups.CodeInternal, "joinGroup: %s joined another live room at the same time; retry", userID)
}

func (r *Redis) lookup(s groups.SessionRef) (localSession, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	l, ok := r.local[s]
	return l, ok
}

// quit ends a user's membership of room; it reports whether it was one.
func (r *Redis) quit(ctx context.Context, room, userID string) (bool, error) {
	n, err := quitScript.Run(ctx, r.rdb, r.roomKeys(room), userID).Int()
	if err != nil {
		return false, fmt.Errorf("failed to quit live room: %w", err)
	}
	r.mu.Lock()
	for s, l := range r.local {
		if l.room == room && l.user == userID {
			delete(r.local, s)
		}
	}
	r.mu.Unlock()
	return n == 1, nil
}

// QuitLive implements groups.Presence.
func (r *Redis) QuitLive(ctx context.Context, room, userID string) (bool, error) {
	was, err := r.quit(ctx, room, userID)
	if err != nil {
		return false, err
	}
	if err := clearLive.Run(ctx, r.rdb, []string{r.liveKey(userID)}, room).Err(); err != nil {
		return was, fmt.Errorf("failed to clear live room: %w", err)
	}
	return was, nil
}

// LeaveSession implements groups.Presence.
func (r *Redis) LeaveSession(ctx context.Context, room string, s groups.SessionRef) error {
	_, err := r.leave(ctx, room, s, 0)
	return err
}

// leave takes session s out of room; graceDeadline 0 ends a last
// session's membership at once. It reports whether the membership ended.
func (r *Redis) leave(ctx context.Context, room string, s groups.SessionRef, graceDeadline int64) (bool, error) {
	l, _ := r.lookup(s)
	res, err := leaveScript.Run(ctx, r.rdb, r.roomKeys(room), member(l.user, s), l.user, graceDeadline).Int()
	if err != nil {
		return false, fmt.Errorf("failed to leave live room: %w", err)
	}
	r.mu.Lock()
	delete(r.local, s)
	r.mu.Unlock()
	if res == 2 && l.user != "" {
		_ = clearLive.Run(ctx, r.rdb, []string{r.liveKey(l.user)}, room).Err()
	}
	if graceDeadline > 0 {
		r.rdb.SAdd(ctx, r.roomsKey(), room) // so a sweeper ends the grace
	}
	return res == 2, nil
}

// SessionClosed implements groups.Presence.
func (r *Redis) SessionClosed(ctx context.Context, _ string, s groups.SessionRef) error {
	l, ok := r.lookup(s)
	if !ok {
		return nil
	}
	_, err := r.leave(ctx, l.room, s, r.nowMs()+r.opts.Grace.Milliseconds())
	return err
}

// InRoom implements groups.Presence.
func (r *Redis) InRoom(ctx context.Context, room string, s groups.SessionRef) (bool, error) {
	l, ok := r.lookup(s)
	if !ok || l.room != room {
		return false, nil
	}
	err := r.rdb.ZScore(ctx, r.roomKeys(room)[0], member(l.user, s)).Err()
	if errors.Is(err, redis.Nil) {
		return false, nil // removed by another node (the user moved rooms)
	}
	if err != nil {
		return false, fmt.Errorf("failed to check live session: %w", err)
	}
	return true, nil
}

// IsMember implements groups.Presence.
func (r *Redis) IsMember(ctx context.Context, room, userID string) (bool, error) {
	err := r.rdb.ZScore(ctx, r.roomKeys(room)[2], userID).Err()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("failed to check live member: %w", err)
	}
	return true, nil
}

// Count implements groups.Presence: sessions whose heartbeat is current.
func (r *Redis) Count(ctx context.Context, room string) (int, error) {
	n, err := r.rdb.ZCount(ctx, r.roomKeys(room)[0], "("+strconv.FormatInt(r.nowMs(), 10), "+inf").Result()
	if err != nil {
		return 0, fmt.Errorf("failed to count live sessions: %w", err)
	}
	return int(n), nil
}

// Members implements groups.Presence.
func (r *Redis) Members(ctx context.Context, room string) ([]string, error) {
	ms, err := r.rdb.ZRevRange(ctx, r.roomKeys(room)[2], 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("failed to list live members: %w", err)
	}
	return ms, nil
}

var priorityRank = map[groups.Priority]int{groups.High: 0, groups.Normal: 1, groups.Low: 2, groups.Lowest: 3}

// Allow implements groups.Presence: one budget per room and second across
// the cluster.
func (r *Redis) Allow(ctx context.Context, room string, p groups.Priority) (bool, error) {
	rank, ok := priorityRank[p]
	if !ok {
		rank = 1
	}
	key := r.rateKey(room, r.opts.Now().Unix())
	n, err := allowScript.Run(ctx, r.rdb, []string{key}, r.opts.Rate, rank).Int()
	if err != nil {
		return false, fmt.Errorf("failed to take from the room budget: %w", err)
	}
	return n == 1, nil
}

// DropRoom implements groups.Presence.
func (r *Redis) DropRoom(ctx context.Context, room string) ([]string, error) {
	keys := r.roomKeys(room)
	users, err := r.rdb.ZRange(ctx, keys[2], 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("failed to list live members: %w", err)
	}
	if err := r.rdb.Del(ctx, keys...).Err(); err != nil {
		return nil, fmt.Errorf("failed to drop live room: %w", err)
	}
	r.rdb.SRem(ctx, r.roomsKey(), room)
	for _, u := range users {
		_ = clearLive.Run(ctx, r.rdb, []string{r.liveKey(u)}, room).Err()
	}
	r.mu.Lock()
	for s, l := range r.local {
		if l.room == room {
			delete(r.local, s)
		}
	}
	r.mu.Unlock()
	return users, nil
}

// OnExpire implements groups.Presence.
func (r *Redis) OnExpire(f func(room, userID string)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.onExpire = f
}

// Run heartbeats this node's sessions and sweeps dead sessions and ended
// graces until ctx ends.
func (r *Redis) Run(ctx context.Context) error {
	hb := time.NewTicker(r.opts.Heartbeat)
	defer hb.Stop()
	sw := time.NewTicker(r.opts.Sweep)
	defer sw.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-hb.C:
			r.heartbeat(ctx)
		case <-sw.C:
			r.sweep(ctx)
		}
	}
}

// heartbeat extends the expiry of every local session, one script per room.
func (r *Redis) heartbeat(ctx context.Context) {
	byRoom := map[string][]any{}
	r.mu.Lock()
	for s, l := range r.local {
		byRoom[l.room] = append(byRoom[l.room], member(l.user, s))
	}
	r.mu.Unlock()
	r.mu.Lock()
	users := make(map[groups.SessionRef]string, len(r.users))
	for s, u := range r.users {
		users[s] = u
	}
	r.mu.Unlock()
	exp := r.nowMs() + r.opts.SessionTTL.Milliseconds()
	pipe := r.rdb.Pipeline()
	for s, u := range users {
		pipe.ZAddXX(ctx, r.onlineKey(u), redis.Z{Score: float64(exp), Member: sessionName(s)})
		pipe.PExpire(ctx, r.onlineKey(u), 2*r.opts.SessionTTL)
	}
	for room, ms := range byRoom {
		heartbeatScript.Eval(ctx, pipe, r.roomKeys(room)[:1], append([]any{exp}, ms...)...) // Eval: a pipeline cannot fall back from EVALSHA
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		r.opts.Logger.Warn("live-room heartbeat failed", "node_id", r.node, "err", err)
	}
}

// sweep runs sweep.lua on every live room and reports ended memberships.
func (r *Redis) sweep(ctx context.Context) {
	rooms, err := r.rdb.SMembers(ctx, r.roomsKey()).Result()
	if err != nil {
		r.opts.Logger.Warn("live-room sweep failed", "node_id", r.node, "err", err)
		return
	}
	for _, room := range rooms {
		r.sweepRoom(ctx, room)
	}
}

func (r *Redis) sweepRoom(ctx context.Context, room string) {
	keys := r.roomKeys(room)
	ended, err := sweepScript.Run(ctx, r.rdb, keys, r.nowMs(), r.opts.Grace.Milliseconds()).StringSlice()
	if err != nil {
		r.opts.Logger.Warn("live-room sweep failed", "group_id", room, "err", err)
		return
	}
	r.mu.Lock()
	f := r.onExpire
	r.mu.Unlock()
	for _, u := range ended {
		_ = clearLive.Run(ctx, r.rdb, []string{r.liveKey(u)}, room).Err()
		if f != nil {
			f(room, u)
		}
	}
	if n, err := r.rdb.Exists(ctx, keys...).Result(); err == nil && n == 0 {
		r.rdb.SRem(ctx, r.roomsKey(), room)
	}
}

func sessionName(s groups.SessionRef) string { return s.Node + "/" + strconv.FormatUint(s.ID, 10) }

// UserUp implements groups.Presence: the session counts until UserDown or
// until its heartbeats stop for the session TTL.
func (r *Redis) UserUp(ctx context.Context, userID string, s groups.SessionRef) error {
	r.mu.Lock()
	r.users[s] = userID
	r.mu.Unlock()
	key := r.onlineKey(userID)
	pipe := r.rdb.TxPipeline()
	pipe.ZAdd(ctx, key, redis.Z{Score: float64(r.nowMs() + r.opts.SessionTTL.Milliseconds()), Member: sessionName(s)})
	pipe.PExpire(ctx, key, 2*r.opts.SessionTTL)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("failed to record online session: %w", err)
	}
	return nil
}

// UserDown implements groups.Presence.
func (r *Redis) UserDown(ctx context.Context, userID string, s groups.SessionRef) error {
	r.mu.Lock()
	delete(r.users, s)
	r.mu.Unlock()
	if err := r.rdb.ZRem(ctx, r.onlineKey(userID), sessionName(s)).Err(); err != nil {
		return fmt.Errorf("failed to remove online session: %w", err)
	}
	return nil
}

// Online implements groups.Presence: sessions whose heartbeat is current.
func (r *Redis) Online(ctx context.Context, userID string) (int, error) {
	n, err := r.rdb.ZCount(ctx, r.onlineKey(userID), "("+strconv.FormatInt(r.nowMs(), 10), "+inf").Result()
	if err != nil {
		return 0, fmt.Errorf("failed to count online sessions: %w", err)
	}
	return int(n), nil
}

var (
	shareTipScript = script("sharetip.lua")
	takeTipsScript = script("taketips.lua")
)

var _ groups.TipSharer = (*Redis)(nil)

func (r *Redis) tipKeys(room string, typ int) []string {
	p := r.prefix + ":{l:" + room + "}:tips:" + strconv.Itoa(typ)
	return []string{p, p + ":lead"}
}

// ShareTip implements groups.TipSharer: one batch per room and type for
// the whole cluster, taken by the node that opened it.
func (r *Redis) ShareTip(ctx context.Context, room string, typ int, user string, notify bool, window time.Duration) (bool, error) {
	entry := "-" + user
	if notify {
		entry = "n" + user
	}
	lead, err := shareTipScript.Run(ctx, r.rdb, r.tipKeys(room, typ), entry, window.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("failed to share a live tip: %w", err)
	}
	return lead == 1, nil
}

// TakeTips implements groups.TipSharer.
func (r *Redis) TakeTips(ctx context.Context, room string, typ int) (users, notify []string, err error) {
	entries, err := takeTipsScript.Run(ctx, r.rdb, r.tipKeys(room, typ)[:1]).StringSlice()
	if err != nil {
		return nil, nil, fmt.Errorf("failed to take live tips: %w", err)
	}
	seen := map[string]bool{}
	for _, e := range entries {
		if len(e) < 2 {
			continue
		}
		u := e[1:]
		if e[0] == 'n' {
			notify = append(notify, u)
		}
		if !seen[u] {
			seen[u] = true
			users = append(users, u)
		}
	}
	return users, notify, nil
}
