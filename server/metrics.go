package server

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"chatd/groups"
)

// metrics are the server's collectors (DESIGN.md names: chat_server_*).
// Labels are bounded: op is a known op name or "unknown", code a §7 code.
type metrics struct {
	connections prometheus.Gauge
	loggedIn    prometheus.Gauge
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	closes      *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		connections: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "chat_server_connections", Help: "Open WebSocket connections."}),
		loggedIn: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "chat_server_sessions_logged_in", Help: "Sessions with a logged-in user."}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chat_server_requests_total", Help: "Requests by op and reply code."}, []string{"op", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "chat_server_request_duration_seconds", Help: "Time to execute a request, by op.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1}}, []string{"op"}),
		closes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chat_server_closes_total", Help: "Sessions closed by the server, by close code."}, []string{"code"}),
	}
	if reg != nil {
		reg.MustRegister(m.connections, m.loggedIn, m.requests, m.duration, m.closes)
	}
	return m
}

// opLabel bounds the op label to the known ops.
func opLabel(op string) string {
	switch op {
	case "login", "logout", "refreshToken", "ping":
		return op
	}
	if groups.Known(op) {
		return op
	}
	return "unknown"
}

func (m *metrics) request(op string, code int, seconds float64) {
	op = opLabel(op)
	m.requests.WithLabelValues(op, strconv.Itoa(code)).Inc()
	m.duration.WithLabelValues(op).Observe(seconds)
}
