// Package server is chatd's transport: the HTTP listener, the /ws
// WebSocket (coder/websocket) with its origin check, the frame codec,
// login, dispatch of ops to package groups, the mapping of domain errors
// to reply and close codes, and /healthz, /readyz, /metrics. It holds no
// business rules.
package server

import (
	"context"
	"encoding/json"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"chatd/groups"
	"chatd/hub"
	"chatd/server/auth"
)

// Options configure a Server. Zero durations and sizes take PROTOCOL.md's
// defaults.
type Options struct {
	Secret             []byte // HS256 secret of login tokens
	DevMode            bool   // serve /dev/token
	AllowedOrigins     []string
	MaxSessionsPerUser int
	NodeID             string
	LoginTimeout       time.Duration // 10 s → 4502
	TokenGrace         time.Duration // 25 s after exp → 4501
	MaxFrameBytes      int64         // 64 KiB → 1009
	BadFrameLimit      int           // 20 within BadFrameWindow → 4509
	BadFrameWindow     time.Duration // 10 s
	RateLimit          float64       // requests/s per connection (0 = off)
	RateBurst          int
	Logger             *slog.Logger
	Registry           *prometheus.Registry // nil: no /metrics collectors registered
	Web                fs.FS                // the demo and SDK; nil = none
	Now                func() time.Time
}

func (o *Options) defaults() {
	if o.LoginTimeout <= 0 {
		o.LoginTimeout = 10 * time.Second
	}
	if o.TokenGrace <= 0 {
		o.TokenGrace = 25 * time.Second
	}
	if o.MaxFrameBytes <= 0 {
		o.MaxFrameBytes = 64 << 10
	}
	if o.BadFrameLimit <= 0 {
		o.BadFrameLimit = 20
	}
	if o.BadFrameWindow <= 0 {
		o.BadFrameWindow = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Server serves chatd's HTTP endpoints and WebSocket sessions.
type Server struct {
	opts    Options
	svc     *groups.Service
	hub     *hub.Hub
	metrics *metrics
	mux     *http.ServeMux
	log     *slog.Logger

	draining atomic.Bool
	wg       sync.WaitGroup // one per open WebSocket handler

	mu       sync.Mutex // mu guards sessions
	sessions map[uint64]*session
}

// New returns a Server dispatching ops to svc and fanning pushes out
// through h.
func New(o Options, svc *groups.Service, h *hub.Hub) *Server {
	o.defaults()
	s := &Server{opts: o, svc: svc, hub: h, log: o.Logger, sessions: map[uint64]*session{}}
	s.metrics = newMetrics(o.Registry)
	s.routes()
	return s
}

func (s *Server) routes() {
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("GET /ws", s.serveWS)
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { writeText(w, http.StatusOK, "ok") })
	s.mux.HandleFunc("GET /readyz", s.serveReady)
	if s.opts.Registry != nil {
		s.mux.Handle("GET /metrics", promhttp.HandlerFor(s.opts.Registry, promhttp.HandlerOpts{Registry: s.opts.Registry}))
	}
	if s.opts.DevMode {
		s.mux.HandleFunc("GET /dev/token", s.serveDevToken)
	}
	if s.opts.Web != nil {
		files := http.FileServerFS(s.opts.Web)
		s.mux.Handle("GET /", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, ".ts") { // not in every mime.types, or wrongly
				w.Header().Set("Content-Type", "application/typescript; charset=utf-8")
			}
			files.ServeHTTP(w, r)
		}))
	}
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

func writeText(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(msg + "\n"))
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) serveReady(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		writeText(w, http.StatusServiceUnavailable, "draining")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.svc.Store().Ping(ctx); err != nil {
		writeText(w, http.StatusServiceUnavailable, "store unreachable: "+err.Error())
		return
	}
	writeText(w, http.StatusOK, "ready")
}

// serveDevToken signs a 24 h token for any valid userID (dev mode only).
func (s *Server) serveDevToken(w http.ResponseWriter, r *http.Request) {
	user := r.URL.Query().Get("userID")
	if !groups.ValidUserID(user) {
		writeJSON(w, http.StatusBadRequest, map[string]any{"code": groups.CodeInvalidParam,
			"message": "userID: 1..32 bytes of printable ASCII"})
		return
	}
	tok, err := auth.Sign(s.opts.Secret, user, 24*time.Hour, s.opts.Now())
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]any{"code": groups.CodeInternal, "message": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"userID": user, "userSig": tok})
}

func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		writeText(w, http.StatusServiceUnavailable, "draining")
		return
	}
	cw := &corkingWriter{ResponseWriter: w}
	c, err := websocket.Accept(cw, r, &websocket.AcceptOptions{OriginPatterns: s.opts.AllowedOrigins})
	if err != nil {
		s.log.Debug("websocket upgrade refused", "err", err, "origin", r.Header.Get("Origin"))
		return // Accept has written the HTTP error (403 for a foreign origin)
	}
	s.wg.Add(1)
	defer s.wg.Done()
	c.SetReadLimit(s.opts.MaxFrameBytes)
	sess := s.newSession(c, cw.conn)
	sess.run(context.WithoutCancel(r.Context()))
}

// Drain stops accepting sessions, makes /readyz fail and closes every
// session with 4001, spread over spread; sessions still open when ctx ends
// are closed with 1001. It returns when every session handler has ended or
// ctx is done.
func (s *Server) Drain(ctx context.Context, spread time.Duration) {
	s.draining.Store(true)
	s.hub.Drain(ctx, spread, closeDraining)
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// Draining reports whether Drain has begun.
func (s *Server) Draining() bool { return s.draining.Load() }
