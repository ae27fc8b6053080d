package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"chatd/server/auth"
)

// Worker is one process's share of a scenario. The coordinator calls
// Prepare (connect, log in, join), Start (the load begins), Mark (the
// measured window begins) and Stop (it ends; everything is closed), and
// Snapshot at any time for the progress line. A child process runs one
// behind a childWorker proxy.
type Worker interface {
	Prepare(ctx context.Context) error
	Start()
	Mark()
	Stop() Partial
	Snapshot() Snapshot
}

// Partial is one worker's result.
type Partial struct {
	Window       Snapshot `json:"window"`        // counters over the measured window (errors: whole run)
	Seconds      float64  `json:"seconds"`       // length of the window
	StormSeconds float64  `json:"storm_seconds"` // connect: time to open every connection
}

func newWorker(cfg *Config) (Worker, error) {
	b := newBase(cfg)
	switch cfg.Scenario {
	case "live":
		return &liveWorker{base: b}, nil
	case "groups":
		return &groupsWorker{base: b}, nil
	case "connect":
		return &connectWorker{base: b}, nil
	case "ops":
		m, err := parseMix(cfg.OpsMix)
		if err != nil {
			return nil, err
		}
		if m.joinquit > 0 && cfg.Inflight < 2 {
			return nil, fmt.Errorf("-ops-mix joinquit needs -inflight 2 or more (a worker joins its neighbour's group)")
		}
		return &opsWorker{base: b, mix: m}, nil
	}
	return nil, fmt.Errorf("unknown scenario %q", cfg.Scenario)
}

// base holds what every scenario shares.
type base struct {
	cfg    *Config
	st     *Stats
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // load goroutines

	mu    sync.Mutex
	conns []*Conn

	mark   Snapshot
	markAt time.Time
	storm  atomic.Int64 // connect: nanoseconds the storm took
	done   atomic.Bool
}

func newBase(cfg *Config) *base {
	ctx, cancel := context.WithCancel(context.Background())
	if cfg.ChildCount < 1 {
		cfg.ChildCount = 1
	}
	return &base{cfg: cfg, st: NewStats(), ctx: ctx, cancel: cancel}
}

// mine reports whether global index i belongs to this process.
func (b *base) mine(i int) bool { return i%b.cfg.ChildCount == b.cfg.ChildIndex }

func (b *base) url(i int) string { return b.cfg.URLs[i%len(b.cfg.URLs)] }

func (b *base) user(kind string, i int) string { return fmt.Sprintf("cb%s-%s%d", b.cfg.Run, kind, i) }

func (b *base) token(user string) string {
	t, err := auth.Sign([]byte(b.cfg.Secret), user, 24*time.Hour, time.Now())
	if err != nil {
		panic(err) // only an empty secret or user, which check() refuses
	}
	return t
}

// open dials connection i (URL round robin) and keeps it for Stop.
func (b *base) open(ctx context.Context, i int, measure bool) (*Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	c, err := dialConn(dctx, b.url(i), b.st, i, measure, b.cfg.Sample)
	if err != nil {
		b.st.Error("dial:" + errClass(err))
		return nil, err
	}
	b.mu.Lock()
	b.conns = append(b.conns, c)
	b.mu.Unlock()
	return c, nil
}

// openUser opens connection i and logs it in as user (no login against
// the baseline).
func (b *base) openUser(ctx context.Context, i int, user string, measure bool) (*Conn, error) {
	c, err := b.open(ctx, i, measure)
	if err != nil || b.cfg.Baseline {
		return c, err
	}
	if err := c.login(ctx, user, b.token(user)); err != nil {
		b.setupError(err)
		return nil, err
	}
	return c, nil
}

// setupError counts a failed setup request.
func (b *base) setupError(err error) {
	if ce, ok := err.(*codeError); ok {
		b.st.Error(fmt.Sprintf("setup:%s:%d", ce.op, ce.code))
		return
	}
	b.st.Error("setup:" + errClass(err))
}

// parallel runs fn for every index in idx, conc at a time, and returns
// how many failed.
func parallel(ctx context.Context, idx []int, conc int, fn func(i int) error) int {
	var failed atomic.Int64
	sem := make(chan struct{}, max(conc, 1))
	var wg sync.WaitGroup
	for _, i := range idx {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if fn(i) != nil {
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	return int(failed.Load())
}

// myIndexes lists this process's share of 0..n-1.
func (b *base) myIndexes(n int) []int {
	var idx []int
	for i := range n {
		if b.mine(i) {
			idx = append(idx, i)
		}
	}
	return idx
}

func (b *base) Start() {}

func (b *base) Mark() {
	b.mark = b.st.Snapshot()
	b.markAt = time.Now()
}

func (b *base) Snapshot() Snapshot {
	s := b.st.Snapshot()
	s.Done = b.done.Load()
	return s
}

// Stop ends the window, stops the load and closes every connection.
func (b *base) Stop() Partial {
	end := b.st.Snapshot()
	p := Partial{Window: end.Sub(b.mark), Seconds: time.Since(b.markAt).Seconds(),
		StormSeconds: time.Duration(b.storm.Load()).Seconds()}
	p.Window.Done = b.done.Load()
	b.cancel()
	b.wg.Wait()
	b.mu.Lock()
	conns := b.conns
	b.conns = nil
	b.mu.Unlock()
	var wg sync.WaitGroup
	for i := 0; i < len(conns); i += 256 {
		part := conns[i:min(i+256, len(conns))]
		wg.Go(func() {
			for _, c := range part {
				c.Close()
			}
		})
	}
	wg.Wait()
	return p
}

// pace calls fn rate times a second from start until ctx ends, on
// schedule: a late call is made at once, so the mean rate holds.
func pace(ctx context.Context, start time.Time, rate float64, fn func()) {
	if rate <= 0 {
		return
	}
	t := time.NewTimer(time.Until(start))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return
	case <-t.C:
	}
	var n int64
	for ctx.Err() == nil {
		due := int64(time.Since(start).Seconds()*rate) + 1
		// After a stall of more than a second, drop the backlog rather than
		// burst it.
		if due-n > int64(rate)+1 {
			n = due - 1
		}
		for ; n < due && ctx.Err() == nil; n++ {
			fn()
		}
		next := start.Add(time.Duration(float64(n) / rate * float64(time.Second)))
		t.Reset(time.Until(next))
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// publish sends one stamped text message to groupID on c, without
// waiting for the reply (the reader counts it).
func (b *base) publish(c *Conn, groupID string, buf *[]byte) {
	*buf = appendSendData((*buf)[:0], groupID, b.cfg.Priority, time.Now().UnixNano(), b.cfg.Size)
	b.st.sent.Add(1)
	if _, err := c.send(b.ctx, opSend, *buf, false); err != nil && b.ctx.Err() == nil {
		b.st.Error("send:" + errClass(err))
	}
}

// liveWorker: viewers of one live room; process 0 also runs the
// publishers. Against the baseline there is no room: viewers only read.
type liveWorker struct {
	*base
	pubs []*Conn
}

func (w *liveWorker) Prepare(ctx context.Context) error {
	cfg := w.cfg
	join := map[string]string{"groupID": cfg.Room}
	if cfg.Anon {
		join["type"] = "AVChatRoom"
	}
	idx := w.myIndexes(cfg.Viewers)
	failed := parallel(ctx, idx, cfg.DialConc, func(i int) error {
		var c *Conn
		var err error
		if cfg.Anon {
			c, err = w.open(ctx, i, true)
		} else {
			c, err = w.openUser(ctx, i, w.user("v", i), true)
		}
		if err != nil {
			return err
		}
		if !cfg.Baseline {
			if err := c.do(ctx, "joinGroup", join, nil); err != nil {
				w.setupError(err)
				return err
			}
		}
		w.st.connected.Add(1)
		return nil
	})
	if len(idx) > 0 && failed == len(idx) {
		return fmt.Errorf("no viewer could connect and join (errors: %s)", errorList(w.st.Snapshot().Errors))
	}
	if cfg.Baseline || cfg.ChildIndex != 0 {
		return nil
	}
	for p := range cfg.Publishers {
		c, err := w.openUser(ctx, cfg.Viewers+p, w.user("p", p), false)
		if err != nil {
			return fmt.Errorf("publisher %d: %w", p, err)
		}
		if err := c.do(ctx, "joinGroup", map[string]string{"groupID": cfg.Room}, nil); err != nil {
			return fmt.Errorf("publisher %d: %w", p, err)
		}
		w.pubs = append(w.pubs, c)
	}
	return nil
}

func (w *liveWorker) Start() {
	if len(w.pubs) == 0 {
		return
	}
	rate := w.cfg.Rate / float64(len(w.pubs))
	now := time.Now()
	for p, c := range w.pubs {
		// Publishers take turns: spread their schedules evenly.
		start := now.Add(time.Duration(float64(p) / w.cfg.Rate * float64(time.Second)))
		w.wg.Go(func() {
			buf := make([]byte, 0, w.cfg.Size+256)
			pace(w.ctx, start, rate, func() { w.publish(c, w.cfg.Room, &buf) })
		})
	}
}

// groupsWorker: this process's share of the groups, every member online;
// one pacer sends the process's share of the rate, round robin over its
// groups, each from a random member.
type groupsWorker struct {
	*base
	groups []*group
}

type group struct {
	id      string
	members []*Conn
}

func (w *groupsWorker) Prepare(ctx context.Context) error {
	cfg := w.cfg
	idx := w.myIndexes(cfg.Groups)
	var mu sync.Mutex
	failed := parallel(ctx, idx, max(1, cfg.DialConc/cfg.Members), func(g int) error {
		gr, err := w.setupGroup(ctx, g)
		if err != nil {
			return err
		}
		mu.Lock()
		w.groups = append(w.groups, gr)
		mu.Unlock()
		return nil
	})
	if len(idx) > 0 && failed == len(idx) {
		return fmt.Errorf("no group could be set up (errors: %s)", errorList(w.st.Snapshot().Errors))
	}
	return nil
}

func (w *groupsWorker) setupGroup(ctx context.Context, g int) (*group, error) {
	cfg := w.cfg
	gr := &group{}
	name := func(m int) string { return w.user(fmt.Sprintf("g%d-m", g), m) }
	owner, err := w.openUser(ctx, g*cfg.Members, name(0), true)
	if err != nil {
		return nil, err
	}
	gr.members = append(gr.members, owner)
	w.st.connected.Add(1)
	if !cfg.Baseline {
		var list []map[string]string
		for m := 1; m < cfg.Members; m++ {
			list = append(list, map[string]string{"userID": name(m)})
		}
		var out struct {
			Group struct {
				GroupID string `json:"groupID"`
			} `json:"group"`
		}
		err := owner.do(ctx, "createGroup", map[string]any{"name": fmt.Sprintf("chatbench %d", g), "type": "Public",
			"joinOption": "FreeAccess", "memberList": list}, &out)
		if err != nil {
			w.setupError(err)
			return nil, err
		}
		gr.id = out.Group.GroupID
	}
	for m := 1; m < cfg.Members; m++ {
		c, err := w.openUser(ctx, g*cfg.Members+m, name(m), true)
		if err != nil {
			return nil, err
		}
		gr.members = append(gr.members, c)
		w.st.connected.Add(1)
	}
	return gr, nil
}

func (w *groupsWorker) Start() {
	if w.cfg.Baseline || len(w.groups) == 0 {
		return
	}
	rate := w.cfg.Rate / float64(w.cfg.ChildCount)
	w.wg.Go(func() {
		buf := make([]byte, 0, w.cfg.Size+256)
		k := 0
		pace(w.ctx, time.Now(), rate, func() {
			g := w.groups[k%len(w.groups)]
			k++
			w.publish(g.members[rand.IntN(len(g.members))], g.id, &buf)
		})
	})
}

// connectWorker: a storm of connections (and logins), then they idle.
type connectWorker struct {
	*base
	tokens map[int]string
}

func (w *connectWorker) Prepare(context.Context) error {
	w.tokens = map[int]string{}
	if !w.cfg.Baseline {
		for _, i := range w.myIndexes(w.cfg.Viewers) {
			w.tokens[i] = w.token(w.user("c", i))
		}
	}
	return nil
}

func (w *connectWorker) Start() {
	w.wg.Go(func() {
		start := time.Now()
		parallel(w.ctx, w.myIndexes(w.cfg.Viewers), w.cfg.DialConc, func(i int) error {
			t0 := time.Now()
			c, err := w.open(w.ctx, i, true)
			if err != nil {
				return err
			}
			if !w.cfg.Baseline {
				if err := c.login(w.ctx, w.user("c", i), w.tokens[i]); err != nil {
					w.setupError(err)
					return err
				}
			}
			w.st.ops[opConnect].Record(int64(time.Since(t0)))
			w.st.connected.Add(1)
			return nil
		})
		w.storm.Store(int64(time.Since(start)))
		w.done.Store(true)
	})
}

// opsWorker: one session per request in flight, each in a closed loop
// over the mix: sendMessage into its own group (10 members, itself the
// only one online), or joinGroup+quitGroup of its neighbour's group.
type opsWorker struct {
	*base
	mix     mix
	workers []*opsSession
}

type opsSession struct {
	index  int // among all the run's sessions
	c      *Conn
	own    string // its group
	target string // the group it joins and quits
}

func (w *opsWorker) groupID(i int) string { return fmt.Sprintf("cb%s-o%d", w.cfg.Run, i) }

func (w *opsWorker) Prepare(ctx context.Context) error {
	cfg := w.cfg
	idx := w.myIndexes(cfg.Inflight)
	var mu sync.Mutex
	failed := parallel(ctx, idx, cfg.DialConc, func(i int) error {
		c, err := w.openUser(ctx, i, w.user("o", i), false)
		if err != nil {
			return err
		}
		var list []map[string]string
		for k := 1; k < 10; k++ {
			list = append(list, map[string]string{"userID": w.user(fmt.Sprintf("o%d-x", i), k)})
		}
		err = c.do(ctx, "createGroup", map[string]any{"groupID": w.groupID(i), "name": fmt.Sprintf("chatbench ops %d", i),
			"type": "Public", "joinOption": "FreeAccess", "memberList": list}, nil)
		if err != nil {
			w.setupError(err)
			return err
		}
		w.st.connected.Add(1)
		mu.Lock()
		w.workers = append(w.workers, &opsSession{index: i, c: c, own: w.groupID(i), target: w.groupID((i + 1) % cfg.Inflight)})
		mu.Unlock()
		return nil
	})
	if failed > 0 {
		return fmt.Errorf("%d of %d ops sessions failed to set up (errors: %s)", failed, len(idx), errorList(w.st.Snapshot().Errors))
	}
	return nil
}

func (w *opsWorker) Start() {
	for _, s := range w.workers {
		w.wg.Go(func() { w.loop(s) })
	}
}

// loop runs s's closed loop until Stop. With -ops-rate each session
// makes its share of the rate on a fixed schedule, the sessions spread
// evenly over it; a request is sent at its due time or, when the one
// before it was late, at once, and its latency counts from its due time.
func (w *opsWorker) loop(s *opsSession) {
	buf := make([]byte, 0, w.cfg.Size+256)
	join, _ := jsonBytes(map[string]string{"groupID": s.target})
	sched := newSchedule(w.cfg.OpsRate, w.cfg.Inflight, s.index)
	defer sched.stop()
	for w.ctx.Err() == nil {
		for range w.mix.send {
			at, ok := sched.wait(w.ctx)
			if !ok {
				return
			}
			buf = appendSendData(buf[:0], s.own, "", time.Now().UnixNano(), w.cfg.Size)
			w.st.sent.Add(1)
			if !w.call(s.c, opSend, buf, at) {
				return
			}
		}
		for range w.mix.joinquit {
			at, ok := sched.wait(w.ctx)
			if !ok || !w.call(s.c, opJoin, join, at) {
				return
			}
			if at, ok = sched.wait(w.ctx); !ok || !w.call(s.c, opQuit, join, at) {
				return
			}
		}
	}
}

// schedule is one session's due times at -ops-rate: every n/rate
// seconds, the index-th of n sessions offset by index/rate. A zero gap
// means no schedule: every request is due when it is sent.
type schedule struct {
	gap  time.Duration
	next time.Time
	t    *time.Timer
}

func newSchedule(rate float64, n, index int) *schedule {
	if rate <= 0 {
		return &schedule{}
	}
	sec := float64(time.Second)
	return &schedule{gap: time.Duration(float64(n) / rate * sec),
		next: time.Now().Add(time.Duration(float64(index) / rate * sec))}
}

// wait sleeps until the next due time and returns it (now, without a
// schedule); false when ctx ends first.
func (s *schedule) wait(ctx context.Context) (time.Time, bool) {
	if s.gap == 0 {
		return time.Now(), ctx.Err() == nil
	}
	due := s.next
	s.next = due.Add(s.gap)
	d := time.Until(due)
	if d <= 0 {
		return due, ctx.Err() == nil
	}
	if s.t == nil {
		s.t = time.NewTimer(d)
	} else {
		s.t.Reset(d)
	}
	select {
	case <-ctx.Done():
		return due, false
	case <-s.t.C:
		return due, true
	}
}

func (s *schedule) stop() {
	if s.t != nil {
		s.t.Stop()
	}
}

// call makes one request and counts a failure; false once the run is over.
func (w *opsWorker) call(c *Conn, op string, data []byte, at time.Time) bool {
	r, err := c.sendAt(w.ctx, op, data, true, at)
	if w.ctx.Err() != nil {
		return false
	}
	switch {
	case err != nil:
		w.st.Error(op + ":" + errClass(err))
		time.Sleep(10 * time.Millisecond)
	case r.code != 0:
		w.st.Error(fmt.Sprintf("reply:%s:%d", op, r.code))
	case op == opJoin && !hasStatus(r.frame, "JoinedSuccess"):
		w.st.Error("join:not-JoinedSuccess")
	}
	return true
}

func hasStatus(frame []byte, status string) bool {
	return bytes.Contains(frame, []byte(`"status":"`+status+`"`))
}

func jsonBytes(v any) ([]byte, error) { return json.Marshal(v) }
