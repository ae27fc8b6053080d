package server

import "time"

// abuseLimit is how many rejected requests within abuseWindow close a
// session with 4029: a client that keeps sending past 10006 replies is
// not backing off.
const (
	abuseLimit  = 100
	abuseWindow = 10 * time.Second
)

// bucket is a token bucket: rate tokens per second up to burst. It is used
// only by its session's read loop, so it needs no lock.
type bucket struct {
	rate   float64
	burst  float64
	tokens float64
	last   time.Time

	rejected    int
	windowStart time.Time
}

func newBucket(rate float64, burst int, now time.Time) *bucket {
	return &bucket{rate: rate, burst: float64(burst), tokens: float64(burst), last: now, windowStart: now}
}

// allow takes a token if one is left. abusive reports that the session has
// been refused too often within the window and should be closed.
func (b *bucket) allow(now time.Time) (ok, abusive bool) {
	if b == nil {
		return true, false
	}
	b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, false
	}
	if now.Sub(b.windowStart) > abuseWindow {
		b.windowStart, b.rejected = now, 0
	}
	b.rejected++
	return false, b.rejected >= abuseLimit
}
