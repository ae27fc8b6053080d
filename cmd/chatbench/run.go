package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"sync"
	"time"
)

// runner runs one scenario against one target.
type runner struct {
	cfg    Config // a copy: URLs and Baseline are the target's
	target string
	stderr io.Writer

	srv     *server
	pid     int
	workers []Worker
	rssMax  int64
	stop    chan struct{}
	wg      sync.WaitGroup
}

// runTarget runs cfg's scenario against chatd (or the baseline when
// baseline is set), starting the server when asked, and returns the
// merged report.
func runTarget(cfg Config, baseline bool, stderr io.Writer) (rep *Report, err error) {
	r := &runner{cfg: cfg, stderr: stderr, target: "chatd", stop: make(chan struct{})}
	r.cfg.Baseline = baseline
	if baseline {
		r.target = "baseline"
	}
	if r.cfg.Run == "" {
		r.cfg.Run = randomHex(3)
	}
	defer func() {
		r.srv.stop()
	}()
	if err := r.startServer(); err != nil {
		return nil, err
	}
	start := readServer(r.pid)
	r.rssMax = start.RSS
	if r.cfg.Scenario == "live" && !baseline {
		room, err := createRoom(&r.cfg)
		if err != nil {
			return nil, fmt.Errorf("creating the live room: %w", err)
		}
		r.cfg.Room = room
	}
	if err := r.spawn(); err != nil {
		return nil, err
	}
	if r.cfg.CPUProfile != "" && r.cfg.Procs <= 1 {
		stop, err := startProfile(r.cfg.CPUProfile)
		if err != nil {
			return nil, err
		}
		defer stop()
	}
	defer r.killAll()
	r.progress("setting up")
	if err := r.prepareAll(); err != nil {
		close(r.stop)
		r.wg.Wait()
		r.stopAll()
		return nil, err
	}
	var a, b ServerStat
	var redisA map[string]uint64
	var trips *tripCount
	var redisPID int
	var redisCPU0 float64
	if r.cfg.Scenario == "connect" {
		a = readServer(r.pid)
		r.each(Worker.Mark)
		r.each(Worker.Start)
		r.phase("connecting")
		r.waitDone()
		r.phase("holding")
		time.Sleep(r.cfg.Hold)
		b = readServer(r.pid)
	} else {
		r.each(Worker.Start)
		r.phase("warmup")
		time.Sleep(r.cfg.Warmup)
		if r.cfg.Scenario == "ops" && r.cfg.RedisURL != "" {
			r.phase("monitor")
			trips = r.countTrips()
			if r.cfg.OpsRate > 0 {
				// A paced load queues up behind MONITOR; the window
				// starts once that backlog has drained.
				r.phase("settle")
				time.Sleep(max(r.cfg.Warmup, 2*time.Second))
			}
		}
		redisA = r.redisCalls()
		if redisA != nil {
			redisPID = findServerPID(r.cfg.RedisURL)
			redisCPU0, _ = procCPU(redisPID)
		}
		a = readServer(r.pid)
		r.each(Worker.Mark)
		r.phase("measuring")
		time.Sleep(r.cfg.Duration)
		b = readServer(r.pid)
	}
	redisB := r.redisCalls()
	close(r.stop)
	r.wg.Wait()
	parts := r.stopAll()
	w, secs, storm := mergePartials(parts)
	rep = buildReport(&r.cfg, r.target, w, secs, storm)
	rep.StartedAt = a.At
	rep.setServer(r.pid, start, a, b, r.rssMax)
	if redisA != nil && redisB != nil {
		rep.Redis = redisPerOp(redisA, redisB, rep)
	}
	if redisPID != 0 {
		cpu, _ := procCPU(redisPID)
		rep.RedisCPUPercent = 100 * (cpu - redisCPU0) / b.At.Sub(a.At).Seconds()
		rep.Client.OthersCPUPercent = max(0, rep.Client.OthersCPUPercent-rep.RedisCPUPercent)
	}
	if trips != nil && trips.ops > 0 {
		rep.RedisTrips = float64(trips.trips) / float64(trips.ops)
	}
	rep.Notes = notes(rep)
	return rep, nil
}

// startServer starts the baseline or chatd when asked and finds the
// server's pid.
func (r *runner) startServer() error {
	switch {
	case r.cfg.Baseline:
		s, addr, err := startBaseline(&r.cfg, baselineRate(&r.cfg))
		if err != nil {
			return err
		}
		r.srv, r.pid = s, s.pid
		r.cfg.URLs = []string{"ws://" + addr + "/ws"}
	case r.cfg.StartServer != "":
		s, err := startChatd(&r.cfg, r.stderr)
		if err != nil {
			return err
		}
		r.srv, r.pid = s, s.pid
	default:
		r.pid = r.cfg.ServerPID
		if r.pid == 0 {
			r.pid = findServerPID(r.cfg.URLs[0])
		}
	}
	return nil
}

// createRoom makes the live room the viewers join.
func createRoom(cfg *Config) (string, error) {
	b := newBase(cfg)
	defer b.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	owner := b.user("owner", 0)
	c, err := b.openUser(ctx, 0, owner, false)
	if err != nil {
		return "", err
	}
	var out struct {
		Group struct {
			GroupID string `json:"groupID"`
		} `json:"group"`
	}
	if err := c.do(ctx, "createGroup", map[string]string{"name": "chatbench live", "type": "AVChatRoom"}, &out); err != nil {
		return "", err
	}
	return out.Group.GroupID, nil
}

// spawn makes the workers: in process, or one child process each.
func (r *runner) spawn() error {
	if r.cfg.Procs <= 1 {
		c := r.cfg
		c.ChildIndex, c.ChildCount = 0, 1
		w, err := newWorker(&c)
		if err != nil {
			return err
		}
		r.workers = []Worker{w}
		return nil
	}
	for i := range r.cfg.Procs {
		c := r.cfg
		c.ChildIndex, c.ChildCount = i, r.cfg.Procs
		w, err := startChild(c)
		if err != nil {
			return err
		}
		r.workers = append(r.workers, w)
	}
	return nil
}

func (r *runner) prepareAll() error {
	errs := make([]error, len(r.workers))
	var wg sync.WaitGroup
	for i, w := range r.workers {
		wg.Go(func() { errs[i] = w.Prepare(context.Background()) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (r *runner) each(f func(Worker)) {
	for _, w := range r.workers {
		f(w)
	}
}

func (r *runner) stopAll() []Partial {
	parts := make([]Partial, len(r.workers))
	var wg sync.WaitGroup
	for i, w := range r.workers {
		wg.Go(func() { parts[i] = w.Stop() })
	}
	wg.Wait()
	r.workers = nil
	return parts
}

func (r *runner) killAll() {
	for _, w := range r.workers {
		if c, ok := w.(*childWorker); ok {
			c.kill()
		}
	}
}

func (r *runner) snapshot() Snapshot {
	m := Snapshot{Latency: NewHist(), Ops: map[string]*Hist{}, Errors: map[string]uint64{}, Done: true}
	for _, w := range r.workers {
		m = Merge(m, w.Snapshot())
	}
	return m
}

// waitDone waits until every worker's load is done (the connect storm).
func (r *runner) waitDone() {
	for {
		if s := r.snapshot(); s.Done {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// phase names what the progress line shows from now on.
var phaseMu sync.Mutex
var phaseName = "setting up"
var phaseStart = time.Now()

func (r *runner) phase(name string) {
	phaseMu.Lock()
	phaseName, phaseStart = name, time.Now()
	phaseMu.Unlock()
}

// progress starts the progress line: one line rewritten every second
// (a plain line every 10 s when stderr is not a terminal). It also keeps
// the server's peak RSS.
func (r *runner) progress(first string) {
	r.phase(first)
	tty := isTerminal(r.stderr)
	began := time.Now()
	r.wg.Go(func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		prev, prevAt := r.snapshot(), time.Now()
		n := 0
		for {
			select {
			case <-r.stop:
				if tty && !r.cfg.Quiet {
					fmt.Fprint(r.stderr, "\r\033[K")
				}
				return
			case <-t.C:
			}
			if s := readServer(r.pid); s.RSS > r.rssMax {
				r.rssMax = s.RSS
			}
			cur, at := r.snapshot(), time.Now()
			d := cur.Sub(prev)
			dt := at.Sub(prevAt).Seconds()
			prev, prevAt = cur, at
			n++
			if r.cfg.Quiet || (!tty && n%10 != 0) {
				continue
			}
			phaseMu.Lock()
			ph, phs := phaseName, time.Since(phaseStart)
			phaseMu.Unlock()
			line := fmt.Sprintf("%s %5.0fs  %-10s %3.0fs  conns %s  deliv/s %s  frames/s %s  p99 %s  errors %s",
				r.target, time.Since(began).Seconds(), ph, phs.Seconds(), fmtInt(uint64(max(cur.Conns, 0))),
				fmtFloat(float64(d.Deliveries)/dt), fmtFloat(float64(d.Frames)/dt), fmtMs(percentiles(d.Latency).P99),
				fmtInt(cur.ErrorCount()))
			if r.cfg.Scenario == "ops" {
				var ops uint64
				for _, h := range d.Ops {
					ops += h.Count()
				}
				line = fmt.Sprintf("%s %5.0fs  %-10s %3.0fs  conns %s  ops/s %s  errors %s", r.target,
					time.Since(began).Seconds(), ph, phs.Seconds(), fmtInt(uint64(max(cur.Conns, 0))),
					fmtFloat(float64(ops)/dt), fmtInt(cur.ErrorCount()))
			}
			if tty {
				fmt.Fprintf(r.stderr, "\r\033[K%s", line)
			} else {
				fmt.Fprintln(r.stderr, line)
			}
		}
	})
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// redisCalls reads Redis's command counters (ops scenario with -redis).
func (r *runner) redisCalls() map[string]uint64 {
	if r.cfg.Scenario != "ops" || r.cfg.RedisURL == "" || r.cfg.Baseline {
		return nil
	}
	rc, err := dialRedis(r.cfg.RedisURL)
	if err != nil {
		return nil
	}
	defer rc.Close()
	m, err := rc.commandCalls()
	if err != nil {
		return nil
	}
	return m
}

type tripCount struct{ trips, ops uint64 }

// countTrips watches Redis for a second before the window, while the load
// goes on, and counts its round trips against the ops done meanwhile.
// (MONITOR slows Redis down, so the window starts after it.)
func (r *runner) countTrips() *tripCount {
	before := r.snapshot()
	trips, _, err := monitorTrips(r.cfg.RedisURL, time.Second)
	if err != nil {
		return nil
	}
	d := r.snapshot().Sub(before)
	var ops uint64
	for _, op := range []string{opSend, opJoin, opQuit} {
		if h := d.Ops[op]; h != nil {
			ops += h.Count()
		}
	}
	return &tripCount{trips: trips, ops: ops}
}

// redisPerOp divides the Redis commands of the window by the ops done.
func redisPerOp(a, b map[string]uint64, rep *Report) map[string]float64 {
	var ops uint64
	for _, o := range rep.Ops {
		ops += o.Count
	}
	if ops == 0 {
		return nil
	}
	out := map[string]float64{}
	for k, v := range b {
		if d := v - a[k]; v >= a[k] && float64(d)/float64(ops) >= 0.005 {
			// INFO itself is counted: one call per reading.
			if k == "info" {
				continue
			}
			out[k] = float64(d) / float64(ops)
		}
	}
	return out
}

// notes says what the numbers mean when something looks off.
func notes(r *Report) []string {
	var n []string
	if r.Client.OthersCPUPercent > 15 {
		n = append(n, fmt.Sprintf("other processes used %.0f%% of a core during the window: the figures are disturbed", r.Client.OthersCPUPercent))
	}
	if cores := min(max(r.Client.Procs, 1), runtime.NumCPU()); r.Client.CPUPercent > 90*float64(cores) {
		n = append(n, fmt.Sprintf("the client used %.0f%% of its %d core(s): it may be the bottleneck", r.Client.CPUPercent, cores))
	}
	if r.ExpectedPerSec > 0 && r.DeliveriesPerSec < 0.95*r.ExpectedPerSec {
		n = append(n, fmt.Sprintf("only %.1f%% of the expected deliveries arrived: the server (or client) fell behind", 100*r.DeliveriesPerSec/r.ExpectedPerSec))
	}
	if r.Errors["reply:10023"] > 0 {
		n = append(n, "10023: the live room shed messages over its rate (CHAT_LIVE_MSG_RATE); use -priority High or -live-rate")
	}
	return n
}

// startProfile starts a CPU profile into path.
func startProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// writeJSON writes v to path ("-" = stdout).
func writeJSON(path string, v any, stdout io.Writer) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if path == "-" {
		_, err = stdout.Write(b)
		return err
	}
	return os.WriteFile(path, b, 0o644)
}
