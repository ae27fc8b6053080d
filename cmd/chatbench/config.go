package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Config is one chatbench invocation; a child process gets its parent's
// (JSON in the environment) with Child set.
type Config struct {
	Scenario string   `json:"scenario"`
	URLs     []string `json:"urls"`
	Secret   string   `json:"secret"`

	Viewers    int     `json:"viewers"`    // live: viewers; connect: connections
	Anon       bool    `json:"anon"`       // live: viewers do not log in
	Publishers int     `json:"publishers"` // live: publishing sessions
	Rate       float64 `json:"rate"`       // messages per second, in total
	Size       int     `json:"size"`       // bytes of message text
	Priority   string  `json:"priority"`   // sendMessage priority
	Groups     int     `json:"groups"`     // groups: number of groups
	Members    int     `json:"members"`    // groups: members per group (all online)
	Inflight   int     `json:"inflight"`   // ops: requests in flight (one session each)
	OpsMix     string  `json:"ops_mix"`    // ops: weights, "send=1,joinquit=1"
	OpsRate    float64 `json:"ops_rate"`   // ops: requests per second in total (0: closed loop at full speed)

	Duration time.Duration `json:"duration"`
	Warmup   time.Duration `json:"warmup"`
	Hold     time.Duration `json:"hold"` // connect: idle time after the storm before RSS is read
	Sample   int           `json:"sample"`
	DialConc int           `json:"dial_concurrency"`
	Procs    int           `json:"procs"`

	CPUProfile  string `json:"cpu_profile"` // chatbench's own CPU profile (children add .N)
	JSONOut     string `json:"-"`
	Quiet       bool   `json:"-"`
	Baseline    bool   `json:"baseline"` // the target is the bare broadcaster
	Compare     bool   `json:"-"`
	BaselineAt  string `json:"-"` // listen address of the baseline server
	StartServer string `json:"-"` // path of a chatd binary to start
	ServerPID   int    `json:"-"`
	CPUServer   string `json:"-"`
	CPUClient   string `json:"-"`
	RedisURL    string `json:"-"` // Redis of the started chatd, and where ops reads command counts
	LiveRate    int    `json:"-"` // CHAT_LIVE_MSG_RATE of the started chatd (0: its default)
	QueueSize   int    `json:"-"` // CHAT_QUEUE_SIZE of the started chatd (0: its default)

	// Set by the parent for its children.
	Run        string `json:"run"`  // unique prefix of this run's user IDs
	Room       string `json:"room"` // live: the room the parent created
	ChildIndex int    `json:"child_index"`
	ChildCount int    `json:"child_count"`
}

func parseFlags(args []string, stderr io.Writer) (*Config, error) {
	c := &Config{}
	fs := flag.NewFlagSet("chatbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	var urls string
	fs.StringVar(&c.Scenario, "scenario", "live", "live | groups | connect | ops")
	fs.StringVar(&urls, "url", "ws://127.0.0.1:8080/ws", "target WebSocket URL(s), comma-separated: connections are spread round robin")
	fs.StringVar(&c.Secret, "secret", "", "CHAT_TOKEN_SECRET of the target, to sign login tokens (HS256)")
	fs.IntVar(&c.Viewers, "n", 1000, "live: viewers; connect: connections")
	fs.BoolVar(&c.Anon, "anon", false, "live: viewers join anonymously (no login)")
	fs.IntVar(&c.Publishers, "publishers", 4, "live: publishing sessions (they share -rate)")
	fs.Float64Var(&c.Rate, "rate", 40, "messages per second in total (live: into the room; groups: over all groups)")
	fs.IntVar(&c.Size, "size", 100, fmt.Sprintf("bytes of message text (at least %d: the timestamp)", minTextSize))
	fs.StringVar(&c.Priority, "priority", "Normal", "sendMessage priority: High | Normal | Low | Lowest (High is never shed by a live room)")
	fs.IntVar(&c.Groups, "groups", 100, "groups: number of Public groups")
	fs.IntVar(&c.Members, "members", 10, "groups: members per group, all online")
	fs.IntVar(&c.Inflight, "inflight", 64, "ops: requests in flight (one session each, closed loop)")
	fs.Float64Var(&c.OpsRate, "ops-rate", 0, "ops: requests per second in total, paced, each session still one request in flight; latency counts from the due time (0: closed loop at full speed)")
	fs.StringVar(&c.OpsMix, "ops-mix", "send=1,joinquit=1", "ops: weights of sendMessage (send) and joinGroup+quitGroup pairs (joinquit)")
	fs.DurationVar(&c.Duration, "duration", 30*time.Second, "measured time")
	fs.DurationVar(&c.Warmup, "warmup", 5*time.Second, "load before measuring starts")
	fs.DurationVar(&c.Hold, "hold", 10*time.Second, "connect: keep the connections idle this long before reading the server's RSS")
	fs.IntVar(&c.Sample, "sample", 10, "record the latency of 1 in this many deliveries")
	fs.IntVar(&c.DialConc, "dial-concurrency", 256, "connections being set up at once")
	fs.IntVar(&c.Procs, "procs", 1, "client processes (about 20,000 open files each: spread 15,000+ connections)")
	fs.StringVar(&c.JSONOut, "json", "", "write the JSON report to this file (- = stdout)")
	fs.BoolVar(&c.Quiet, "quiet", false, "no progress line")
	fs.StringVar(&c.CPUProfile, "cpuprofile", "", "write chatbench's own CPU profile here (to check the client is not the bottleneck; children add .N)")
	fs.BoolVar(&c.Baseline, "baseline", false, "measure the bare coder/websocket broadcaster instead of chatd")
	fs.BoolVar(&c.Compare, "compare", false, "run the scenario against the baseline, then chatd, and print the ratios")
	fs.StringVar(&c.BaselineAt, "baseline-addr", "127.0.0.1:0", "listen address of the baseline broadcaster")
	fs.StringVar(&c.StartServer, "start-server", "", "path of a chatd binary to start on -url's address (and stop afterwards)")
	fs.IntVar(&c.ServerPID, "server-pid", 0, "pid of the target server for RSS and CPU (default: found by -url's port when local)")
	fs.StringVar(&c.CPUServer, "cpu-server", "", "taskset CPU list for the server chatbench starts (chatd or baseline)")
	fs.StringVar(&c.CPUClient, "cpu-client", "", "taskset CPU list for chatbench itself (re-executes under taskset)")
	fs.StringVar(&c.RedisURL, "redis", "", "redis://host:port/db: the started chatd uses it (under a fresh key prefix, deleted afterwards); ops reads command counts from it")
	fs.IntVar(&c.LiveRate, "live-rate", 0, "CHAT_LIVE_MSG_RATE of the started chatd (0: its default, 40)")
	fs.IntVar(&c.QueueSize, "queue-size", 0, "CHAT_QUEUE_SIZE of the started chatd (0: its default)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	for _, u := range strings.Split(urls, ",") {
		if u = strings.TrimSpace(u); u != "" {
			c.URLs = append(c.URLs, u)
		}
	}
	return c, c.check()
}

func (c *Config) check() error {
	switch c.Scenario {
	case "live", "groups", "connect", "ops":
	default:
		return fmt.Errorf("-scenario: want live, groups, connect or ops, got %q", c.Scenario)
	}
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if len(c.URLs) == 0 {
		bad("-url: at least one URL")
	}
	if c.Secret == "" && !(c.Baseline && !c.Compare) && c.StartServer == "" {
		bad("-secret: required (the target's CHAT_TOKEN_SECRET, 16+ bytes; with -start-server a random one is made)")
	}
	if c.Size < minTextSize {
		bad("-size: at least %d", minTextSize)
	}
	if c.Viewers < 1 || c.Publishers < 1 || c.Groups < 1 || c.Members < 2 || c.Inflight < 1 || c.Procs < 1 || c.DialConc < 1 || c.Sample < 1 {
		bad("-n, -publishers, -groups, -inflight, -procs, -dial-concurrency and -sample must be positive; -members at least 2")
	}
	if c.OpsRate < 0 {
		bad("-ops-rate: must not be negative")
	}
	if c.Rate < 0 {
		bad("-rate: must not be negative")
	}
	if c.Scenario == "ops" && (c.Baseline || c.Compare) {
		bad("-scenario ops: the baseline speaks no protocol; no -baseline or -compare")
	}
	if _, err := parseMix(c.OpsMix); err != nil {
		bad("-ops-mix: %v", err)
	}
	switch c.Priority {
	case "High", "Normal", "Low", "Lowest":
	default:
		bad("-priority: High, Normal, Low or Lowest")
	}
	if c.Duration <= 0 || c.Warmup < 0 {
		bad("-duration must be positive, -warmup not negative")
	}
	return errors.Join(errs...)
}

// mix is the ops scenario's weighted cycle of operations.
type mix struct{ send, joinquit int }

func parseMix(s string) (mix, error) {
	var m mix
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		n, err := strconv.Atoi(v)
		if !ok || err != nil || n < 0 {
			return m, fmt.Errorf("want name=weight, got %q", part)
		}
		switch k {
		case "send":
			m.send = n
		case "joinquit":
			m.joinquit = n
		default:
			return m, fmt.Errorf("unknown op %q (send, joinquit)", k)
		}
	}
	if m.send+m.joinquit == 0 {
		return m, errors.New("all weights are 0")
	}
	return m, nil
}

const usage = `chatbench: load generator for chatd (and the bare broadcaster baseline).

  chatbench -scenario live -n 10000 -rate 40 -secret S -url ws://127.0.0.1:8080/ws
  chatbench -scenario live -n 1000 -rate 100 -priority High -compare -start-server ./chatd -cpu-server 0 -cpu-client 1 -secret S
  chatbench -scenario connect -n 15000 -procs 2 -compare -start-server ./chatd -secret S
  chatbench -scenario ops -inflight 64 -start-server ./chatd -redis redis://127.0.0.1:6379/0 -secret S

Scenarios: live (one AVChatRoom, viewers, publishers), groups (G Public
groups x M members chatting), connect (a connect+login storm, then idle:
RSS per connection), ops (closed loop of sendMessage and joinGroup+quitGroup
against the store).

`
