package main

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
)

func TestBucketsCoverEveryValue(t *testing.T) {
	vals := []uint64{0, 1, 127, 128, 255, 256, 257, 1000, 1 << 20, 123456789, histMaxVal}
	r := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		vals = append(vals, r.Uint64N(histMaxVal))
	}
	for _, v := range vals {
		i := bucketOf(v)
		if i < 0 || i >= histBuckets {
			t.Fatalf("bucketOf(%d) = %d, out of range", v, i)
		}
		lo, hi := bucketRange(i)
		if v < lo || v > hi {
			t.Fatalf("bucketOf(%d) = %d covers [%d, %d]", v, i, lo, hi)
		}
		if w := float64(hi-lo+1) / float64(max(lo, 1)); lo >= 256 && w > 1.0/128+1e-12 {
			t.Fatalf("bucket %d [%d, %d] is %.4f of its values wide", i, lo, hi, w)
		}
	}
	if bucketOf(math.MaxUint64) != histBuckets-1 {
		t.Errorf("huge values must land in the last bucket")
	}
}

func TestQuantiles(t *testing.T) {
	h := NewHist()
	// 1..100000 µs, once each, shuffled.
	r := rand.New(rand.NewPCG(3, 4))
	for _, i := range r.Perm(100000) {
		h.Record(int64(i+1) * 1000)
	}
	for _, c := range []struct {
		q    float64
		want float64
	}{{0.5, 50000e3}, {0.9, 90000e3}, {0.99, 99000e3}, {0.999, 99900e3}, {1, 100000e3}} {
		got := float64(h.Quantile(c.q))
		if got < c.want || got > c.want*(1+1.0/128) {
			t.Errorf("Quantile(%v) = %.0f, want %.0f (+0.8%%)", c.q, got, c.want)
		}
	}
	if h.Count() != 100000 || h.Max() != 100000e3 {
		t.Errorf("count %d max %d", h.Count(), h.Max())
	}
	if m := h.Mean(); math.Abs(m-50000.5e3) > 1 {
		t.Errorf("mean %.1f", m)
	}
	small := NewHist()
	for _, v := range []int64{5, 5, 5, 200} {
		small.Record(v)
	}
	if small.Quantile(0.5) != 5 || small.Quantile(0.75) != 5 || small.Quantile(0.99) != 200 {
		t.Errorf("exact small values: p50 %d p75 %d p99 %d", small.Quantile(0.5), small.Quantile(0.75), small.Quantile(0.99))
	}
	if NewHist().Quantile(0.99) != 0 {
		t.Errorf("empty histogram: want 0")
	}
	neg := NewHist()
	neg.Record(-5)
	if neg.Quantile(1) != 0 {
		t.Errorf("negative values count as 0")
	}
}

func TestHistSubAddJSON(t *testing.T) {
	h := NewHist()
	for i := 1; i <= 100; i++ {
		h.Record(int64(i) * 1e6) // 1..100 ms
	}
	before := h.Snapshot()
	for i := 1; i <= 100; i++ {
		h.Record(int64(i) * 1e9) // 1..100 s
	}
	d := h.Snapshot().Sub(before)
	if d.Count() != 100 {
		t.Fatalf("window count %d, want 100", d.Count())
	}
	if p := d.Quantile(0.01); p < 1e9 {
		t.Errorf("window p1 %d: the earlier values leaked in", p)
	}
	if d.Max() != 100e9 {
		t.Errorf("window max %d", d.Max())
	}

	sum := NewHist()
	sum.Add(before)
	sum.Add(d)
	if sum.Count() != 200 || sum.Quantile(0.5) > 101e6 || sum.Quantile(0.5) < 100e6 {
		t.Errorf("merged: count %d p50 %d", sum.Count(), sum.Quantile(0.5))
	}

	b, err := json.Marshal(sum)
	if err != nil {
		t.Fatal(err)
	}
	var back Hist
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	for _, q := range []float64{0.1, 0.5, 0.99, 1} {
		if back.Quantile(q) != sum.Quantile(q) {
			t.Errorf("after JSON, Quantile(%v) = %d, want %d", q, back.Quantile(q), sum.Quantile(q))
		}
	}
	if back.Count() != sum.Count() || back.Mean() != sum.Mean() {
		t.Errorf("after JSON: count %d mean %f", back.Count(), back.Mean())
	}
	if err := json.Unmarshal([]byte(`{"n":1,"buckets":[[999999,1]]}`), &back); err == nil {
		t.Errorf("a bucket out of range must be refused")
	}
}

func BenchmarkHistRecord(b *testing.B) {
	h := NewHist()
	b.RunParallel(func(pb *testing.PB) {
		v := int64(12345)
		for pb.Next() {
			h.Record(v)
			v = v*7 + 13&0xffffff
		}
	})
}
