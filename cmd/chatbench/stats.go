package main

import (
	"maps"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// Op names of the per-operation latency histograms.
const (
	opConnect = "connect" // dial (+ login unless against the baseline)
	opSend    = "sendMessage"
	opJoin    = "joinGroup"
	opQuit    = "quitGroup"
	opLogin   = "login"
)

var opNames = []string{opConnect, opLogin, opSend, opJoin, opQuit}

// shard is one slice of the counters: connections are spread over the
// shards so the hot counters are not one contended cache line.
type shard struct {
	frames     atomic.Uint64 // push frames received by measuring connections
	msgFrames  atomic.Uint64 // of which frames carrying at least one bench message
	deliveries atomic.Uint64 // bench messages received (elements carrying a timestamp)
	other      atomic.Uint64 // pushes without a bench message (tips, notices)
	bytes      atomic.Uint64 // bytes of those push frames
	_          [24]byte
	lat        *Hist // end-to-end latency, sampled
}

// Stats are one process's live counters. Everything only grows; a
// measurement window is the difference of two snapshots.
type Stats struct {
	shards    []*shard
	conns     atomic.Int64  // open now
	connected atomic.Uint64 // connections established (and logged in)
	sent      atomic.Uint64 // messages sent
	sentOK    atomic.Uint64 // sends answered with code 0
	ops       map[string]*Hist

	mu   sync.Mutex
	errs map[string]uint64
}

const nShards = 16

// NewStats returns zeroed stats.
func NewStats() *Stats {
	s := &Stats{ops: map[string]*Hist{}, errs: map[string]uint64{}}
	for range nShards {
		s.shards = append(s.shards, &shard{lat: NewHist()})
	}
	for _, op := range opNames {
		s.ops[op] = NewHist()
	}
	return s
}

func (s *Stats) shard(i int) *shard { return s.shards[i%nShards] }

// Error counts one error of kind key ("reply:10023", "close:4008",
// "dial:refused", ...).
func (s *Stats) Error(key string) {
	s.mu.Lock()
	s.errs[key]++
	s.mu.Unlock()
}

// Snapshot is a copy of the counters at one moment (JSON: what a child
// process reports to its parent).
type Snapshot struct {
	Conns      int64             `json:"conns"`
	Connected  uint64            `json:"connected"`
	Frames     uint64            `json:"frames"`
	MsgFrames  uint64            `json:"msg_frames"`
	Deliveries uint64            `json:"deliveries"`
	Other      uint64            `json:"other_pushes"`
	Bytes      uint64            `json:"bytes"`
	Sent       uint64            `json:"sent"`
	SentOK     uint64            `json:"sent_ok"`
	Latency    *Hist             `json:"latency"`
	Ops        map[string]*Hist  `json:"ops"`
	Errors     map[string]uint64 `json:"errors"`
	CPU        float64           `json:"cpu_seconds"` // this process's CPU time
	Done       bool              `json:"done"`        // the scenario's load has finished (connect: the storm)
}

// Snapshot copies the counters.
func (s *Stats) Snapshot() Snapshot {
	n := Snapshot{Conns: s.conns.Load(), Connected: s.connected.Load(), Sent: s.sent.Load(),
		SentOK: s.sentOK.Load(), Latency: NewHist(), Ops: map[string]*Hist{}}
	for _, sh := range s.shards {
		n.Frames += sh.frames.Load()
		n.MsgFrames += sh.msgFrames.Load()
		n.Deliveries += sh.deliveries.Load()
		n.Other += sh.other.Load()
		n.Bytes += sh.bytes.Load()
		n.Latency.Add(sh.lat.Snapshot())
	}
	for op, h := range s.ops {
		n.Ops[op] = h.Snapshot()
	}
	s.mu.Lock()
	n.Errors = maps.Clone(s.errs)
	s.mu.Unlock()
	n.CPU, _ = procCPU(0)
	return n
}

// Sub returns what happened between earlier and s. Conns, Connected,
// Errors and Done are s's own (a window reports the connections set up
// and the errors over the whole run).
func (s Snapshot) Sub(earlier Snapshot) Snapshot {
	d := s
	d.Frames -= earlier.Frames
	d.MsgFrames -= earlier.MsgFrames
	d.Deliveries -= earlier.Deliveries
	d.Other -= earlier.Other
	d.Bytes -= earlier.Bytes
	d.Sent -= earlier.Sent
	d.SentOK -= earlier.SentOK
	d.CPU -= earlier.CPU
	d.Latency = s.Latency.Sub(earlier.Latency)
	d.Ops = map[string]*Hist{}
	for op, h := range s.Ops {
		d.Ops[op] = h.Sub(earlier.Ops[op])
	}
	return d
}

// Merge returns the sum of a and b (snapshots of different processes over
// the same time). Done is true when both are.
func Merge(a, b Snapshot) Snapshot {
	m := Snapshot{Conns: a.Conns + b.Conns, Connected: a.Connected + b.Connected,
		Frames: a.Frames + b.Frames, MsgFrames: a.MsgFrames + b.MsgFrames,
		Deliveries: a.Deliveries + b.Deliveries, Other: a.Other + b.Other, Bytes: a.Bytes + b.Bytes,
		Sent: a.Sent + b.Sent, SentOK: a.SentOK + b.SentOK, CPU: a.CPU + b.CPU,
		Latency: NewHist(), Ops: map[string]*Hist{}, Errors: map[string]uint64{}, Done: a.Done && b.Done}
	m.Latency.Add(a.Latency)
	m.Latency.Add(b.Latency)
	for _, ops := range []map[string]*Hist{a.Ops, b.Ops} {
		for op, h := range ops {
			if m.Ops[op] == nil {
				m.Ops[op] = NewHist()
			}
			m.Ops[op].Add(h)
		}
	}
	for _, errs := range []map[string]uint64{a.Errors, b.Errors} {
		for k, v := range errs {
			m.Errors[k] += v
		}
	}
	return m
}

// ErrorCount is the number of errors of every kind.
func (s Snapshot) ErrorCount() uint64 {
	var n uint64
	for _, v := range s.Errors {
		n += v
	}
	return n
}

// errorList formats errors as "close:4008×3 reply:10023×1", most frequent
// first.
func errorList(errs map[string]uint64) string {
	if len(errs) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(errs))
	for k := range errs {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if errs[keys[i]] != errs[keys[j]] {
			return errs[keys[i]] > errs[keys[j]]
		}
		return keys[i] < keys[j]
	})
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k)
		b.WriteString("×")
		b.WriteString(fmtInt(errs[k]))
	}
	return b.String()
}
