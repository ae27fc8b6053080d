package main

import (
	"encoding/json"
	"math"
	"testing"
	"time"
)

func snapshotWith(deliveries, frames uint64, lat ...int64) Snapshot {
	s := Snapshot{Frames: frames, MsgFrames: frames, Deliveries: deliveries, Bytes: frames * 500, Conns: 10, Connected: 10,
		Sent: deliveries / 10, SentOK: deliveries / 10, Latency: NewHist(), Ops: map[string]*Hist{opSend: NewHist()},
		Errors: map[string]uint64{}, CPU: 1}
	for _, v := range lat {
		s.Latency.Record(v)
		s.Ops[opSend].Record(v)
	}
	return s
}

func TestMergePartials(t *testing.T) {
	a := snapshotWith(1000, 100, 1e6, 2e6)
	a.Errors["close:4008"] = 2
	b := snapshotWith(3000, 300, 3e6, 4e6)
	b.Errors["close:4008"] = 1
	b.Errors["reply:10023"] = 5

	// The parts travel from the children as JSON.
	var parts []Partial
	for _, p := range []Partial{{Window: a, Seconds: 10}, {Window: b, Seconds: 10.5, StormSeconds: 2}} {
		raw, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		var back Partial
		if err := json.Unmarshal(raw, &back); err != nil {
			t.Fatal(err)
		}
		parts = append(parts, back)
	}
	w, secs, storm := mergePartials(parts)
	if secs != 10.5 || storm != 2 {
		t.Errorf("seconds %v storm %v: want the longest", secs, storm)
	}
	if w.Deliveries != 4000 || w.Frames != 400 || w.Conns != 20 || w.SentOK != 400 || w.CPU != 2 {
		t.Errorf("sums: %+v", w)
	}
	if w.Errors["close:4008"] != 3 || w.Errors["reply:10023"] != 5 || w.ErrorCount() != 8 {
		t.Errorf("errors %v", w.Errors)
	}
	if w.Latency.Count() != 4 || w.Ops[opSend].Count() != 4 {
		t.Errorf("histograms: %d, %d values", w.Latency.Count(), w.Ops[opSend].Count())
	}
	if p := w.Latency.Quantile(0.5); p < 2e6 || p > 2.02e6 {
		t.Errorf("merged p50 %d", p)
	}

	cfg := &Config{Scenario: "live", Viewers: 20, Rate: 40, Size: 100, Procs: 2, Duration: 10 * time.Second}
	r := buildReport(cfg, "chatd", w, secs, storm)
	if math.Abs(r.DeliveriesPerSec-4000/10.5) > 1e-9 || math.Abs(r.FramesPerSec-400/10.5) > 1e-9 || r.MsgsPerFrame != 10 {
		t.Errorf("rates: %v deliveries/s %v frames/s %v per frame", r.DeliveriesPerSec, r.FramesPerSec, r.MsgsPerFrame)
	}
	if math.Abs(r.ExpectedPerSec-400/10.5*20) > 1e-9 {
		t.Errorf("expected %v", r.ExpectedPerSec)
	}
	if r.Latency.Samples != 4 || r.Latency.P99 < 4 || r.Latency.P99 > 4.04 {
		t.Errorf("latency %+v", r.Latency)
	}
	if math.Abs(r.Client.CPUPercent-100*2/10.5) > 1e-9 {
		t.Errorf("client cpu %v", r.Client.CPUPercent)
	}

	r.setServer(99, ServerStat{RSS: 1000}, ServerStat{CPU: 10, At: time.Unix(100, 0)},
		ServerStat{CPU: 15, RSS: 3000, At: time.Unix(110, 0)}, 2500)
	if s := r.Server; s.CPUPercent != 50 || s.RSSMaxKiB != 3000 || math.Abs(s.CPUPerFrameUs-5e6/400) > 1e-6 || s.CPUPerOpUs != 0 {
		t.Errorf("server %+v", s)
	}
	// ops: CPU per request, every op of the window counted
	r.Ops = map[string]OpStats{opJoin: {Count: 600}, opQuit: {Count: 400}}
	r.setServer(99, ServerStat{}, ServerStat{CPU: 10, At: time.Unix(100, 0)}, ServerStat{CPU: 15, At: time.Unix(110, 0)}, 0)
	if s := r.Server; math.Abs(s.CPUPerOpUs-5e6/1000) > 1e-6 {
		t.Errorf("cpu per op %v, want 5000 µs", s.CPUPerOpUs)
	}
}

func TestSnapshotSub(t *testing.T) {
	early := snapshotWith(100, 10, 1e6)
	late := snapshotWith(350, 35, 1e6, 9e6)
	late.Errors["dial:refused"] = 1
	d := late.Sub(early)
	if d.Deliveries != 250 || d.Frames != 25 || d.Latency.Count() != 1 || d.Ops[opSend].Count() != 1 {
		t.Errorf("window %+v", d)
	}
	if d.Connected != late.Connected || d.Errors["dial:refused"] != 1 {
		t.Errorf("connections and errors are the run's: %+v", d)
	}
}

func TestCompare(t *testing.T) {
	b := &Report{FramesPerSec: 100000, DeliveriesPerSec: 100000, Latency: Percentiles{P99: 2},
		Server: &ServerStats{CPUPerFrameUs: 5, RSSPerConnKiB: 25, CPUPercent: 100}}
	c := &Report{FramesPerSec: 95000, DeliveriesPerSec: 95000, Latency: Percentiles{P99: 4},
		Server: &ServerStats{CPUPerFrameUs: 6, RSSPerConnKiB: 30, CPUPercent: 100}}
	r := compare(b, c).Ratios
	if r["frames_per_sec"] != 0.95 || r["latency_p99"] != 2 || r["rss_per_conn"] != 1.2 || r["server_cpu_per_frame"] != 1.2 {
		t.Errorf("ratios %v", r)
	}
}

func TestConfigChecks(t *testing.T) {
	if _, err := parseFlags([]string{"-scenario", "nope"}, discard{}); err == nil {
		t.Error("unknown scenario accepted")
	}
	if _, err := parseFlags([]string{"-scenario", "live"}, discard{}); err == nil {
		t.Error("no -secret accepted")
	}
	if _, err := parseFlags([]string{"-scenario", "ops", "-baseline"}, discard{}); err == nil {
		t.Error("ops against the baseline accepted")
	}
	c, err := parseFlags([]string{"-scenario", "live", "-secret", "0123456789abcdef", "-url", "ws://a/ws, ws://b/ws"}, discard{})
	if err != nil || len(c.URLs) != 2 || c.URLs[1] != "ws://b/ws" {
		t.Errorf("urls %v, %v", c, err)
	}
	if m, err := parseMix("send=3,joinquit=1"); err != nil || m.send != 3 || m.joinquit != 1 {
		t.Errorf("mix %+v %v", m, err)
	}
	for _, bad := range []string{"send", "send=x", "fly=1", "send=0"} {
		if _, err := parseMix(bad); err == nil {
			t.Errorf("mix %q accepted", bad)
		}
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func TestFormat(t *testing.T) {
	for _, c := range []struct {
		n    uint64
		want string
	}{{0, "0"}, {999, "999"}, {1000, "1,000"}, {400000, "400,000"}, {1234567, "1,234,567"}} {
		if got := fmtInt(c.n); got != c.want {
			t.Errorf("fmtInt(%d) = %q", c.n, got)
		}
	}
	if errorList(map[string]uint64{"a": 1, "b": 3}) != "b×3 a×1" || errorList(nil) != "none" {
		t.Errorf("errorList")
	}
}
