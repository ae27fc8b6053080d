package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// A child process is chatbench with CHATBENCH_CHILD set to its Config
// (JSON). It runs one Worker and talks to its parent in lines:
//
//	child → parent (stdout): READY | FAIL <message> | P <Snapshot JSON> | R <Partial JSON>
//	parent → child (stdin):  GO | MARK | STOP
//
// P lines come every half second, for the parent's progress line. A child
// whose stdin closes stops.
const childEnv = "CHATBENCH_CHILD"

func childMain(stdin io.Reader, stdout io.Writer) int {
	var cfg Config
	if err := json.Unmarshal([]byte(os.Getenv(childEnv)), &cfg); err != nil {
		fmt.Fprintf(stdout, "FAIL bad %s: %v\n", childEnv, err)
		return 2
	}
	var mu sync.Mutex
	say := func(kind string, v any) {
		line := kind
		if v != nil {
			b, _ := json.Marshal(v)
			line += " " + string(b)
		}
		mu.Lock()
		fmt.Fprintln(stdout, line)
		mu.Unlock()
	}
	w, err := newWorker(&cfg)
	if err != nil {
		say("FAIL "+oneLine(err), nil)
		return 2
	}
	if cfg.CPUProfile != "" {
		stop, err := startProfile(fmt.Sprintf("%s.%d", cfg.CPUProfile, cfg.ChildIndex))
		if err != nil {
			say("FAIL "+oneLine(err), nil)
			return 2
		}
		defer stop()
	}
	stopProgress := make(chan struct{})
	go func() {
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stopProgress:
				return
			case <-t.C:
				say("P", w.Snapshot())
			}
		}
	}()
	if err := w.Prepare(context.Background()); err != nil {
		close(stopProgress)
		say("FAIL "+oneLine(err), nil)
		w.Stop()
		return 1
	}
	say("READY", nil)
	sc := bufio.NewScanner(stdin)
	for sc.Scan() {
		switch sc.Text() {
		case "GO":
			w.Start()
		case "MARK":
			w.Mark()
		case "STOP":
			close(stopProgress)
			say("R", w.Stop())
			return 0
		}
	}
	close(stopProgress)
	w.Stop()
	return 1
}

func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", "; ") }

// childWorker is the parent's side of a child process.
type childWorker struct {
	cmd   *exec.Cmd
	in    io.WriteCloser
	ready chan error
	res   chan Partial
	gone  chan struct{}

	mu   sync.Mutex
	last Snapshot
}

func startChild(cfg Config) (*childWorker, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), childEnv+"="+string(b), "CHATBENCH_PINNED=1")
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &childWorker{cmd: cmd, in: in, ready: make(chan error, 1), res: make(chan Partial, 1), gone: make(chan struct{}),
		last: Snapshot{Latency: NewHist()}}
	go c.read(out)
	return c, nil
}

func (c *childWorker) read(out io.Reader) {
	defer close(c.gone)
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	for sc.Scan() {
		kind, rest, _ := strings.Cut(sc.Text(), " ")
		switch kind {
		case "READY":
			c.ready <- nil
		case "FAIL":
			c.ready <- errors.New(rest)
		case "P":
			var s Snapshot
			if json.Unmarshal([]byte(rest), &s) == nil {
				c.mu.Lock()
				c.last = s
				c.mu.Unlock()
			}
		case "R":
			var p Partial
			if err := json.Unmarshal([]byte(rest), &p); err == nil {
				c.res <- p
			}
		}
	}
	_ = c.cmd.Wait()
}

func (c *childWorker) tell(cmd string) { _, _ = io.WriteString(c.in, cmd+"\n") }

func (c *childWorker) Prepare(ctx context.Context) error {
	select {
	case err := <-c.ready:
		return err
	case <-c.gone:
		return fmt.Errorf("child process %d exited while setting up", c.cmd.Process.Pid)
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *childWorker) Start() { c.tell("GO") }
func (c *childWorker) Mark()  { c.tell("MARK") }

func (c *childWorker) Stop() Partial {
	c.tell("STOP")
	select {
	case p := <-c.res:
		_ = c.in.Close()
		<-c.gone
		return p
	case <-c.gone:
		c.mu.Lock()
		defer c.mu.Unlock()
		p := Partial{Window: c.last}
		p.Window.Errors = map[string]uint64{"child:exited": 1}
		return p
	}
}

func (c *childWorker) Snapshot() Snapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}

// kill ends a child that is stuck.
func (c *childWorker) kill() {
	_ = c.cmd.Process.Kill()
}
