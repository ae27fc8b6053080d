package main

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"time"
)

// Report is the result of one scenario run against one target.
type Report struct {
	Target    string       `json:"target"` // "chatd" or "baseline"
	Scenario  string       `json:"scenario"`
	URLs      []string     `json:"urls"`
	Params    ReportParams `json:"params"`
	Seconds   float64      `json:"seconds"` // the measured window
	StartedAt time.Time    `json:"started_at"`

	Connections int64  `json:"connections"` // open at the end of the window
	Connected   uint64 `json:"connected"`   // set up successfully (in the window for connect, else before it)

	Deliveries       uint64  `json:"deliveries"`
	DeliveriesPerSec float64 `json:"deliveries_per_sec"`
	ExpectedPerSec   float64 `json:"expected_deliveries_per_sec"` // what the accepted sends (baseline: the ticks) call for
	Frames           uint64  `json:"frames"`
	FramesPerSec     float64 `json:"frames_per_sec"`
	MsgsPerFrame     float64 `json:"messages_per_frame"` // bench messages per frame that carried any
	OtherPushes      uint64  `json:"other_pushes"`       // tips and notices
	MBytesPerSec     float64 `json:"mbytes_per_sec"`     // push bytes received, 10^6/s
	Sent             uint64  `json:"sent"`
	SentOK           uint64  `json:"sent_ok"`
	SentPerSec       float64 `json:"sent_per_sec"`

	Latency         Percentiles        `json:"latency_ms"` // end to end, sampled
	Ops             map[string]OpStats `json:"ops,omitempty"`
	Connect         *ConnectStats      `json:"connect,omitempty"`
	Errors          map[string]uint64  `json:"errors"` // over the whole run, setup included
	Server          *ServerStats       `json:"server,omitempty"`
	Client          ClientStats        `json:"client"`
	Redis           map[string]float64 `json:"redis_commands_per_op,omitempty"`    // ops: Redis command calls per op in the window ("total": every command)
	RedisTrips      float64            `json:"redis_round_trips_per_op,omitempty"` // ops: from a second of MONITOR before the window (an upper bound)
	RedisCPUPercent float64            `json:"redis_cpu_percent,omitempty"`        // ops: the local Redis's CPU over the window (of one core)
	Notes           []string           `json:"notes,omitempty"`
	Raw             Snapshot           `json:"raw"` // the merged window, histograms included
}

// ReportParams are the knobs of the run.
type ReportParams struct {
	Viewers    int     `json:"viewers,omitempty"`
	Anon       bool    `json:"anon,omitempty"`
	Publishers int     `json:"publishers,omitempty"`
	Rate       float64 `json:"rate"`
	Size       int     `json:"size"`
	Priority   string  `json:"priority,omitempty"`
	Groups     int     `json:"groups,omitempty"`
	Members    int     `json:"members,omitempty"`
	Inflight   int     `json:"inflight,omitempty"`
	OpsMix     string  `json:"ops_mix,omitempty"`
	Duration   string  `json:"duration"`
	Warmup     string  `json:"warmup"`
	Procs      int     `json:"procs"`
	Sample     int     `json:"sample"`
	CPUServer  string  `json:"cpu_server,omitempty"`
	CPUClient  string  `json:"cpu_client,omitempty"`
}

// Percentiles of a latency histogram, in milliseconds.
type Percentiles struct {
	Samples uint64  `json:"samples"`
	P50     float64 `json:"p50"`
	P90     float64 `json:"p90"`
	P99     float64 `json:"p99"`
	P999    float64 `json:"p999"`
	Max     float64 `json:"max"`
	Mean    float64 `json:"mean"`
}

func percentiles(h *Hist) Percentiles {
	if h == nil || h.Count() == 0 {
		return Percentiles{}
	}
	ms := func(ns int64) float64 { return float64(ns) / 1e6 }
	return Percentiles{Samples: h.Count(), P50: ms(h.Quantile(0.5)), P90: ms(h.Quantile(0.9)), P99: ms(h.Quantile(0.99)),
		P999: ms(h.Quantile(0.999)), Max: ms(h.Max()), Mean: h.Mean() / 1e6}
}

// OpStats is one request type's throughput and latency.
type OpStats struct {
	Count  uint64      `json:"count"`
	PerSec float64     `json:"per_sec"`
	Lat    Percentiles `json:"latency_ms"`
}

// ConnectStats is the connect storm.
type ConnectStats struct {
	Connections uint64      `json:"connections"`
	Seconds     float64     `json:"seconds"`
	PerSec      float64     `json:"per_sec"`
	Lat         Percentiles `json:"latency_ms"` // dial + login
}

// ServerStats is the target server's resources, when it runs here.
type ServerStats struct {
	PID           int     `json:"pid"`
	RSSStartKiB   int64   `json:"rss_start_kib"` // before the load connected
	RSSEndKiB     int64   `json:"rss_end_kib"`
	RSSMaxKiB     int64   `json:"rss_max_kib"`
	RSSPerConnKiB float64 `json:"rss_per_conn_kib,omitempty"` // (end - start) / connections
	CPUPercent    float64 `json:"cpu_percent"`                // of one core, over the window
	CPUSeconds    float64 `json:"cpu_seconds"`
	CPUPerFrameUs float64 `json:"cpu_us_per_frame,omitempty"`
	CPUPerDelivUs float64 `json:"cpu_us_per_delivery,omitempty"`
	CPUPerOpUs    float64 `json:"cpu_us_per_op,omitempty"` // ops: over every request of the window
}

// ServerStat is one reading of the server's counters.
type ServerStat struct {
	CPU     float64
	RSS     int64
	At      time.Time
	Machine float64 // machineBusy
}

func readServer(pid int) ServerStat {
	if pid == 0 {
		return ServerStat{At: time.Now(), Machine: machineBusy()}
	}
	cpu, _ := procCPU(pid)
	rss, _ := procRSS(pid)
	return ServerStat{CPU: cpu, RSS: rss, At: time.Now(), Machine: machineBusy()}
}

// ClientStats is chatbench's own CPU over the window (all processes).
type ClientStats struct {
	Procs      int     `json:"procs"`
	CPUPercent float64 `json:"cpu_percent"` // of one core, summed over the processes
	// OthersCPUPercent is what every other process on the machine used
	// over the window (of one core): other work on a shared machine that
	// competed with the server and the client.
	OthersCPUPercent float64 `json:"others_cpu_percent"`
}

// mergePartials sums the workers' windows: the processes ran side by side,
// so the window is the longest of theirs.
func mergePartials(ps []Partial) (Snapshot, float64, float64) {
	m := Snapshot{Latency: NewHist(), Ops: map[string]*Hist{}, Errors: map[string]uint64{}, Done: true}
	var secs, storm float64
	for _, p := range ps {
		m = Merge(m, p.Window)
		secs = max(secs, p.Seconds)
		storm = max(storm, p.StormSeconds)
	}
	return m, secs, storm
}

// buildReport derives the rates and percentiles of a merged window.
func buildReport(cfg *Config, target string, w Snapshot, secs, storm float64) *Report {
	r := &Report{Target: target, Scenario: cfg.Scenario, URLs: cfg.URLs, Seconds: secs, Raw: w,
		Connections: w.Conns, Connected: w.Connected, Deliveries: w.Deliveries, Frames: w.Frames,
		OtherPushes: w.Other, Sent: w.Sent, SentOK: w.SentOK, Errors: w.Errors}
	r.Params = ReportParams{Rate: cfg.Rate, Size: cfg.Size, Duration: cfg.Duration.String(), Warmup: cfg.Warmup.String(),
		Procs: cfg.Procs, Sample: cfg.Sample, CPUServer: cfg.CPUServer, CPUClient: cfg.CPUClient}
	switch cfg.Scenario {
	case "live":
		r.Params.Viewers, r.Params.Anon, r.Params.Publishers, r.Params.Priority = cfg.Viewers, cfg.Anon, cfg.Publishers, cfg.Priority
	case "groups":
		r.Params.Groups, r.Params.Members, r.Params.Priority = cfg.Groups, cfg.Members, cfg.Priority
	case "connect":
		r.Params.Viewers, r.Params.Rate, r.Params.Size = cfg.Viewers, 0, 0
	case "ops":
		r.Params.Inflight, r.Params.OpsMix, r.Params.Rate = cfg.Inflight, cfg.OpsMix, cfg.OpsRate
	}
	if r.Errors == nil {
		r.Errors = map[string]uint64{}
	}
	per := func(n uint64) float64 {
		if secs <= 0 {
			return 0
		}
		return float64(n) / secs
	}
	r.DeliveriesPerSec, r.FramesPerSec, r.SentPerSec = per(w.Deliveries), per(w.Frames), per(w.SentOK)
	r.MBytesPerSec = per(w.Bytes) / 1e6
	if w.MsgFrames > 0 {
		r.MsgsPerFrame = float64(w.Deliveries) / float64(w.MsgFrames)
	}
	r.Latency = percentiles(w.Latency)
	switch {
	case target == "baseline" && cfg.Scenario == "live":
		r.ExpectedPerSec = cfg.Rate * float64(w.Connected)
	case target == "baseline" && cfg.Scenario == "groups":
		r.ExpectedPerSec = baselineRate(cfg) * float64(w.Connected)
	case cfg.Scenario == "live":
		r.ExpectedPerSec = per(w.SentOK) * float64(cfg.Viewers)
	case cfg.Scenario == "groups":
		r.ExpectedPerSec = per(w.SentOK) * float64(cfg.Members-1)
	}
	if cfg.Scenario == "ops" {
		r.Ops = map[string]OpStats{}
		for _, op := range []string{opSend, opJoin, opQuit} {
			if h := w.Ops[op]; h != nil && h.Count() > 0 {
				r.Ops[op] = OpStats{Count: h.Count(), PerSec: per(h.Count()), Lat: percentiles(h)}
			}
		}
	}
	if cfg.Scenario == "connect" {
		c := &ConnectStats{Connections: w.Connected, Seconds: storm, Lat: percentiles(w.Ops[opConnect])}
		if storm > 0 {
			c.PerSec = float64(w.Connected) / storm
		}
		r.Connect = c
	}
	r.Client = ClientStats{Procs: cfg.Procs}
	if secs > 0 {
		r.Client.CPUPercent = 100 * w.CPU / secs
	}
	return r
}

// baselineRate is the frames per second the baseline sends every
// connection: what one viewer or member of the scenario receives.
func baselineRate(cfg *Config) float64 {
	switch cfg.Scenario {
	case "live":
		return cfg.Rate
	case "groups":
		return cfg.Rate / float64(cfg.Groups) * float64(cfg.Members-1) / float64(cfg.Members)
	}
	return 0
}

// setServer fills the server's resources between two readings.
func (r *Report) setServer(pid int, start, a, b ServerStat, rssMax int64) {
	if pid == 0 {
		r.setOthers(a, b, 0)
		return
	}
	s := &ServerStats{PID: pid, RSSStartKiB: start.RSS, RSSEndKiB: b.RSS, RSSMaxKiB: max(rssMax, b.RSS)}
	if d := b.At.Sub(a.At).Seconds(); d > 0 {
		s.CPUSeconds = b.CPU - a.CPU
		s.CPUPercent = 100 * s.CPUSeconds / d
	}
	r.setOthers(a, b, s.CPUSeconds)
	if r.Frames > 0 {
		s.CPUPerFrameUs = 1e6 * s.CPUSeconds / float64(r.Frames)
		s.CPUPerDelivUs = 1e6 * s.CPUSeconds / float64(max(r.Deliveries, 1))
	}
	var ops uint64
	for _, o := range r.Ops {
		ops += o.Count
	}
	if ops > 0 {
		s.CPUPerOpUs = 1e6 * s.CPUSeconds / float64(ops)
	}
	if r.Scenario == "connect" && r.Connected > 0 {
		s.RSSPerConnKiB = float64(b.RSS-start.RSS) / float64(r.Connected)
	}
	r.Server = s
}

// setOthers fills the CPU others used between a and b: the machine's
// busy time less the server's and chatbench's.
func (r *Report) setOthers(a, b ServerStat, serverCPU float64) {
	d := b.At.Sub(a.At).Seconds()
	if d <= 0 || a.Machine == 0 {
		return
	}
	others := (b.Machine - a.Machine) - serverCPU - r.Client.CPUPercent/100*r.Seconds
	r.Client.OthersCPUPercent = max(0, 100*others/d)
}

// Comparison is a -compare run: the same scenario against the baseline
// and chatd, and chatd's figures as ratios of the baseline's.
type Comparison struct {
	Baseline *Report            `json:"baseline"`
	Chatd    *Report            `json:"chatd"`
	Ratios   map[string]float64 `json:"ratios"` // chatd ÷ baseline
}

func compare(b, c *Report) *Comparison {
	cmp := &Comparison{Baseline: b, Chatd: c, Ratios: map[string]float64{}}
	ratio := func(name string, x, y float64) {
		if y != 0 && !math.IsNaN(x/y) {
			cmp.Ratios[name] = x / y
		}
	}
	ratio("deliveries_per_sec", c.DeliveriesPerSec, b.DeliveriesPerSec)
	ratio("frames_per_sec", c.FramesPerSec, b.FramesPerSec)
	ratio("latency_p50", c.Latency.P50, b.Latency.P50)
	ratio("latency_p99", c.Latency.P99, b.Latency.P99)
	if c.Connect != nil && b.Connect != nil {
		ratio("connects_per_sec", c.Connect.PerSec, b.Connect.PerSec)
	}
	if c.Server != nil && b.Server != nil {
		ratio("server_cpu_percent", c.Server.CPUPercent, b.Server.CPUPercent)
		ratio("server_cpu_per_frame", c.Server.CPUPerFrameUs, b.Server.CPUPerFrameUs)
		ratio("server_cpu_per_delivery", c.Server.CPUPerDelivUs, b.Server.CPUPerDelivUs)
		ratio("rss_per_conn", c.Server.RSSPerConnKiB, b.Server.RSSPerConnKiB)
	}
	return cmp
}

// printSummary writes the human summary of r.
func printSummary(w io.Writer, r *Report) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	p("chatbench %s → %s %s  (%d proc, %.1f s measured)", r.Scenario, r.Target, strings.Join(r.URLs, ","), r.Params.Procs, r.Seconds)
	switch r.Scenario {
	case "live":
		who := "logged in"
		if r.Params.Anon {
			who = "anonymous"
		}
		if r.Target == "baseline" {
			p("  viewers      %s (%s connected), %s frames/s each, %d-byte text", fmtInt(uint64(r.Params.Viewers)),
				fmtInt(r.Connected), fmtFloat(r.Params.Rate), r.Params.Size)
			break
		}
		p("  viewers      %s (%s, %s set up), %d publishers, %s msg/s, %d-byte text, priority %s",
			fmtInt(uint64(r.Params.Viewers)), who, fmtInt(r.Connected), r.Params.Publishers, fmtFloat(r.Params.Rate), r.Params.Size, r.Params.Priority)
	case "groups":
		p("  groups       %d × %d members (%s connected), %s msg/s, %d-byte text", r.Params.Groups, r.Params.Members,
			fmtInt(r.Connected), fmtFloat(r.Params.Rate), r.Params.Size)
	case "ops":
		pacing := "closed loop at full speed"
		if r.Params.Rate > 0 {
			pacing = fmt.Sprintf("paced at %s requests/s in total, latency from each request's due time", fmtFloat(r.Params.Rate))
		}
		p("  sessions     %d in flight, mix %s, %s", r.Params.Inflight, r.Params.OpsMix, pacing)
	}
	if r.Scenario == "live" || r.Scenario == "groups" {
		exp := ""
		if r.ExpectedPerSec > 0 {
			exp = fmt.Sprintf("  (%.1f%% of the %s/s expected)", 100*r.DeliveriesPerSec/r.ExpectedPerSec, fmtFloat(r.ExpectedPerSec))
		}
		p("  deliveries   %s/s%s", fmtFloat(r.DeliveriesPerSec), exp)
		var avg float64
		if r.Frames > 0 {
			avg = float64(r.Raw.Bytes) / float64(r.Frames)
		}
		p("  frames       %s/s, %.2f messages/frame, %.0f bytes/frame, %.1f MB/s, %s other pushes", fmtFloat(r.FramesPerSec),
			r.MsgsPerFrame, avg, r.MBytesPerSec, fmtInt(r.OtherPushes))
		p("  latency      p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  (%s samples)", fmtMs(r.Latency.P50), fmtMs(r.Latency.P90),
			fmtMs(r.Latency.P99), fmtMs(r.Latency.P999), fmtMs(r.Latency.Max), fmtInt(r.Latency.Samples))
		if r.Target == "chatd" {
			p("  sent         %s/s accepted (%s sent)", fmtFloat(r.SentPerSec), fmtInt(r.Sent))
		}
	}
	if c := r.Connect; c != nil {
		p("  connect      %s connections in %.2f s: %s/s; connect+login p50 %s p99 %s max %s", fmtInt(c.Connections), c.Seconds,
			fmtFloat(c.PerSec), fmtMs(c.Lat.P50), fmtMs(c.Lat.P99), fmtMs(c.Lat.Max))
	}
	if len(r.Ops) > 0 {
		names := make([]string, 0, len(r.Ops))
		for n := range r.Ops {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			o := r.Ops[n]
			p("  %-12s %s ops/s  p50 %s  p99 %s  p99.9 %s  max %s", n, fmtFloat(o.PerSec), fmtMs(o.Lat.P50), fmtMs(o.Lat.P99),
				fmtMs(o.Lat.P999), fmtMs(o.Lat.Max))
		}
	}
	if r.RedisTrips > 0 {
		p("  redis        %.2f round trips per op (1 s of MONITOR before the window; MULTI…EXEC counted once, Lua-internal calls not counted)", r.RedisTrips)
	}
	if len(r.Redis) > 0 {
		p("  redis        %s", fmtPerOp(r.Redis))
	}
	if r.RedisCPUPercent > 0 {
		p("  redis        cpu %.0f%% of a core (not counted in \"other processes\")", r.RedisCPUPercent)
	}
	if s := r.Server; s != nil {
		line := fmt.Sprintf("  server       pid %d: cpu %.0f%% of a core", s.PID, s.CPUPercent)
		if s.CPUPerFrameUs > 0 {
			line += fmt.Sprintf(" (%.2f µs/frame, %.2f µs/delivery)", s.CPUPerFrameUs, s.CPUPerDelivUs)
		}
		if s.CPUPerOpUs > 0 {
			line += fmt.Sprintf(" (%.1f µs/op)", s.CPUPerOpUs)
		}
		line += fmt.Sprintf(", rss %s → %s (max %s)", fmtKiB(s.RSSStartKiB), fmtKiB(s.RSSEndKiB), fmtKiB(s.RSSMaxKiB))
		if s.RSSPerConnKiB != 0 {
			line += fmt.Sprintf(", %.1f KiB per connection", s.RSSPerConnKiB)
		}
		p("%s", line)
	}
	p("  client       %d proc, cpu %.0f%% of a core; other processes on the machine: %.0f%% of a core",
		r.Client.Procs, r.Client.CPUPercent, r.Client.OthersCPUPercent)
	p("  errors       %s", errorList(r.Errors))
	for _, n := range r.Notes {
		p("  note         %s", n)
	}
}

func printComparison(w io.Writer, c *Comparison) {
	names := make([]string, 0, len(c.Ratios))
	for n := range c.Ratios {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintln(w, "chatd ÷ baseline:")
	for _, n := range names {
		fmt.Fprintf(w, "  %-24s %.3f\n", n, c.Ratios[n])
	}
}

func fmtPerOp(m map[string]float64) string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return m[names[i]] > m[names[j]] })
	var parts []string
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("%s %.2f", n, m[n]))
	}
	return "commands per op: " + strings.Join(parts, ", ")
}

// fmtInt formats n with thousands separators.
func fmtInt(n uint64) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func fmtFloat(f float64) string {
	if f >= 100 || f == math.Trunc(f) {
		return fmtInt(uint64(math.Round(f)))
	}
	return fmt.Sprintf("%.1f", f)
}

func fmtMs(ms float64) string {
	switch {
	case ms == 0:
		return "-"
	case ms < 1:
		return fmt.Sprintf("%.0fµs", ms*1000)
	case ms < 100:
		return fmt.Sprintf("%.1fms", ms)
	case ms < 10000:
		return fmt.Sprintf("%.0fms", ms)
	}
	return fmt.Sprintf("%.1fs", ms/1000)
}

func fmtKiB(k int64) string {
	if k >= 10<<10 {
		return fmt.Sprintf("%.0f MiB", float64(k)/1024)
	}
	return fmt.Sprintf("%d KiB", k)
}
