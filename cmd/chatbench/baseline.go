package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/coder/websocket"
)

// The baseline is the floor cost of the same work: a bare coder/websocket
// server with no protocol and no hub. Every connection has one writer
// goroutine (the handler's) that writes one pre-built frame per tick, and
// the reader coder/websocket's CloseRead starts; a ticker builds the tick's
// frame once (so it carries the send time) and wakes every writer. A
// writer that falls behind skips ticks rather than queueing them.
type broadcaster struct {
	mu    sync.Mutex
	tick  chan struct{} // closed at the next tick
	frame []byte        // the latest tick's frame
}

func newBroadcaster() *broadcaster { return &broadcaster{tick: make(chan struct{})} }

// run ticks rate times a second until ctx ends (never for rate 0: the
// connections stay idle).
func (b *broadcaster) run(ctx context.Context, rate float64, size int) {
	if rate <= 0 {
		return
	}
	t := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer t.Stop()
	var seq uint64
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		seq++
		f := baselineFrame(seq, time.Now().UnixNano(), size)
		b.mu.Lock()
		old := b.tick
		b.tick, b.frame = make(chan struct{}), f
		b.mu.Unlock()
		close(old)
	}
}

// baselineFrame is shaped and sized like chatd's push of one live-room
// text message, so both write the same bytes.
func baselineFrame(seq uint64, ts int64, size int) []byte {
	b := make([]byte, 0, 400+size)
	b = append(b, `{"event":"onMessageReceived","data":[{"ID":"cbbaseline-p0-`...)
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, `-0000","type":"TIMTextElem","payload":{"text":"`...)
	b = appendText(b, ts, size)
	b = append(b, `"},"conversationID":"GROUP@TGS#BASELINE1","conversationType":"GROUP","to":"@TGS#BASELINE1",`+
		`"from":"cbbaseline-p0","flow":"in","time":`...)
	b = strconv.AppendInt(b, ts/1e9, 10)
	b = append(b, `,"sequence":`...)
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, `,"priority":"Normal","nick":"","nameCard":"","cloudCustomData":"","status":"success"}]}`...)
	return b
}

func (b *broadcaster) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	ctx := c.CloseRead(context.Background())
	for {
		b.mu.Lock()
		tick := b.tick
		b.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-tick:
		}
		b.mu.Lock()
		f := b.frame
		b.mu.Unlock()
		// No deadline: the floor pays for no timer. The write fails when
		// the peer goes.
		if err := c.Write(context.Background(), websocket.MessageText, f); err != nil {
			return
		}
	}
}

// baselineMain is `chatbench baseline-server`: it prints "LISTENING addr"
// and serves until SIGTERM or SIGINT.
func baselineMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("chatbench baseline-server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	rate := fs.Float64("rate", 0, "frames per second to every connection (0: idle)")
	size := fs.Int("size", 100, "bytes of message text")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(stderr, "chatbench baseline-server: %v\n", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	b := newBroadcaster()
	go b.run(ctx, *rate, max(*size, minTextSize))
	mux := http.NewServeMux()
	mux.Handle("/ws", b)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	fmt.Fprintf(stdout, "LISTENING %s\n", ln.Addr())
	if f, ok := stdout.(*os.File); ok {
		_ = f.Sync()
	}
	<-ctx.Done()
	_ = hs.Close()
	return 0
}
