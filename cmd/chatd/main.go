// Command chatd is the chat-group server: `chatd` serves, `chatd token`
// prints a login token. Configuration comes from CHAT_ environment
// variables (see the README); main only wires the packages together.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"

	"chatd/groups"
	"chatd/hub"
	"chatd/presence"
	"chatd/server"
	"chatd/web"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is chatd with its arguments, environment and output, so tests can
// run it in process. It returns the exit code.
func run(ctx context.Context, args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "token" {
		cfg, err := LoadConfig(ignoreAddr(lookup))
		if err != nil {
			fmt.Fprintf(stderr, "chatd: invalid configuration:\n%v\n", err)
			return 2
		}
		return runToken(args[1:], cfg, stdout, stderr)
	}
	if len(args) > 0 {
		fmt.Fprintf(stderr, "usage: chatd [token -user U [-ttl 24h]]\n")
		return 2
	}
	cfg, err := LoadConfig(lookup)
	if err != nil {
		fmt.Fprintf(stderr, "chatd: invalid configuration:\n%v\n", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel()})).With("node_id", cfg.NodeID)
	if err := serve(ctx, cfg, log, stdout); err != nil {
		log.Error("chatd stopped", "err", err)
		return 1
	}
	return 0
}

// ignoreAddr hides CHAT_ADDR: `chatd token` listens on nothing, so the
// dev-mode loopback rule must not stop it.
func ignoreAddr(lookup func(string) (string, bool)) func(string) (string, bool) {
	return func(k string) (string, bool) {
		if k == "CHAT_ADDR" {
			return "", false
		}
		return lookup(k)
	}
}

// app is everything serve builds and must shut down.
type app struct {
	srv      *server.Server
	hub      *hub.Hub
	svc      *groups.Service
	rdb      redis.UniversalClient
	presence interface{ Close() }
	runners  []func(context.Context) error
}

// build wires the store, presence, hub, service and server of cfg.
func build(cfg *Config, log *slog.Logger) (*app, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a := &app{}
	store, pres, err := a.backend(cfg, log)
	if err != nil {
		return nil, err
	}
	var broker hub.Broker
	if a.rdb != nil {
		rb := hub.NewRedisBroker(a.rdb, hub.RedisBrokerOptions{Prefix: cfg.RedisPrefix, NodeID: cfg.NodeID, Logger: log,
			OnResync: func() { a.hub.Broadcast(server.ResyncFrame()) }, OnSubscribed: func(chs []string) { a.srv.ResyncJoined(chs) }})
		a.runners = append(a.runners, rb.Run)
		broker = rb
	}
	a.hub = hub.New(hub.Options{QueueSize: cfg.QueueSize, PingPeriod: cfg.PingPeriod, PongTimeout: cfg.PongTimeout,
		WriteTimeout: cfg.WriteTimeout, Metrics: hub.NewMetrics(reg), Logger: log, Broker: broker, NodeID: cfg.NodeID,
		WindowFrames: cfg.LiveWindowFrames, MaxWindow: cfg.LiveWindowMax, ListenLinger: listenLinger(cfg.ListenLinger)})
	a.svc = groups.NewService(store, groups.Options{AppAdmins: cfg.AppAdmins, GroupLimit: cfg.GroupLimit,
		History: groups.Retention{MaxMessages: cfg.HistoryMaxMessages, MaxAge: cfg.HistoryMaxAge},
		Logger:  log, Presence: pres, NodeID: cfg.NodeID})
	a.srv = server.New(server.Options{Secret: cfg.Secret(), DevMode: cfg.DevMode(), AllowedOrigins: cfg.AllowedOrigins,
		MaxSessionsPerUser: cfg.MaxSessionsPerUser, NodeID: cfg.NodeID, LoginTimeout: cfg.LoginTimeout,
		TokenGrace: cfg.TokenGrace, MaxFrameBytes: cfg.MaxFrameBytes, BadFrameLimit: cfg.BadFrameLimit,
		RateLimit: cfg.RateLimit, RateBurst: cfg.RateBurst, Logger: log, Registry: reg, Web: web.FS()}, a.svc, a.hub)
	a.svc.OnEvents(a.srv.ApplyEvents)
	return a, nil
}

// readAll is CHAT_HISTORY_READ_ALL as the Service wants it.
func readAll(types []string) map[groups.Type]bool {
	m := map[groups.Type]bool{}
	for _, t := range types {
		m[groups.Type(t)] = true
	}
	return m
}

// backend picks the store and presence: Redis when configured, else the
// embedded in-memory default.
func (a *app) backend(cfg *Config, log *slog.Logger) (groups.Store, groups.Presence, error) {
	popts := presence.Options{Grace: cfg.LiveGrace, Rate: int(cfg.LiveMsgRate)}
	switch {
	case cfg.RedisURL != "":
		opt, err := redis.ParseURL(cfg.RedisURL)
		if err != nil {
			return nil, nil, fmt.Errorf("CHAT_REDIS_URL: %w", err)
		}
		a.rdb = redis.NewClient(opt)
	case len(cfg.RedisClusterAddrs) > 0:
		a.rdb = redis.NewClusterClient(&redis.ClusterOptions{Addrs: cfg.RedisClusterAddrs})
	default:
		log.Info("no CHAT_REDIS_URL: using the embedded in-memory store; everything is lost on restart")
		m := presence.NewMemory(popts)
		a.presence = m
		return groups.NewMemoryStore(), m, nil
	}
	p := presence.NewRedis(a.rdb, cfg.RedisPrefix, cfg.NodeID, presence.RedisOptions{Options: popts, Logger: log})
	a.runners = append(a.runners, p.Run)
	st := groups.NewRedisStore(a.rdb, cfg.RedisPrefix)
	st.SetPipelines(cfg.RedisPipelines)
	return st, p, nil
}

// serve runs chatd until ctx ends, then drains and shuts down.
func serve(ctx context.Context, cfg *Config, log *slog.Logger, stdout io.Writer) error {
	a, err := build(cfg, log)
	if err != nil {
		return err
	}
	if a.rdb != nil {
		pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if err := a.rdb.Ping(pingCtx).Err(); err != nil {
			log.Warn("Redis does not answer yet; /readyz fails until it does", "err", err)
		}
		cancel()
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("failed to listen on CHAT_ADDR %s: %w", cfg.Addr, err)
	}
	hs := &http.Server{Handler: a.srv, ReadHeaderTimeout: 10 * time.Second}
	announce(stdout, cfg, ln.Addr().String(), log)
	errc := make(chan error, 1+len(a.runners))
	go func() { errc <- hs.Serve(ln) }()
	if cfg.PprofAddr != "" {
		ps, err := servePprof(cfg.PprofAddr, log)
		if err != nil {
			_ = hs.Close()
			return err
		}
		defer ps.Close()
	}
	runCtx, stopRunners := context.WithCancel(context.Background())
	for _, r := range a.runners {
		go func() { errc <- r(runCtx) }()
	}
	select {
	case <-ctx.Done():
		log.Info("shutting down: draining sessions", "drain_timeout", cfg.DrainTimeout)
	case err := <-errc:
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("server failed", "err", err)
		}
	}
	a.shutdown(cfg, hs, log, stopRunners)
	return nil
}

// shutdown drains sessions (4001 spread over the drain time, then 1001),
// stops the listener and releases everything.
func (a *app) shutdown(cfg *Config, hs *http.Server, log *slog.Logger, stopRunners func()) {
	drainCtx, cancel := context.WithTimeout(context.Background(), cfg.DrainTimeout+2*time.Second)
	defer cancel()
	a.srv.Drain(drainCtx, cfg.DrainTimeout)
	if err := hs.Shutdown(drainCtx); err != nil {
		log.Warn("http shutdown", "err", err)
	}
	a.hub.Close()
	stopRunners()
	a.svc.Close()
	if a.presence != nil {
		a.presence.Close()
	}
	if a.rdb != nil {
		_ = a.rdb.Close()
	}
	log.Info("chatd stopped")
}

// announce prints where chatd listens and how to get a token.
func announce(w io.Writer, cfg *Config, addr string, log *slog.Logger) {
	base := "http://" + addr
	if host, port, err := net.SplitHostPort(addr); err == nil && (host == "::" || host == "0.0.0.0" || host == "") {
		base = "http://localhost:" + port
	}
	fmt.Fprintf(w, "chatd listening on %s (WebSocket %s/ws)\n", addr, "ws"+base[len("http"):])
	fmt.Fprintf(w, "  demo:    %s/\n", base)
	if cfg.DevMode() {
		log.Warn("dev mode: CHAT_TOKEN_SECRET is not set; tokens are signed with the public development secret and /dev/token hands them out to anyone. Set CHAT_TOKEN_SECRET in production.")
		fmt.Fprintf(w, "  token:   curl '%s/dev/token?userID=alice'   (dev mode)\n", base)
	} else {
		fmt.Fprintf(w, "  token:   chatd token -user alice   (signed with CHAT_TOKEN_SECRET)\n")
	}
	fmt.Fprintf(w, "  metrics: %s/metrics   health: %s/healthz   ready: %s/readyz\n", base, base, base)
}

// listenLinger maps CHAT_LISTEN_LINGER (0 = none) to hub.Options (0 =
// its default, negative = none).
func listenLinger(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// servePprof serves net/http/pprof's handlers on addr (CHAT_PPROF_ADDR),
// apart from the public listener.
func servePprof(addr string, log *slog.Logger) (*http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("failed to listen on CHAT_PPROF_ADDR %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	ps := &http.Server{Addr: ln.Addr().String(), Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := ps.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("pprof listener failed", "err", err)
		}
	}()
	log.Info("profiles served", "addr", ps.Addr, "path", "/debug/pprof/")
	return ps, nil
}
