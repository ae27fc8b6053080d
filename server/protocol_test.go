package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"chatd/groups"
	"chatd/hub"
	"chatd/server/auth"
)

func TestDecodeRequest(t *testing.T) {
	tests := []struct {
		name  string
		frame string
		code  int
		id    string
		op    string
	}{
		{"ok", `{"id":7,"op":"ping"}`, 0, "7", "ping"},
		{"string id", `{"id":"a-1","op":"ping","data":{}}`, 0, `"a-1"`, "ping"},
		{"null data", `{"id":1,"op":"ping","data":null}`, 0, "1", "ping"},
		{"not JSON", `{"id":1,`, groups.CodeInvalidJSON, "null", ""},
		{"garbage", `hello`, groups.CodeInvalidJSON, "null", ""},
		{"array", `[1,2]`, groups.CodeInvalidParam, "null", ""},
		{"JSON null", `null`, groups.CodeInvalidParam, "null", ""},
		{"no id", `{"op":"ping"}`, groups.CodeInvalidParam, "null", ""},
		{"object id", `{"id":{},"op":"ping"}`, groups.CodeInvalidParam, "null", ""},
		{"bool id", `{"id":true,"op":"ping"}`, groups.CodeInvalidParam, "null", ""},
		{"long id", `{"id":"` + strings.Repeat("x", 65) + `","op":"ping"}`, groups.CodeInvalidParam, "null", ""},
		{"no op", `{"id":3}`, groups.CodeInvalidParam, "3", ""},
		{"op not a string", `{"id":3,"op":5}`, groups.CodeInvalidParam, "3", ""},
		{"data an array", `{"id":3,"op":"ping","data":[1]}`, groups.CodeInvalidParam, "3", ""},
		{"data a string", `{"id":3,"op":"ping","data":"x"}`, groups.CodeInvalidParam, "3", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := decodeRequest([]byte(tt.frame))
			if tt.code == 0 {
				if err != nil || string(r.ID) != tt.id || r.Op != tt.op {
					t.Fatalf("decode %s: %+v %v", tt.frame, r, err)
				}
				return
			}
			fe, ok := err.(*frameError)
			if !ok || fe.code != tt.code || string(fe.id) != tt.id || fe.msg == "" {
				t.Fatalf("decode %s: %v, want code %d id %s", tt.frame, err, tt.code, tt.id)
			}
		})
	}
}

func TestBadFramesOverTheWire(t *testing.T) {
	e := newEnv(t, groups.NewMemoryStore())
	cl := e.dial("c")
	for _, tt := range []struct {
		frame string
		code  int
		id    string
	}{
		{`{"id":1,`, groups.CodeInvalidJSON, "null"},
		{`{"id":2}`, groups.CodeInvalidParam, "2"},
		{`{"id":"x","op":"fly"}`, groups.CodeUnknownOp, `"x"`},
		{`{"id":4,"op":"createGroup","data":{"name":"g"}}`, groups.CodeNotLoggedIn, "4"},
	} {
		cl.raw(tt.frame)
		f := cl.reply()
		if f.Code != tt.code || string(f.ID) != tt.id || f.Message == "" {
			t.Errorf("%s: reply %+v, want code %d id %s", tt.frame, f, tt.code, tt.id)
		}
	}
	if err := cl.c.Write(context.Background(), websocket.MessageBinary, []byte("bin")); err != nil {
		t.Fatal(err)
	}
	if f := cl.reply(); f.Code != groups.CodeInvalidParam || string(f.ID) != "null" {
		t.Errorf("binary frame: %+v", f)
	}
	cl.mustOK("ping", nil) // the session survives
}

func TestLogin(t *testing.T) {
	e := newEnv(t, groups.NewMemoryStore())
	other, _ := auth.Sign([]byte("another-secret-0123456"), "alice", time.Hour, time.Now())
	expired, _ := auth.Sign(testSecret, "alice", time.Second, time.Now().Add(-time.Hour))
	tests := []struct {
		name string
		data any
		code int
	}{
		{"wrong secret", map[string]any{"userID": "alice", "userSig": other}, groups.CodeTokenInvalid},
		{"expired", map[string]any{"userID": "alice", "userSig": expired}, groups.CodeTokenExpired},
		{"other user", map[string]any{"userID": "bob", "userSig": token(t, "alice", time.Hour)}, groups.CodeTokenInvalid},
		{"bad userID", map[string]any{"userID": "a b", "userSig": token(t, "a b", time.Hour)}, groups.CodeTokenInvalid},
		{"garbage token", map[string]any{"userID": "alice", "userSig": "x.y.z"}, groups.CodeTokenInvalid},
		{"data wrong shape", map[string]any{"userID": 5}, groups.CodeInvalidParam},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cl := e.dial("c")
			cl.wantCode(tt.code, "login", tt.data)
			cl.mustOK("ping", nil)
		})
	}
	t.Run("success, twice, logout, again", func(t *testing.T) {
		cl := e.dial("c")
		var r loginReply
		cl.mustOK("login", map[string]any{"userID": "alice", "userSig": token(t, "alice", time.Hour)}, &r)
		if r.UserID != "alice" || r.ExpireTime < time.Now().Unix() {
			t.Errorf("login reply %+v", r)
		}
		cl.wantCode(groups.CodeInvalidParam, "login", map[string]any{"userID": "alice", "userSig": token(t, "alice", time.Hour)})
		cl.mustOK("logout", nil)
		cl.wantCode(groups.CodeNotLoggedIn, "getGroupList", nil)
		cl.mustOK("login", map[string]any{"userID": "bob", "userSig": token(t, "bob", time.Hour)})
		cl.wantCode(groups.CodeTokenInvalid, "refreshToken", map[string]any{"userSig": token(t, "alice", time.Hour)})
		cl.mustOK("refreshToken", map[string]any{"userSig": token(t, "bob", 2*time.Hour)}, &r)
		if r.ExpireTime < time.Now().Add(time.Hour).Unix() {
			t.Errorf("refresh reply %+v", r)
		}
	})
}

func TestCloseCodes(t *testing.T) {
	short := func(o *Options, _ *hub.Options) {
		o.LoginTimeout = 150 * time.Millisecond
		o.TokenGrace = 100 * time.Millisecond
		o.BadFrameLimit = 5
		o.MaxSessionsPerUser = 2
		o.MaxFrameBytes = 1024
	}
	e := newEnv(t, groups.NewMemoryStore(), short)
	t.Run("4500 three failed logins", func(t *testing.T) {
		cl := e.dial("c")
		for i := 0; i < 3; i++ {
			cl.wantCode(groups.CodeTokenInvalid, "login", map[string]any{"userID": "alice", "userSig": "bad"})
		}
		if code := cl.waitClosed(2 * time.Second); code != closeBadLogins {
			t.Errorf("close %d, want 4500", code)
		}
	})
	t.Run("4502 no login", func(t *testing.T) {
		if code := e.dial("c").waitClosed(2 * time.Second); code != closeNoLogin {
			t.Errorf("close %d, want 4502", code)
		}
	})
	t.Run("4501 token expired", func(t *testing.T) {
		cl := e.dial("c")
		cl.mustOK("login", map[string]any{"userID": "alice", "userSig": token(t, "alice", 1500*time.Millisecond)})
		f := cl.push("kickedOut")
		if !strings.Contains(string(f.Data), "userSigExpired") {
			t.Errorf("kickedOut %s", f.Data)
		}
		if code := cl.waitClosed(3 * time.Second); code != closeTokenExpired {
			t.Errorf("close %d, want 4501", code)
		}
	})
	t.Run("4509 bad frames", func(t *testing.T) {
		cl := e.login("u4509")
		for i := 0; i < 5; i++ {
			cl.raw("nope")
		}
		if code := cl.waitClosed(2 * time.Second); code != closeBadFrames {
			t.Errorf("close %d, want 4509", code)
		}
	})
	t.Run("1009 frame too large", func(t *testing.T) {
		cl := e.dial("c")
		_ = cl.c.Write(context.Background(), websocket.MessageText, []byte(`{"id":1,"op":"ping","data":{"x":"`+strings.Repeat("x", 2000)+`"}}`))
		if code := cl.waitClosed(2 * time.Second); code != int(websocket.StatusMessageTooBig) {
			t.Errorf("close %d, want 1009", code)
		}
	})
	t.Run("4503 over the session cap", func(t *testing.T) {
		first := e.login("capped")
		e.login("capped")
		third := e.login("capped")
		if f := first.push("kickedOut"); !strings.Contains(string(f.Data), "multipleAccount") {
			t.Errorf("kickedOut %s", f.Data)
		}
		if code := first.waitClosed(2 * time.Second); code != closeKicked {
			t.Errorf("close %d, want 4503", code)
		}
		third.mustOK("ping", nil)
	})
}

func TestRateLimit(t *testing.T) {
	e := newEnv(t, groups.NewMemoryStore(), func(o *Options, _ *hub.Options) { o.RateLimit, o.RateBurst = 5, 5 })
	abuser := e.login("abuser")
	polite := e.login("polite")
	got := map[int]int{}
	for i := 0; i < 30; i++ {
		got[abuser.call("ping", nil).Code]++
	}
	if got[groups.CodeTooManyRequests] == 0 || got[0] == 0 {
		t.Errorf("replies by code %v, want some 0 and some 10006", got)
	}
	polite.mustOK("ping", nil) // another session is not affected
	// Keep going without backing off: the session is closed with 4029.
	for i := 0; i < abuseLimit+10; i++ {
		b, _ := json.Marshal(map[string]any{"id": i, "op": "ping"})
		if err := abuser.c.Write(context.Background(), websocket.MessageText, b); err != nil {
			break
		}
	}
	if code := abuser.waitClosed(3 * time.Second); code != closeRateLimited {
		t.Errorf("close %d, want 4029", code)
	}
	polite.mustOK("ping", nil)
}

func TestSlowReaderIsCutOff(t *testing.T) {
	e := newEnv(t, groups.NewMemoryStore(), func(o *Options, h *hub.Options) { h.QueueSize = 256 })
	alice := e.login("alice")
	bob := e.login("bob")
	var created groupReply
	alice.mustOK("createGroup", map[string]any{"name": "g", "type": "Public"}, &created)
	gid := created.Group.GroupID
	bob.mustOK("joinGroup", map[string]any{"groupID": gid})
	bob.messages(1) // the join tip
	bob2 := e.login("bob")
	stalled := e.stalled("bob") // a third session of bob that never reads
	const n = 2000
	big := strings.Repeat("x", 8000)
	for i := 0; i < n; i++ {
		alice.mustOK("sendMessage", map[string]any{"to": gid, "type": "TIMTextElem", "payload": map[string]any{"text": big}})
	}
	deadline := time.Now().Add(5 * time.Second)
	for testutil.ToFloat64(e.srv.metrics.closes.WithLabelValues("4008")) < 1 {
		if time.Now().After(deadline) {
			t.Fatal("the stalled session was not closed with 4008")
		}
		time.Sleep(10 * time.Millisecond)
	}
	_ = stalled
	for _, cl := range []*client{bob, bob2} {
		msgs := cl.messages(n)
		for i, m := range msgs {
			if m.Sequence != uint64(i+2) {
				t.Fatalf("%s: message %d has sequence %d", cl.name, i, m.Sequence)
			}
		}
	}
}

// stalled logs in a session of user that then never reads.
func (e *testEnv) stalled(user string) *websocket.Conn {
	e.t.Helper()
	ctx := context.Background()
	c, _, err := websocket.Dial(ctx, e.url, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = c.CloseNow() })
	b, _ := json.Marshal(map[string]any{"id": 1, "op": "login", "data": map[string]any{"userID": user, "userSig": token(e.t, user, time.Hour)}})
	if err := c.Write(ctx, websocket.MessageText, b); err != nil {
		e.t.Fatal(err)
	}
	if _, _, err := c.Read(ctx); err != nil {
		e.t.Fatal(err)
	}
	return c
}

func TestHTTPEndpoints(t *testing.T) {
	e := newEnv(t, groups.NewMemoryStore())
	get := func(path string, hdr ...string) (int, string) {
		req, _ := http.NewRequest("GET", e.hts.URL+path, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Errorf("/healthz %d", code)
	}
	if code, _ := get("/readyz"); code != 200 {
		t.Errorf("/readyz %d", code)
	}
	e.login("alice").mustOK("ping", nil)
	if code, body := get("/metrics"); code != 200 || !strings.Contains(body, `chat_server_requests_total{code="0",op="ping"}`) {
		t.Errorf("/metrics %d %.300s", code, body)
	}
	code, body := get("/dev/token?userID=alice")
	var tok struct{ UserID, UserSig string }
	_ = json.Unmarshal([]byte(body), &tok)
	if code != 200 || tok.UserID != "alice" {
		t.Errorf("/dev/token %d %s", code, body)
	}
	if _, err := auth.Verify(testSecret, tok.UserSig, time.Now()); err != nil {
		t.Errorf("dev token does not verify: %v", err)
	}
	if code, _ := get("/dev/token?userID=a%20b"); code != 400 {
		t.Errorf("/dev/token with a bad userID: %d", code)
	}
	if code, _ := get("/ws", "Connection", "Upgrade", "Upgrade", "websocket", "Sec-WebSocket-Version", "13",
		"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==", "Origin", "http://evil.example"); code != http.StatusForbidden {
		t.Errorf("cross-origin upgrade: %d, want 403", code)
	}
	e.srv.draining.Store(true)
	if code, _ := get("/readyz"); code != 503 {
		t.Errorf("/readyz while draining %d", code)
	}
}
