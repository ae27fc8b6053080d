// Command chatbench is chatd's load generator: it speaks chatd's
// WebSocket protocol (login, live rooms, groups, messages), measures
// deliveries, frames and end-to-end latency from a timestamp carried in
// every message, and reads the server's CPU and RSS when it runs here.
// `chatbench -baseline` measures a bare coder/websocket broadcaster the
// same way, so chatd's figures can be read as ratios of the floor cost;
// `-compare` runs both. See docs/BENCHMARKS.md.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if os.Getenv(childEnv) != "" {
		return childMain(stdin, stdout)
	}
	if len(args) > 0 && args[0] == "baseline-server" {
		return baselineMain(args[1:], stdout, stderr)
	}
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "chatbench: %v\n", err)
		return 2
	}
	if cfg.CPUClient != "" && os.Getenv("CHATBENCH_PINNED") != "1" {
		return reexecPinned(cfg.CPUClient, args, stdin, stdout, stderr)
	}
	if cfg.Secret == "" {
		cfg.Secret = randomHex(16)
	}
	stopOnSignal()
	if cfg.Compare {
		b, err := runTarget(*cfg, true, stderr)
		if err != nil {
			fmt.Fprintf(stderr, "chatbench: baseline: %v\n", err)
			return 1
		}
		printSummary(stdout, b)
		fmt.Fprintln(stdout)
		c, err := runTarget(*cfg, false, stderr)
		if err != nil {
			fmt.Fprintf(stderr, "chatbench: chatd: %v\n", err)
			return 1
		}
		printSummary(stdout, c)
		fmt.Fprintln(stdout)
		cmp := compare(b, c)
		printComparison(stdout, cmp)
		return finish(cfg, cmp, stdout, stderr)
	}
	rep, err := runTarget(*cfg, cfg.Baseline, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "chatbench: %v\n", err)
		return 1
	}
	printSummary(stdout, rep)
	return finish(cfg, rep, stdout, stderr)
}

func finish(cfg *Config, v any, stdout, stderr io.Writer) int {
	if cfg.JSONOut == "" {
		return 0
	}
	if err := writeJSON(cfg.JSONOut, v, stdout); err != nil {
		fmt.Fprintf(stderr, "chatbench: %v\n", err)
		return 1
	}
	return 0
}

// reexecPinned runs chatbench again under taskset -c cpus (children and
// all), and returns its exit code.
func reexecPinned(cpus string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "chatbench: %v\n", err)
		return 1
	}
	cmd := exec.Command("taskset", append([]string{"-c", cpus, self}, args...)...)
	cmd.Env = append(os.Environ(), "CHATBENCH_PINNED=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	signal.Ignore(syscall.SIGINT) // the pinned copy handles it
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		fmt.Fprintf(stderr, "chatbench: taskset: %v\n", err)
		return 1
	}
	return 0
}

// started are the servers chatbench runs, stopped on SIGINT or SIGTERM.
var (
	startedMu sync.Mutex
	started   = map[*server]bool{}
)

func track(s *server, on bool) {
	startedMu.Lock()
	defer startedMu.Unlock()
	if on {
		started[s] = true
	} else {
		delete(started, s)
	}
}

var signalOnce sync.Once

func stopOnSignal() {
	signalOnce.Do(func() {
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
		go func() {
			<-ch
			startedMu.Lock()
			list := make([]*server, 0, len(started))
			for s := range started {
				list = append(list, s)
			}
			startedMu.Unlock()
			for _, s := range list {
				s.stop()
			}
			os.Exit(130)
		}()
	})
}
