package hub

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the hub's Prometheus collectors (chat_hub_*). They carry no
// labels: never a user or group ID. A nil *Metrics records nothing.
type Metrics struct {
	sessions     prometheus.Gauge
	frames       prometheus.Counter
	bytes        prometheus.Counter
	messages     prometheus.Counter
	overflows    prometheus.Counter
	writeErrors  prometheus.Counter
	pingTimeouts prometheus.Counter
	publish      prometheus.Histogram
	posts        prometheus.Gauge
}

// NewMetrics makes the hub's collectors and registers them with reg (when
// not nil); it panics if they are registered already.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		sessions:     gauge("chat_hub_sessions", "Sessions registered with the hub."),
		frames:       counter("chat_hub_frames_written_total", "Frames written to sessions."),
		bytes:        counter("chat_hub_bytes_written_total", "Bytes of frames written to sessions."),
		messages:     counter("chat_hub_messages_delivered_total", "Message elements delivered in onMessageReceived frames."),
		overflows:    counter("chat_hub_queue_overflows_total", "Sessions closed with 4008 because their queue overflowed."),
		writeErrors:  counter("chat_hub_write_errors_total", "Writes that failed or timed out, ending their session."),
		pingTimeouts: counter("chat_hub_ping_timeouts_total", "Sessions closed with 4012 because a ping got no pong in time."),
		publish: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "chat_hub_broker_publish_seconds",
			Help:    "Time from a request's fan-out to other nodes being handed to the broker until Redis took it (one Send or Post).",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1}}),
		posts: gauge("chat_hub_broker_posts_pending", "Fan-outs posted to the broker that Redis has not taken yet (a request waits once there are 1,024)."),
	}
	if reg != nil {
		reg.MustRegister(m.sessions, m.frames, m.bytes, m.messages, m.overflows, m.writeErrors, m.pingTimeouts, m.publish, m.posts)
	}
	return m
}

func gauge(name, help string) prometheus.Gauge {
	return prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
}

func counter(name, help string) prometheus.Counter {
	return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
}

func (m *Metrics) sessionOpened() {
	if m != nil {
		m.sessions.Inc()
	}
}

func (m *Metrics) sessionClosed() {
	if m != nil {
		m.sessions.Dec()
	}
}

func (m *Metrics) wrote(n int) {
	if m != nil {
		m.frames.Inc()
		m.bytes.Add(float64(n))
	}
}

func (m *Metrics) delivered(n int) {
	if m != nil {
		m.messages.Add(float64(n))
	}
}

func (m *Metrics) overflowed() {
	if m != nil {
		m.overflows.Inc()
	}
}

func (m *Metrics) writeFailed() {
	if m != nil {
		m.writeErrors.Inc()
	}
}

func (m *Metrics) pingTimedOut() {
	if m != nil {
		m.pingTimeouts.Inc()
	}
}

// posted counts a post handed to the broker (+1) or answered (-1).
func (m *Metrics) posted(delta float64) {
	if m != nil {
		m.posts.Add(delta)
	}
}

func (m *Metrics) published(seconds float64) {
	if m != nil {
		m.publish.Observe(seconds)
	}
}
