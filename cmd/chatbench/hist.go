package main

import (
	"encoding/json"
	"fmt"
	"math"
	"math/bits"
	"sync/atomic"
)

// Hist is a log-linear histogram of non-negative int64 values (nanoseconds
// here), in the manner of HdrHistogram: values below 256 are counted
// exactly, and every power of two above that is split into 128 equal
// buckets, so a bucket is at most 1/128 (0.8%) of its values wide. Values
// from 2^40 ns (about 18 minutes) up are counted in the last bucket.
//
// Record is safe for concurrent use (atomic adds); the other methods
// expect a histogram nobody records into (a Snapshot copy).
type Hist struct {
	counts []uint64
	n      uint64
	sum    uint64 // saturates instead of wrapping; only for the mean
	max    uint64
	min    uint64 // math.MaxUint64 while empty
}

const (
	histSubBits = 7
	histSub     = 1 << histSubBits // buckets per power of two
	histMaxBits = 40               // values are clamped to 2^40-1
	histBuckets = (histMaxBits-histSubBits)*histSub + histSub
	histMaxVal  = 1<<histMaxBits - 1
)

// NewHist returns an empty histogram.
func NewHist() *Hist { return &Hist{counts: make([]uint64, histBuckets), min: math.MaxUint64} }

// bucketOf returns the index of v's bucket.
func bucketOf(v uint64) int {
	if v > histMaxVal {
		v = histMaxVal
	}
	e := bits.Len64(v) - histSubBits - 1
	if e < 0 {
		e = 0
	}
	return e*histSub + int(v>>uint(e))
}

// bucketRange returns the smallest and largest value counted in bucket i.
func bucketRange(i int) (lo, hi uint64) {
	e := 0
	if i >= 2*histSub {
		e = i/histSub - 1
	}
	m := uint64(i - e*histSub)
	lo = m << uint(e)
	return lo, lo + 1<<uint(e) - 1
}

// Record counts one value; negative values count as 0. Safe for
// concurrent use.
func (h *Hist) Record(v int64) {
	if v < 0 {
		v = 0
	}
	u := uint64(v)
	atomic.AddUint64(&h.counts[bucketOf(u)], 1)
	atomic.AddUint64(&h.n, 1)
	atomic.AddUint64(&h.sum, u)
	for {
		m := atomic.LoadUint64(&h.max)
		if u <= m || atomic.CompareAndSwapUint64(&h.max, m, u) {
			break
		}
	}
	for {
		m := atomic.LoadUint64(&h.min)
		if u >= m || atomic.CompareAndSwapUint64(&h.min, m, u) {
			break
		}
	}
}

// Snapshot returns a copy of h (atomic loads, so it may run while others
// record).
func (h *Hist) Snapshot() *Hist {
	c := &Hist{counts: make([]uint64, histBuckets)}
	for i := range h.counts {
		c.counts[i] = atomic.LoadUint64(&h.counts[i])
	}
	c.n = atomic.LoadUint64(&h.n)
	c.sum = atomic.LoadUint64(&h.sum)
	c.max = atomic.LoadUint64(&h.max)
	c.min = atomic.LoadUint64(&h.min)
	return c
}

// Add adds o's counts into h.
func (h *Hist) Add(o *Hist) {
	if o == nil {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.sum += o.sum
	h.max = max(h.max, o.max)
	h.min = min(h.min, o.min)
}

// Sub returns h minus an earlier snapshot of the same histogram: what was
// recorded in between. max and min cannot be subtracted; they are
// narrowed to the buckets that still hold values.
func (h *Hist) Sub(earlier *Hist) *Hist {
	d := NewHist()
	for i, c := range h.counts {
		if earlier != nil {
			c -= earlier.counts[i]
		}
		d.counts[i] = c
	}
	d.n, d.sum = h.n, h.sum
	if earlier != nil {
		d.n -= earlier.n
		d.sum -= earlier.sum
	}
	d.max, d.min = 0, math.MaxUint64
	if d.n > 0 {
		lo, hi := d.nonEmpty()
		_, top := bucketRange(hi)
		bottom, _ := bucketRange(lo)
		d.max = min(h.max, top)
		d.min = max(h.min, bottom)
	}
	return d
}

// nonEmpty returns the first and last non-empty bucket (n > 0 required).
func (h *Hist) nonEmpty() (lo, hi int) {
	lo, hi = -1, -1
	for i, c := range h.counts {
		if c != 0 {
			if lo < 0 {
				lo = i
			}
			hi = i
		}
	}
	return lo, hi
}

// Count is the number of values recorded.
func (h *Hist) Count() uint64 { return h.n }

// Max is the largest value recorded (0 when empty).
func (h *Hist) Max() int64 { return int64(h.max) }

// Mean is the mean of the values recorded (0 when empty).
func (h *Hist) Mean() float64 {
	if h.n == 0 {
		return 0
	}
	return float64(h.sum) / float64(h.n)
}

// Quantile returns the value at quantile q (0 < q ≤ 1): the upper edge of
// the bucket holding the ⌈q·n⌉-th smallest value, capped at the maximum
// seen, so it never under-reports by more than one bucket width. 0 when
// empty.
func (h *Hist) Quantile(q float64) int64 {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = max(1, min(rank, h.n))
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			_, hi := bucketRange(i)
			return int64(min(hi, h.max))
		}
	}
	return int64(h.max)
}

// histJSON is the wire form of a Hist: the non-empty buckets as
// [index, count] pairs, so a report can be merged exactly.
type histJSON struct {
	N       uint64      `json:"n"`
	Sum     uint64      `json:"sum"`
	Min     uint64      `json:"min"`
	Max     uint64      `json:"max"`
	Buckets [][2]uint64 `json:"buckets"`
}

// MarshalJSON implements json.Marshaler.
func (h *Hist) MarshalJSON() ([]byte, error) {
	j := histJSON{N: h.n, Sum: h.sum, Max: h.max, Buckets: [][2]uint64{}}
	if h.n > 0 {
		j.Min = h.min
	}
	for i, c := range h.counts {
		if c != 0 {
			j.Buckets = append(j.Buckets, [2]uint64{uint64(i), c})
		}
	}
	return json.Marshal(j)
}

// UnmarshalJSON implements json.Unmarshaler.
func (h *Hist) UnmarshalJSON(b []byte) error {
	var j histJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*h = *NewHist()
	for _, bc := range j.Buckets {
		if bc[0] >= histBuckets {
			return fmt.Errorf("histogram bucket %d out of range", bc[0])
		}
		h.counts[bc[0]] += bc[1]
	}
	h.n, h.sum, h.max = j.N, j.Sum, j.Max
	if j.N > 0 {
		h.min = j.Min
	}
	return nil
}
