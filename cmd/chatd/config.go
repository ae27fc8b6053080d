package main

import (
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"

	"chatd/groups"
	"chatd/server/auth"
)

// devAddr is CHAT_ADDR's default in dev mode: loopback only.
const devAddr = "127.0.0.1:8080"

// minSecretBytes is the shortest CHAT_TOKEN_SECRET accepted.
const minSecretBytes = 16

// Config is chatd's whole configuration, read once at start from CHAT_
// environment variables (PROTOCOL.md "Configuration"). An empty variable
// counts as unset and takes the default, except CHAT_APP_ADMINS.
type Config struct {
	// Addr is the listen address (host:port, numeric port). Default ":8080";
	// "127.0.0.1:8080" in dev mode when CHAT_ADDR is not set.
	Addr string `env:"CHAT_ADDR" envDefault:":8080"`
	// TokenSecret is the HS256 secret of login tokens, at least 16 bytes.
	// Empty = dev mode: tokens are signed with auth.DevSecret, CHAT_ADDR
	// must be loopback and GET /dev/token hands out tokens.
	TokenSecret string `env:"CHAT_TOKEN_SECRET"`
	// RedisURL is redis://[:password@]host:port/db or rediss://... for one
	// Redis. Empty (and no cluster) = embedded in-memory store.
	RedisURL string `env:"CHAT_REDIS_URL"`
	// RedisClusterAddrs are comma-separated host:port seeds of a Redis
	// Cluster. Default empty; refused together with CHAT_REDIS_URL.
	RedisClusterAddrs []string `env:"CHAT_REDIS_CLUSTER_ADDRS" envSeparator:","`
	// RedisPrefix prefixes every Redis key and channel. Default "chat".
	RedisPrefix string `env:"CHAT_REDIS_PREFIX" envDefault:"chat"`
	// AppAdmins are comma-separated userIDs with App-admin rights. Default
	// "administrator"; set to an empty value for none.
	AppAdmins []string `env:"CHAT_APP_ADMINS" envSeparator:"," envDefault:"administrator"`
	// AllowedOrigins are comma-separated host patterns (coder/websocket
	// OriginPatterns) allowed to open /ws from a browser. Default empty =
	// same origin only.
	AllowedOrigins []string `env:"CHAT_ALLOWED_ORIGINS" envSeparator:","`
	// MaxSessionsPerUser caps one user's sessions; a login over it closes
	// the oldest with 4503. Default 0 = unlimited.
	MaxSessionsPerUser int `env:"CHAT_MAX_SESSIONS_PER_USER" envDefault:"0"`
	// NodeID names this node in logs, metrics and presence. Default hostname
	// + "-" + 6 random characters (at most 32 bytes).
	NodeID string `env:"CHAT_NODE_ID"`
	// LogLevelName is debug, info, warn or error. Default "info".
	LogLevelName string `env:"CHAT_LOG_LEVEL" envDefault:"info"`

	// DrainTimeout is the time over which shutdown spreads its 4001 closes;
	// sessions still open after it get 1001. Default 10s.
	DrainTimeout time.Duration `env:"CHAT_DRAIN_TIMEOUT" envDefault:"10s"`
	// QueueSize is the per-session send queue length in frames; overflow
	// closes the session with 4008. Default 512.
	QueueSize int `env:"CHAT_QUEUE_SIZE" envDefault:"512"`
	// PingPeriod is the time between WebSocket pings. Default 25s.
	PingPeriod time.Duration `env:"CHAT_PING_PERIOD" envDefault:"25s"`
	// PongTimeout is how long a ping may wait for its pong before 4012.
	// Default 60s.
	PongTimeout time.Duration `env:"CHAT_PONG_TIMEOUT" envDefault:"60s"`
	// WriteTimeout bounds one frame write. Default 10s.
	WriteTimeout time.Duration `env:"CHAT_WRITE_TIMEOUT" envDefault:"10s"`
	// LoginTimeout is how long a session may stay neither logged in nor in
	// a live room before 4502. Default 10s.
	LoginTimeout time.Duration `env:"CHAT_LOGIN_TIMEOUT" envDefault:"10s"`
	// TokenGrace is how long after its token's exp a session may refresh
	// before kickedOut and 4501. Default 25s.
	TokenGrace time.Duration `env:"CHAT_TOKEN_GRACE" envDefault:"25s"`
	// MaxFrameBytes is the largest client frame, 1024..16777216; larger
	// closes with 1009. Default 65536.
	MaxFrameBytes int64 `env:"CHAT_MAX_FRAME_BYTES" envDefault:"65536"`
	// GroupLimit is how many groups one user may be in (10037 over it).
	// Default 1000.
	GroupLimit int `env:"CHAT_GROUP_LIMIT" envDefault:"1000"`
	// HistoryMaxMessages is how many messages a group keeps. Default 1000.
	HistoryMaxMessages int `env:"CHAT_HISTORY_MAX_MESSAGES" envDefault:"1000"`
	// HistoryMaxAge is how long a group keeps a message. Default 168h.
	HistoryMaxAge time.Duration `env:"CHAT_HISTORY_MAX_AGE" envDefault:"168h"`
	// HistoryReadAll lists the group types whose new members read all
	// retained history; in the others a member reads from its join on.
	// Comma-separated Private, Public, ChatRoom; default "ChatRoom"; an
	// empty value = every type reads from the join.
	HistoryReadAll []string `env:"CHAT_HISTORY_READ_ALL" envSeparator:"," envDefault:"ChatRoom"`
	// RateLimit is the sustained requests per second of one connection
	// (4029 when exceeded for long). Default 50.
	RateLimit float64 `env:"CHAT_RATE_LIMIT" envDefault:"50"`
	// RateBurst is the request burst one connection may send above
	// RateLimit. Default 100.
	RateBurst int `env:"CHAT_RATE_BURST" envDefault:"100"`
	// BadFrameLimit is how many replies with 10003, 10004 or 10011 within
	// 10 s close a session with 4509. Default 20.
	BadFrameLimit int `env:"CHAT_BAD_FRAME_LIMIT" envDefault:"20"`
	// LiveMsgRate is the messages per second one live room (AVChatRoom)
	// accepts. Default 40.
	LiveMsgRate float64 `env:"CHAT_LIVE_MSG_RATE" envDefault:"40"`
	// LiveGrace is how long a disconnected viewer keeps its live-room place
	// for a reconnect. Default 30s.
	LiveGrace time.Duration `env:"CHAT_LIVE_GRACE" envDefault:"30s"`
	// LiveWindowFrames is the frames per second one live room may cost this
	// node before its messages are gathered into windows, one frame per
	// viewer per window; 0 sends every message as its own frame. Default
	// 60000.
	LiveWindowFrames int `env:"CHAT_LIVE_WINDOW_FRAMES" envDefault:"60000"`
	// LiveWindowMax caps a live room's window. Default 200ms.
	LiveWindowMax time.Duration `env:"CHAT_LIVE_WINDOW_MAX" envDefault:"200ms"`
	// PprofAddr, when set, serves Go's profiles (net/http/pprof under
	// /debug/pprof/) on their own listener, loopback only. Default off.
	PprofAddr string `env:"CHAT_PPROF_ADDR"`
	// ListenLinger is how long a node goes on listening to a group's or a
	// user's broker channel after its last session of it left, so a quick
	// rejoin or reconnect needs no new subscription (and no resync). 0 =
	// stop at once. Default 30s.
	ListenLinger time.Duration `env:"CHAT_LISTEN_LINGER" envDefault:"30s"`
	// RedisPipelines is how many of the store's shared pipelines may be
	// on the wire at once (groups.RedisStore.SetPipelines). Default 1.
	RedisPipelines int `env:"CHAT_REDIS_PIPELINES" envDefault:"1"`
}

// LoadConfig reads the configuration through lookup (os.LookupEnv in main),
// fills in the defaults that depend on other values and validates it. Every
// error names the variable at fault.
func LoadConfig(lookup func(string) (string, bool)) (*Config, error) {
	vars := make(map[string]string)
	for _, key := range envKeys() {
		if v, ok := lookup(key); ok {
			vars[key] = v
		}
	}
	c := new(Config)
	if err := env.ParseWithOptions(c, env.Options{Environment: vars}); err != nil {
		return nil, envError(err, vars)
	}
	c.fill(vars)
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// fill trims the lists and sets the defaults env tags cannot express.
func (c *Config) fill(vars map[string]string) {
	c.RedisClusterAddrs = trimList(c.RedisClusterAddrs)
	c.AppAdmins = trimList(c.AppAdmins)
	c.AllowedOrigins = trimList(c.AllowedOrigins)
	c.HistoryReadAll = trimList(c.HistoryReadAll)
	if v, ok := vars["CHAT_HISTORY_READ_ALL"]; ok && strings.TrimSpace(v) == "" {
		c.HistoryReadAll = nil
	}
	if v, ok := vars["CHAT_APP_ADMINS"]; ok && strings.TrimSpace(v) == "" {
		c.AppAdmins = nil
	}
	if c.DevMode() && vars["CHAT_ADDR"] == "" {
		c.Addr = devAddr
	}
	if c.NodeID == "" {
		c.NodeID = defaultNodeID()
	}
}

// trimList trims every item and drops the empty ones.
func trimList(items []string) []string {
	var out []string
	for _, s := range items {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// defaultNodeID is the hostname (printable ASCII only, cut to fit the
// userID rule) plus a random suffix, so two processes on one host differ.
func defaultNodeID() string {
	host, _ := os.Hostname()
	host = strings.Map(func(r rune) rune {
		if r < 0x21 || r > 0x7e {
			return -1
		}
		return r
	}, host)
	if host == "" {
		host = "chatd"
	}
	return host[:min(len(host), groups.MaxUserIDBytes-7)] + "-" + strings.ToLower(rand.Text()[:6])
}

// envKeys lists the variable of every Config field.
func envKeys() []string {
	t := reflect.TypeFor[Config]()
	keys := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		keys = append(keys, t.Field(i).Tag.Get("env"))
	}
	return keys
}

// envKey is the variable of the Config field called field.
func envKey(field string) string {
	if f, ok := reflect.TypeFor[Config]().FieldByName(field); ok {
		return f.Tag.Get("env")
	}
	return field
}

// envError rewrites env's parse errors, which name the Go field, into
// messages naming the variable and its value.
func envError(err error, vars map[string]string) error {
	var agg env.AggregateError
	if !errors.As(err, &agg) {
		return fmt.Errorf("failed to read configuration: %w", err)
	}
	errs := make([]error, 0, len(agg.Errors))
	for _, e := range agg.Errors {
		var pe env.ParseError
		if !errors.As(e, &pe) {
			errs = append(errs, e)
			continue
		}
		key := envKey(pe.Name)
		errs = append(errs, fmt.Errorf("%s: want %s, got %q", key, kindName(pe.Type), vars[key]))
	}
	return errors.Join(errs...)
}

func kindName(t reflect.Type) string {
	switch {
	case t == reflect.TypeFor[time.Duration]():
		return "a duration such as 10s, 1m30s or 168h"
	case t.Kind() == reflect.Float64:
		return "a number"
	default:
		return "an integer"
	}
}

// DevMode reports whether no token secret is set.
func (c *Config) DevMode() bool { return c.TokenSecret == "" }

// Secret is the HS256 key of login tokens: auth.DevSecret in dev mode.
func (c *Config) Secret() []byte {
	if c.DevMode() {
		return []byte(auth.DevSecret)
	}
	return []byte(c.TokenSecret)
}

// LogLevel is CHAT_LOG_LEVEL as a slog.Level (info when invalid).
func (c *Config) LogLevel() slog.Level {
	switch strings.ToLower(c.LogLevelName) {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// problems collects validation errors, each prefixed by its variable.
type problems []error

func (p *problems) addf(key, format string, args ...any) {
	*p = append(*p, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
}

// Validate reports every bad value, one line each, naming its variable.
func (c *Config) Validate() error {
	var p problems
	c.checkAddr(&p)
	c.checkPprofAddr(&p)
	c.checkSecret(&p)
	c.checkRedis(&p)
	c.checkIDs(&p)
	c.checkOrigins(&p)
	c.checkNumbers(&p)
	c.checkDurations(&p)
	for _, t := range c.HistoryReadAll {
		if t != "Private" && t != "Public" && t != "ChatRoom" {
			p.addf("CHAT_HISTORY_READ_ALL", "types are Private, Public and ChatRoom, got %q", t)
		}
	}
	switch strings.ToLower(c.LogLevelName) {
	case "debug", "info", "warn", "error":
	default:
		p.addf("CHAT_LOG_LEVEL", "must be debug, info, warn or error, got %q", c.LogLevelName)
	}
	return errors.Join(p...)
}

func (c *Config) checkPprofAddr(p *problems) {
	if c.PprofAddr == "" {
		return
	}
	host, port, err := net.SplitHostPort(c.PprofAddr)
	if err != nil || !validPort(port, 0) || host == "" || !isLoopback(host) {
		p.addf("CHAT_PPROF_ADDR", "must be a loopback host:port with a numeric port (such as 127.0.0.1:6060): profiles are not for other hosts, got %q", c.PprofAddr)
	}
}

func (c *Config) checkAddr(p *problems) {
	host, port, err := net.SplitHostPort(c.Addr)
	if err != nil || !validPort(port, 0) {
		p.addf("CHAT_ADDR", "must be host:port with a numeric port (such as :8080 or 127.0.0.1:8080), got %q", c.Addr)
		return
	}
	if c.DevMode() && !isLoopback(host) {
		p.addf("CHAT_ADDR", "dev mode (no CHAT_TOKEN_SECRET) listens on loopback only, got %q: "+
			"set CHAT_TOKEN_SECRET to serve other hosts, or use %s", c.Addr, devAddr)
	}
}

// isLoopback reports whether host is localhost or a loopback IP; an empty
// host (all interfaces) is not.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func validPort(port string, lowest int) bool {
	n, err := strconv.Atoi(port)
	return err == nil && n >= lowest && n <= 65535
}

func (c *Config) checkSecret(p *problems) {
	switch {
	case c.DevMode():
	case len(c.TokenSecret) < minSecretBytes:
		p.addf("CHAT_TOKEN_SECRET", "must be at least %d bytes, got %d", minSecretBytes, len(c.TokenSecret))
	case c.TokenSecret == auth.DevSecret:
		p.addf("CHAT_TOKEN_SECRET", "is the public development secret; use a secret of your own, or leave it empty for dev mode")
	}
}

func (c *Config) checkRedis(p *problems) {
	if c.RedisURL != "" && len(c.RedisClusterAddrs) > 0 {
		p.addf("CHAT_REDIS_URL", "set together with CHAT_REDIS_CLUSTER_ADDRS; set only one of them")
	}
	if c.RedisURL != "" {
		if msg := checkRedisURL(c.RedisURL); msg != "" {
			p.addf("CHAT_REDIS_URL", "%s", msg)
		}
	}
	for _, a := range c.RedisClusterAddrs {
		if host, port, err := net.SplitHostPort(a); err != nil || host == "" || !validPort(port, 1) {
			p.addf("CHAT_REDIS_CLUSTER_ADDRS", "each address must be host:port, got %q", a)
		}
	}
	if !printable(c.RedisPrefix, 64) || strings.ContainsAny(c.RedisPrefix, "{}") {
		p.addf("CHAT_REDIS_PREFIX", "must be 1..64 bytes of printable ASCII without { or } (they would break Cluster hash tags), got %q", c.RedisPrefix)
	}
}

// checkRedisURL checks what redis.ParseURL needs: the scheme, a numeric
// port if any and a numeric DB. Messages never show the password.
func checkRedisURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "not a valid URL (want redis://[:password@]host:port/db or rediss://...)"
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return fmt.Sprintf("scheme must be redis or rediss, got %q in %s", u.Scheme, u.Redacted())
	}
	if port := u.Port(); port != "" && !validPort(port, 1) {
		return fmt.Sprintf("bad port in %s", u.Redacted())
	}
	if db := strings.Trim(u.Path, "/"); db != "" {
		if n, err := strconv.Atoi(db); err != nil || n < 0 {
			return fmt.Sprintf("database must be a number (/0, /1, ...), got %q in %s", db, u.Redacted())
		}
	}
	return ""
}

func (c *Config) checkIDs(p *problems) {
	for _, id := range c.AppAdmins {
		if !groups.ValidUserID(id) {
			p.addf("CHAT_APP_ADMINS", "%q is not a userID (1..%d bytes of printable ASCII)", id, groups.MaxUserIDBytes)
		}
	}
	if !groups.ValidUserID(c.NodeID) {
		p.addf("CHAT_NODE_ID", "must be 1..%d bytes of printable ASCII, got %q", groups.MaxUserIDBytes, c.NodeID)
	}
}

func (c *Config) checkOrigins(p *problems) {
	for _, o := range c.AllowedOrigins {
		if strings.Contains(o, "://") {
			p.addf("CHAT_ALLOWED_ORIGINS", "patterns match host[:port] without a scheme, got %q", o)
		} else if _, err := path.Match(o, ""); err != nil {
			p.addf("CHAT_ALLOWED_ORIGINS", "bad pattern %q: %v", o, err)
		}
	}
}

func (c *Config) checkNumbers(p *problems) {
	ints := []struct {
		key      string
		v        int64
		min, max int64
	}{
		{"CHAT_MAX_SESSIONS_PER_USER", int64(c.MaxSessionsPerUser), 0, 1_000_000},
		{"CHAT_QUEUE_SIZE", int64(c.QueueSize), 1, 1_000_000},
		{"CHAT_MAX_FRAME_BYTES", c.MaxFrameBytes, 1024, 16 << 20},
		{"CHAT_GROUP_LIMIT", int64(c.GroupLimit), 1, 1_000_000},
		{"CHAT_HISTORY_MAX_MESSAGES", int64(c.HistoryMaxMessages), 1, 1_000_000},
		{"CHAT_RATE_BURST", int64(c.RateBurst), 1, 1_000_000},
		{"CHAT_BAD_FRAME_LIMIT", int64(c.BadFrameLimit), 1, 1_000_000},
		{"CHAT_LIVE_WINDOW_FRAMES", int64(c.LiveWindowFrames), 0, 100_000_000},
	}
	for _, n := range ints {
		if n.v < n.min || n.v > n.max {
			p.addf(n.key, "must be between %d and %d, got %d", n.min, n.max, n.v)
		}
	}
	rates := []struct {
		key string
		v   float64
	}{{"CHAT_RATE_LIMIT", c.RateLimit}, {"CHAT_LIVE_MSG_RATE", c.LiveMsgRate}}
	for _, r := range rates {
		if !(r.v > 0 && r.v <= 1_000_000) { // NaN fails too
			p.addf(r.key, "must be above 0 and at most 1000000 per second, got %v", r.v)
		}
	}
}

func (c *Config) checkDurations(p *problems) {
	durations := []struct {
		key string
		v   time.Duration
	}{
		{"CHAT_DRAIN_TIMEOUT", c.DrainTimeout},
		{"CHAT_PING_PERIOD", c.PingPeriod},
		{"CHAT_PONG_TIMEOUT", c.PongTimeout},
		{"CHAT_WRITE_TIMEOUT", c.WriteTimeout},
		{"CHAT_LOGIN_TIMEOUT", c.LoginTimeout},
		{"CHAT_TOKEN_GRACE", c.TokenGrace},
		{"CHAT_HISTORY_MAX_AGE", c.HistoryMaxAge},
		{"CHAT_LIVE_GRACE", c.LiveGrace},
		{"CHAT_LIVE_WINDOW_MAX", c.LiveWindowMax},
	}
	for _, d := range durations {
		if d.v <= 0 {
			p.addf(d.key, "must be positive, got %v", d.v)
		}
	}
	if c.ListenLinger < 0 {
		p.addf("CHAT_LISTEN_LINGER", "must not be negative, got %v", c.ListenLinger)
	}
	if c.RedisPipelines < 1 || c.RedisPipelines > groups.MaxPipelines {
		p.addf("CHAT_REDIS_PIPELINES", "must be between 1 and %d, got %d", groups.MaxPipelines, c.RedisPipelines)
	}
}

// printable reports whether s is 1..max bytes of printable ASCII.
func printable(s string, max int) bool {
	if len(s) == 0 || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
