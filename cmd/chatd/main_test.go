package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestServeAndDrain runs chatd in process on a free port, logs a session
// in with a dev token, then stops it like SIGTERM does: the session gets
// 4001 and run returns 0.
func TestServeAndDrain(t *testing.T) {
	env := map[string]string{"CHAT_ADDR": "127.0.0.1:0", "CHAT_DRAIN_TIMEOUT": "200ms", "CHAT_LOG_LEVEL": "error"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, w := io.Pipe()
	done := make(chan int, 1)
	go func() { done <- run(ctx, nil, lookup, w, io.Discard); w.Close() }()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "chatd listening on ") {
		t.Fatalf("first line %q: %v", line, err)
	}
	go io.Copy(io.Discard, out)
	addr := strings.Fields(line)[3]

	resp, err := http.Get("http://" + addr + "/dev/token?userID=alice")
	if err != nil {
		t.Fatal(err)
	}
	var tok struct{ UserSig string }
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	c, _, err := websocket.Dial(ctx, "ws://"+addr+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	login, _ := json.Marshal(map[string]any{"id": 1, "op": "login", "data": map[string]any{"userID": "alice", "userSig": tok.UserSig}})
	_ = c.Write(ctx, websocket.MessageText, login)
	if _, p, err := c.Read(ctx); err != nil || !strings.Contains(string(p), `"code":0`) {
		t.Fatalf("login: %s %v", p, err)
	}
	cancel() // as SIGTERM
	readCtx, stop := context.WithTimeout(context.Background(), 5*time.Second)
	defer stop()
	for {
		if _, _, err = c.Read(readCtx); err != nil {
			break
		}
	}
	if code := websocket.CloseStatus(err); code != 4001 {
		t.Errorf("close %d (%v), want 4001", code, err)
	}
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit code %d", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("run did not return")
	}
}
