package hub

import (
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// TestPingFailure: no pong in time, or a failed ping, closes with 4012.
func TestPingFailure(t *testing.T) {
	tests := []struct {
		name  string
		setup func(c *fakeConn)
	}{
		{"no pong", func(c *fakeConn) { c.pingWait = true }},
		{"ping error", func(c *fakeConn) { c.pingErr = errors.New("connection reset") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			h := newTestHub(t, Options{PingPeriod: 5 * time.Millisecond, PongTimeout: 20 * time.Millisecond, Metrics: NewMetrics(reg)})
			c := &fakeConn{}
			tt.setup(c)
			s := h.Register(c)
			waitDoneT(t, s)
			if code, _ := c.closeCode(); code != codePongTimeout || s.CloseCode() != codePongTimeout {
				t.Errorf("closed with %d, CloseCode %d", code, s.CloseCode())
			}
			if n := metricValue(t, reg, "chat_hub_ping_timeouts_total"); n != 1 {
				t.Errorf("ping timeouts %v", n)
			}
		})
	}
}

// TestPingPong: answered pings keep the session open, ping after ping.
func TestPingPong(t *testing.T) {
	h := newTestHub(t, Options{PingPeriod: time.Millisecond})
	s, c := session(h, "")
	waitFor(t, "three pings", func() bool { return c.pingCount() >= 3 })
	select {
	case <-s.Done():
		t.Fatalf("session closed with %d", s.CloseCode())
	default:
	}
}

// TestPingDuringClose: a ping cut short by our own close is not a timeout.
func TestPingDuringClose(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := newTestHub(t, Options{PingPeriod: time.Millisecond, PongTimeout: time.Hour, Metrics: NewMetrics(reg)})
	c := &fakeConn{pingWait: true}
	s := h.Register(c)
	waitFor(t, "a ping in flight", func() bool { return c.pingCount() >= 1 })
	s.Close(4001, "draining")
	waitDoneT(t, s)
	if s.CloseCode() != 4001 {
		t.Errorf("CloseCode %d", s.CloseCode())
	}
	if n := metricValue(t, reg, "chat_hub_ping_timeouts_total"); n != 0 {
		t.Errorf("ping timeouts %v", n)
	}
}
