package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The test binary stands in for chatbench when it re-executes itself: as
// a child process (-procs) and as the baseline server.
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(childMain(os.Stdin, os.Stdout))
	}
	if len(os.Args) > 1 && os.Args[1] == "baseline-server" {
		os.Exit(baselineMain(os.Args[2:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// freePort returns a free loopback address in chatbench's test range.
func freePort(t *testing.T) string {
	t.Helper()
	for p := 18150; p < 18200; p++ {
		addr := fmt.Sprintf("127.0.0.1:%d", p)
		if ln, err := net.Listen("tcp", addr); err == nil {
			ln.Close()
			return addr
		}
	}
	t.Skip("no free port in 18150-18199")
	return ""
}

// chatdBinary builds chatd (or takes CHATBENCH_TEST_CHATD), skipping the
// test when it cannot be built.
func chatdBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHATBENCH_TEST_CHATD"); p != "" {
		return p
	}
	if testing.Short() {
		t.Skip("-short: not building chatd")
	}
	bin := filepath.Join(t.TempDir(), "chatd")
	cmd := exec.Command("go", "build", "-o", bin, "chatd/cmd/chatd")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Skipf("cannot build chatd, skipping the end-to-end run: %v\n%s", err, out.String())
	}
	return bin
}

func shortConfig(scenario string) Config {
	return Config{Scenario: scenario, Secret: "chatbench-test-secret-0123456789", Viewers: 50, Publishers: 2, Rate: 20,
		Size: 100, Priority: "Normal", Groups: 5, Members: 4, Inflight: 4, OpsMix: "send=1,joinquit=1",
		Duration: 2 * time.Second, Warmup: 500 * time.Millisecond, Hold: 200 * time.Millisecond, Sample: 1,
		DialConc: 32, Procs: 1, Quiet: true, BaselineAt: "127.0.0.1:0"}
}

// runChatd runs cfg against a chatd it starts and returns the report and
// its human summary.
func runChatd(t *testing.T, cfg Config) (*Report, string) {
	t.Helper()
	cfg.StartServer = chatdBinary(t)
	cfg.URLs = []string{"ws://" + freePort(t) + "/ws"}
	var log bytes.Buffer
	r, err := runTarget(cfg, false, &log)
	if err != nil {
		t.Fatalf("%s run: %v\n%s", cfg.Scenario, err, log.String())
	}
	var sum bytes.Buffer
	printSummary(&sum, r)
	t.Logf("\n%s", sum.String())
	return r, sum.String()
}

func TestLiveAgainstChatd(t *testing.T) {
	r, _ := runChatd(t, shortConfig("live"))
	if r.Deliveries == 0 || r.Frames == 0 || r.Latency.Samples == 0 {
		t.Errorf("nothing delivered: %+v", r)
	}
	if len(r.Errors) != 0 {
		t.Errorf("errors: %v", r.Errors)
	}
	if r.Connected != 50 {
		t.Errorf("%d viewers set up, want 50", r.Connected)
	}
	// Every accepted message reaches every viewer (the window's edges
	// blur the count a little).
	if r.DeliveriesPerSec < 0.8*r.ExpectedPerSec {
		t.Errorf("%.0f deliveries/s of %.0f expected", r.DeliveriesPerSec, r.ExpectedPerSec)
	}
	if r.Server == nil || r.Server.PID == 0 || r.Server.RSSEndKiB == 0 {
		t.Errorf("server stats missing: %+v", r.Server)
	}
}

func TestBaselineAcrossProcesses(t *testing.T) {
	cfg := shortConfig("live")
	cfg.Viewers, cfg.Procs, cfg.Duration, cfg.Warmup = 20, 2, time.Second, 300*time.Millisecond
	cfg.BaselineAt = freePort(t)
	var log bytes.Buffer
	r, err := runTarget(cfg, true, &log)
	if err != nil {
		t.Fatalf("baseline run: %v\n%s", err, log.String())
	}
	if r.Deliveries == 0 || r.Connected != 20 || r.MsgsPerFrame != 1 {
		t.Errorf("baseline: %d deliveries, %d connected, %.2f per frame", r.Deliveries, r.Connected, r.MsgsPerFrame)
	}
	if len(r.Errors) != 0 {
		t.Errorf("errors: %v", r.Errors)
	}
	if r.Client.Procs != 2 || r.Server == nil || r.Server.CPUSeconds < 0 {
		t.Errorf("report: %+v", r)
	}
}

// The ops scenario paced: every request answered, at the asked rate (the
// bounds are loose: the schedule is what is checked, not the machine).
func TestPacedOpsAgainstChatd(t *testing.T) {
	cfg := shortConfig("ops")
	cfg.OpsMix, cfg.OpsRate = "send=1", 200
	r, sum := runChatd(t, cfg)
	if len(r.Errors) != 0 {
		t.Errorf("errors: %v", r.Errors)
	}
	got := r.Ops[opSend].PerSec
	if got < 100 || got > 300 {
		t.Errorf("sendMessage at %.0f/s, paced at 200/s", got)
	}
	if !strings.Contains(sum, "paced at 200 requests/s") {
		t.Errorf("the summary does not say the run was paced:\n%s", sum)
	}
}
