package main

import (
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"chatd/groups"
	"chatd/server/auth"
)

const goodSecret = "0123456789abcdef0123"

// lookup serves vars as the environment.
func lookup(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	}
}

// withSecret adds a valid secret (leaving dev mode) to vars.
func withSecret(vars map[string]string) map[string]string {
	out := map[string]string{"CHAT_TOKEN_SECRET": goodSecret}
	for k, v := range vars {
		out[k] = v
	}
	return out
}

func TestLoadConfigDefaults(t *testing.T) {
	c, err := LoadConfig(lookup(withSecret(nil)))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Addr: ":8080", TokenSecret: goodSecret, RedisPrefix: "chat",
		AppAdmins: []string{"administrator"}, NodeID: c.NodeID, LogLevelName: "info",
		DrainTimeout: 10 * time.Second, QueueSize: 512, PingPeriod: 25 * time.Second,
		PongTimeout: 60 * time.Second, WriteTimeout: 10 * time.Second, LoginTimeout: 10 * time.Second,
		TokenGrace: 25 * time.Second, MaxFrameBytes: 65536, GroupLimit: 1000,
		HistoryMaxMessages: 1000, HistoryMaxAge: 168 * time.Hour, HistoryReadAll: []string{"ChatRoom"},
		RateLimit: 50, RateBurst: 100,
		BadFrameLimit: 20, LiveMsgRate: 40, LiveGrace: 30 * time.Second,
		LiveWindowFrames: 60000, LiveWindowMax: 200 * time.Millisecond, ListenLinger: 30 * time.Second,
		RedisPipelines: 1,
	}
	if !reflect.DeepEqual(*c, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", *c, want)
	}
	if c.DevMode() || string(c.Secret()) != goodSecret || c.LogLevel() != slog.LevelInfo {
		t.Errorf("DevMode %v, Secret %q, LogLevel %v", c.DevMode(), c.Secret(), c.LogLevel())
	}
}

func TestLoadConfigIgnoresProcessEnv(t *testing.T) {
	t.Setenv("CHAT_QUEUE_SIZE", "7")
	c, err := LoadConfig(lookup(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.QueueSize != 512 {
		t.Errorf("QueueSize = %d, want the default 512", c.QueueSize)
	}
}

func TestLoadConfigNodeID(t *testing.T) {
	a, err := LoadConfig(lookup(nil))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := LoadConfig(lookup(nil))
	if !groups.ValidUserID(a.NodeID) || a.NodeID == b.NodeID {
		t.Errorf("default node IDs %q, %q: want valid and distinct", a.NodeID, b.NodeID)
	}
	c, err := LoadConfig(lookup(map[string]string{"CHAT_NODE_ID": "node-1"}))
	if err != nil || c.NodeID != "node-1" {
		t.Errorf("CHAT_NODE_ID=node-1: %v, %v", c, err)
	}
}

func TestLoadConfigDevMode(t *testing.T) {
	tests := []struct {
		name     string
		vars     map[string]string
		wantAddr string
		wantErr  string
	}{
		{"default address", nil, "127.0.0.1:8080", ""},
		{"empty address", map[string]string{"CHAT_ADDR": ""}, "127.0.0.1:8080", ""},
		{"explicit loopback", map[string]string{"CHAT_ADDR": "127.0.0.2:9000"}, "127.0.0.2:9000", ""},
		{"localhost", map[string]string{"CHAT_ADDR": "localhost:8080"}, "localhost:8080", ""},
		{"ipv6 loopback", map[string]string{"CHAT_ADDR": "[::1]:8080"}, "[::1]:8080", ""},
		{"all interfaces", map[string]string{"CHAT_ADDR": ":8080"}, "", "CHAT_TOKEN_SECRET"},
		{"ipv4 any", map[string]string{"CHAT_ADDR": "0.0.0.0:8080"}, "", "CHAT_TOKEN_SECRET"},
		{"ipv6 any", map[string]string{"CHAT_ADDR": "[::]:8080"}, "", "CHAT_TOKEN_SECRET"},
		{"public ip", map[string]string{"CHAT_ADDR": "10.1.2.3:8080"}, "", "CHAT_TOKEN_SECRET"},
		{"host name", map[string]string{"CHAT_ADDR": "chat.example.com:8080"}, "", "CHAT_TOKEN_SECRET"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := LoadConfig(lookup(tt.vars))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "CHAT_ADDR: ") {
					t.Fatalf("err = %v, want a CHAT_ADDR error mentioning %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !c.DevMode() || c.Addr != tt.wantAddr || string(c.Secret()) != auth.DevSecret {
				t.Errorf("DevMode %v, Addr %q (want %q), Secret %q", c.DevMode(), c.Addr, tt.wantAddr, c.Secret())
			}
		})
	}
}

func TestLoadConfigErrorsNameTheVariable(t *testing.T) {
	tests := []struct {
		key, value string
		want       string // the whole message, or a substring when it starts with "~"
	}{
		{"CHAT_QUEUE_SIZE", "0", "CHAT_QUEUE_SIZE: must be between 1 and 1000000, got 0"},
		{"CHAT_QUEUE_SIZE", "1000001", "~between 1 and 1000000"},
		{"CHAT_QUEUE_SIZE", "abc", `CHAT_QUEUE_SIZE: want an integer, got "abc"`},
		{"CHAT_QUEUE_SIZE", "99999999999999999999", "~want an integer"},
		{"CHAT_MAX_SESSIONS_PER_USER", "-1", "~between 0 and"},
		{"CHAT_MAX_FRAME_BYTES", "1023", "CHAT_MAX_FRAME_BYTES: must be between 1024 and 16777216, got 1023"},
		{"CHAT_MAX_FRAME_BYTES", "16777217", "~16777216"},
		{"CHAT_GROUP_LIMIT", "0", "~between"},
		{"CHAT_HISTORY_MAX_MESSAGES", "0", "~between"},
		{"CHAT_RATE_BURST", "0", "~between"},
		{"CHAT_BAD_FRAME_LIMIT", "0", "~between"},
		{"CHAT_RATE_LIMIT", "0", "~above 0"},
		{"CHAT_RATE_LIMIT", "NaN", "~above 0"},
		{"CHAT_RATE_LIMIT", "fast", `CHAT_RATE_LIMIT: want a number, got "fast"`},
		{"CHAT_LIVE_MSG_RATE", "-1", "~above 0"},
		{"CHAT_DRAIN_TIMEOUT", "0s", "CHAT_DRAIN_TIMEOUT: must be positive, got 0s"},
		{"CHAT_PING_PERIOD", "10", `~CHAT_PING_PERIOD: want a duration`},
		{"CHAT_PONG_TIMEOUT", "-1s", "~positive"},
		{"CHAT_WRITE_TIMEOUT", "0s", "~positive"},
		{"CHAT_LOGIN_TIMEOUT", "0s", "~positive"},
		{"CHAT_TOKEN_GRACE", "0s", "~positive"},
		{"CHAT_HISTORY_MAX_AGE", "0s", "~positive"},
		{"CHAT_LIVE_GRACE", "0s", "~positive"},
		{"CHAT_LIVE_WINDOW_FRAMES", "-1", "~between 0 and"},
		{"CHAT_LIVE_WINDOW_MAX", "0s", "~positive"},
		{"CHAT_LISTEN_LINGER", "-1s", "CHAT_LISTEN_LINGER: must not be negative, got -1s"},
		{"CHAT_REDIS_PIPELINES", "0", "CHAT_REDIS_PIPELINES: must be between 1 and 64, got 0"},
		{"CHAT_REDIS_PIPELINES", "65", "~between 1 and 64"},
		{"CHAT_PPROF_ADDR", ":6060", "~CHAT_PPROF_ADDR: must be a loopback host:port"},
		{"CHAT_PPROF_ADDR", "10.0.0.1:6060", "~CHAT_PPROF_ADDR: must be a loopback host:port"},
		{"CHAT_PPROF_ADDR", "127.0.0.1", "~CHAT_PPROF_ADDR: must be a loopback host:port"},
		{"CHAT_LOG_LEVEL", "verbose", `CHAT_LOG_LEVEL: must be debug, info, warn or error, got "verbose"`},
		{"CHAT_TOKEN_SECRET", "short", "CHAT_TOKEN_SECRET: must be at least 16 bytes, got 5"},
		{"CHAT_TOKEN_SECRET", auth.DevSecret, "~development secret"},
		{"CHAT_ADDR", "8080", "~host:port"},
		{"CHAT_ADDR", "localhost:http", "~numeric port"},
		{"CHAT_REDIS_URL", "http://localhost:6379", "~scheme must be redis or rediss"},
		{"CHAT_REDIS_URL", "redis://localhost:6379/zero", "~database must be a number"},
		{"CHAT_REDIS_URL", "redis://localhost:99999/0", "~bad port"},
		{"CHAT_REDIS_URL", "redis://%zz", "~not a valid URL"},
		{"CHAT_REDIS_CLUSTER_ADDRS", "a:7000,b", `~got "b"`},
		{"CHAT_REDIS_CLUSTER_ADDRS", ":7000", "~host:port"},
		{"CHAT_REDIS_PREFIX", "{chat}", "~hash tags"},
		{"CHAT_REDIS_PREFIX", "my chat", "~printable"},
		{"CHAT_APP_ADMINS", "alice," + strings.Repeat("x", 33), "~is not a userID"},
		{"CHAT_APP_ADMINS", "ali ce", "~is not a userID"},
		{"CHAT_NODE_ID", strings.Repeat("n", 33), "~printable ASCII"},
		{"CHAT_ALLOWED_ORIGINS", "https://example.com", "~without a scheme"},
		{"CHAT_ALLOWED_ORIGINS", "[a-", "~bad pattern"},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			_, err := LoadConfig(lookup(withSecret(map[string]string{tt.key: tt.value})))
			if err == nil {
				t.Fatal("LoadConfig() succeeded, want an error")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, tt.key+": ") || strings.Contains(msg, "\n") {
				t.Errorf("error %q: want one line starting with %q", msg, tt.key+": ")
			}
			if sub, ok := strings.CutPrefix(tt.want, "~"); ok && !strings.Contains(msg, sub) || !ok && msg != tt.want {
				t.Errorf("error %q, want %q", msg, tt.want)
			}
		})
	}
}

func TestLoadConfigReportsEveryProblem(t *testing.T) {
	_, err := LoadConfig(lookup(withSecret(map[string]string{"CHAT_QUEUE_SIZE": "0", "CHAT_LOG_LEVEL": "loud"})))
	if err == nil || !strings.Contains(err.Error(), "CHAT_QUEUE_SIZE") || !strings.Contains(err.Error(), "CHAT_LOG_LEVEL") {
		t.Errorf("err = %v, want both variables named", err)
	}
}

func TestLoadConfigRedis(t *testing.T) {
	tests := []struct {
		name    string
		vars    map[string]string
		wantErr string
	}{
		{"single", map[string]string{"CHAT_REDIS_URL": "redis://:pw@127.0.0.1:6379/0"}, ""},
		{"tls no db", map[string]string{"CHAT_REDIS_URL": "rediss://redis.internal:6380"}, ""},
		{"cluster", map[string]string{"CHAT_REDIS_CLUSTER_ADDRS": "10.0.0.1:7000, 10.0.0.2:7000"}, ""},
		{"both refused", map[string]string{"CHAT_REDIS_URL": "redis://127.0.0.1:6379/0",
			"CHAT_REDIS_CLUSTER_ADDRS": "10.0.0.1:7000"}, "CHAT_REDIS_URL: set together with CHAT_REDIS_CLUSTER_ADDRS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadConfig(lookup(withSecret(tt.vars)))
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestLoadConfigRedisURLHidesPassword(t *testing.T) {
	_, err := LoadConfig(lookup(withSecret(map[string]string{"CHAT_REDIS_URL": "redis://:hunter2@host:6379/x"})))
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("err = %v: want an error without the password", err)
	}
}

func TestLoadConfigLists(t *testing.T) {
	tests := []struct {
		name string
		vars map[string]string
		get  func(*Config) []string
		want []string
	}{
		{"admins trimmed", map[string]string{"CHAT_APP_ADMINS": " alice , bob,,"}, adminsOf, []string{"alice", "bob"}},
		{"admins empty = none", map[string]string{"CHAT_APP_ADMINS": " "}, adminsOf, nil},
		{"admins default", nil, adminsOf, []string{"administrator"}},
		{"origins", map[string]string{"CHAT_ALLOWED_ORIGINS": "*.example.com, localhost:5173"}, originsOf,
			[]string{"*.example.com", "localhost:5173"}},
		{"origins default", nil, originsOf, nil},
		{"cluster", map[string]string{"CHAT_REDIS_CLUSTER_ADDRS": " a:7000 ,b:7001 "}, clusterOf, []string{"a:7000", "b:7001"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := LoadConfig(lookup(withSecret(tt.vars)))
			if err != nil {
				t.Fatal(err)
			}
			if got := tt.get(c); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func adminsOf(c *Config) []string  { return c.AppAdmins }
func originsOf(c *Config) []string { return c.AllowedOrigins }
func clusterOf(c *Config) []string { return c.RedisClusterAddrs }

func TestLogLevel(t *testing.T) {
	for name, want := range map[string]slog.Level{
		"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "ERROR": slog.LevelError,
	} {
		c, err := LoadConfig(lookup(map[string]string{"CHAT_LOG_LEVEL": name}))
		if err != nil || c.LogLevel() != want {
			t.Errorf("CHAT_LOG_LEVEL=%s: %v, %v; want %v", name, c, err, want)
		}
	}
}

// TestConfigFieldsDocumented keeps every field tagged and commented in the
// CHAT_ namespace, so the README table stays complete.
func TestConfigFieldsDocumented(t *testing.T) {
	for _, key := range envKeys() {
		if !strings.HasPrefix(key, "CHAT_") {
			t.Errorf("variable %q lacks the CHAT_ prefix", key)
		}
	}
}

func TestLoadConfigHistoryReadAll(t *testing.T) {
	c, err := LoadConfig(lookup(withSecret(nil)))
	if err != nil || len(c.HistoryReadAll) != 1 || c.HistoryReadAll[0] != "ChatRoom" {
		t.Fatalf("default %v %v", c.HistoryReadAll, err)
	}
	c, err = LoadConfig(lookup(withSecret(map[string]string{"CHAT_HISTORY_READ_ALL": " Public , ChatRoom"})))
	if err != nil || len(c.HistoryReadAll) != 2 || !readAll(c.HistoryReadAll)["Public"] {
		t.Fatalf("list %v %v", c.HistoryReadAll, err)
	}
	c, err = LoadConfig(lookup(withSecret(map[string]string{"CHAT_HISTORY_READ_ALL": ""})))
	if err != nil || len(c.HistoryReadAll) != 0 {
		t.Fatalf("empty %v %v", c.HistoryReadAll, err)
	}
	_, err = LoadConfig(lookup(withSecret(map[string]string{"CHAT_HISTORY_READ_ALL": "AVChatRoom"})))
	if err == nil || !strings.Contains(err.Error(), "CHAT_HISTORY_READ_ALL") {
		t.Fatalf("bad type: %v", err)
	}
}
