package main

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// server is a server process chatbench started (chatd or the baseline).
type server struct {
	name    string
	cmd     *exec.Cmd
	pid     int
	log     string // where its output goes
	exited  chan struct{}
	cleanup func() // after it stopped (Redis keys)
}

// pinned returns the command line of prog under taskset -c cpus (as is
// when cpus is empty).
func pinned(cpus, prog string, args ...string) *exec.Cmd {
	if cpus == "" {
		return exec.Command(prog, args...)
	}
	return exec.Command("taskset", append([]string{"-c", cpus, prog}, args...)...)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// startChatd starts cfg.StartServer on the address of cfg.URLs[0] and
// waits for /healthz.
func startChatd(cfg *Config, log io.Writer) (*server, error) {
	u, err := url.Parse(cfg.URLs[0])
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("-url %q: no host:port to start chatd on", cfg.URLs[0])
	}
	cmd := pinned(cfg.CPUServer, cfg.StartServer)
	env := os.Environ()
	setDefault := func(k, v string) {
		if os.Getenv(k) == "" {
			env = append(env, k+"="+v)
		}
	}
	env = append(env, "CHAT_ADDR="+u.Host, "CHAT_TOKEN_SECRET="+cfg.Secret)
	setDefault("CHAT_RATE_LIMIT", "1000000")
	setDefault("CHAT_RATE_BURST", "1000000")
	setDefault("CHAT_LOG_LEVEL", "warn")
	setDefault("CHAT_DRAIN_TIMEOUT", "1s")
	if cfg.LiveRate > 0 {
		env = append(env, fmt.Sprintf("CHAT_LIVE_MSG_RATE=%d", cfg.LiveRate))
	}
	if cfg.QueueSize > 0 {
		env = append(env, fmt.Sprintf("CHAT_QUEUE_SIZE=%d", cfg.QueueSize))
	}
	s := &server{name: "chatd", cleanup: func() {}}
	if cfg.RedisURL != "" {
		prefix := "cbench" + randomHex(4)
		env = append(env, "CHAT_REDIS_URL="+cfg.RedisURL, "CHAT_REDIS_PREFIX="+prefix)
		s.cleanup = func() {
			rc, err := dialRedis(cfg.RedisURL)
			if err != nil {
				fmt.Fprintf(log, "chatbench: cannot delete Redis keys %s*: %v\n", prefix, err)
				return
			}
			defer rc.Close()
			if _, err := rc.deleteKeys(prefix); err != nil {
				fmt.Fprintf(log, "chatbench: deleting Redis keys %s*: %v\n", prefix, err)
			}
		}
	}
	cmd.Env = env
	if err := s.start(cmd); err != nil {
		return nil, err
	}
	health := "http://" + u.Host + "/healthz"
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-s.exited:
			s.cleanup()
			return nil, fmt.Errorf("chatd exited at start; its output: %s", tail(s.log))
		default:
		}
		if resp, err := http.Get(health); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("chatd did not answer %s within 15 s; its output: %s", health, tail(s.log))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startBaseline starts `chatbench baseline-server` and returns it with
// the address it listens on.
func startBaseline(cfg *Config, rate float64) (*server, string, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, "", err
	}
	cmd := pinned(cfg.CPUServer, self, "baseline-server", "-addr", cfg.BaselineAt,
		"-rate", fmt.Sprint(rate), "-size", fmt.Sprint(cfg.Size))
	cmd.Env = append(os.Environ(), "CHATBENCH_PINNED=1", "CHATBENCH_CHILD=")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, "", err
	}
	s := &server{name: "baseline", cleanup: func() {}}
	if err := s.start(cmd); err != nil {
		return nil, "", err
	}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
	}()
	select {
	case line := <-lines:
		addr, ok := strings.CutPrefix(line, "LISTENING ")
		if !ok {
			s.stop()
			return nil, "", fmt.Errorf("baseline server said %q", line)
		}
		return s, addr, nil
	case <-s.exited:
		return nil, "", fmt.Errorf("baseline server exited at start: %s", tail(s.log))
	case <-time.After(10 * time.Second):
		s.stop()
		return nil, "", errors.New("baseline server did not start within 10 s")
	}
}

// start starts cmd with its stderr (and stdout unless piped) in a log
// file.
func (s *server) start(cmd *exec.Cmd) error {
	f, err := os.CreateTemp("", "chatbench-"+s.name+"-*.log")
	if err != nil {
		return err
	}
	s.log = f.Name()
	if cmd.Stdout == nil {
		cmd.Stdout = f
	}
	cmd.Stderr = f
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("start %s: %w", s.name, err)
	}
	s.cmd, s.pid, s.exited = cmd, cmd.Process.Pid, make(chan struct{})
	track(s, true)
	go func() {
		_ = cmd.Wait()
		f.Close()
		close(s.exited)
	}()
	return nil
}

// stop ends the server (SIGTERM, then SIGKILL after 15 s) and cleans up.
func (s *server) stop() {
	if s == nil || s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	s.cleanup()
	_ = os.Remove(s.log)
	track(s, false)
}

// tail returns the last lines of a log file.
func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return strings.TrimSpace(string(b))
}
