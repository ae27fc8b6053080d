package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"chatd/groups"
	"chatd/hub"
	"chatd/presence"
	"chatd/server/auth"
)

var testSecret = []byte("test-secret-0123456789")

// testEnv is a real chatd handler on an httptest server.
type testEnv struct {
	t   *testing.T
	srv *Server
	hub *hub.Hub
	hts *httptest.Server
	url string
}

type envOption func(*Options, *hub.Options)

func newEnv(t *testing.T, store groups.Store, opts ...envOption) *testEnv {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	o := Options{Secret: testSecret, DevMode: true, NodeID: "test", Registry: prometheus.NewRegistry(), Logger: quiet}
	ho := hub.Options{Logger: quiet}
	for _, f := range opts {
		f(&o, &ho)
	}
	h := hub.New(ho)
	pres := presence.NewMemory(presence.Options{})
	svc := groups.NewService(store, groups.Options{AppAdmins: []string{"administrator"}, Presence: pres, NodeID: o.NodeID, Logger: quiet})
	srv := New(o, svc, h)
	svc.OnEvents(srv.ApplyEvents)
	hts := httptest.NewServer(srv)
	e := &testEnv{t: t, srv: srv, hub: h, hts: hts, url: "ws" + strings.TrimPrefix(hts.URL, "http") + "/ws"}
	t.Cleanup(func() {
		h.Close()
		hts.Close()
		svc.Close()
		pres.Close()
	})
	return e
}

// token signs a login token for user valid for ttl.
func token(t *testing.T, user string, ttl time.Duration) string {
	tok, err := auth.Sign(testSecret, user, ttl, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// frame is a received server frame: a reply (ID set) or a push (Event set).
type frame struct {
	ID      json.RawMessage `json:"id"`
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data"`
	Event   string          `json:"event"`
}

// client is a real WebSocket client that sorts frames into replies and
// pushes.
type client struct {
	t       *testing.T
	name    string
	c       *websocket.Conn
	replies chan frame
	pushes  chan frame
	closed  chan struct{}
	status  atomic.Int32 // the close code the server sent
	nextID  atomic.Int64

	// Used only by the test goroutine: messages and other pushes read
	// from the stream but not yet consumed.
	msgBuf   []groups.Message
	eventBuf []frame
}

func (e *testEnv) dial(name string) *client {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, e.url, nil)
	if err != nil {
		e.t.Fatalf("dial: %v", err)
	}
	c.SetReadLimit(1 << 20)
	cl := &client{t: e.t, name: name, c: c, replies: make(chan frame, 1000), pushes: make(chan frame, 10000), closed: make(chan struct{})}
	go cl.readLoop()
	e.t.Cleanup(func() { _ = c.CloseNow(); <-cl.closed })
	return cl
}

func (cl *client) readLoop() {
	defer close(cl.closed)
	for {
		_, p, err := cl.c.Read(context.Background())
		if err != nil {
			cl.status.Store(int32(websocket.CloseStatus(err)))
			return
		}
		var f frame
		if err := json.Unmarshal(p, &f); err != nil {
			cl.t.Errorf("%s: server sent invalid JSON %q", cl.name, p)
			continue
		}
		if f.Event != "" {
			cl.pushes <- f
		} else {
			cl.replies <- f
		}
	}
}

// login logs the client in as user with a fresh token.
func (e *testEnv) login(name string) *client {
	e.t.Helper()
	cl := e.dial(name)
	cl.mustOK("login", map[string]any{"userID": name, "userSig": token(e.t, name, time.Hour)})
	return cl
}

// raw sends a text frame as is.
func (cl *client) raw(s string) {
	cl.t.Helper()
	if err := cl.c.Write(context.Background(), websocket.MessageText, []byte(s)); err != nil {
		cl.t.Fatalf("%s: write: %v", cl.name, err)
	}
}

// call sends a request and waits for its reply.
func (cl *client) call(op string, data any) frame {
	cl.t.Helper()
	id := cl.nextID.Add(1)
	b, _ := json.Marshal(map[string]any{"id": id, "op": op, "data": data})
	cl.raw(string(b))
	f := cl.reply()
	if string(f.ID) != fmt.Sprint(id) {
		cl.t.Fatalf("%s: reply id %s, want %d", cl.name, f.ID, id)
	}
	return f
}

func (cl *client) reply() frame {
	cl.t.Helper()
	select {
	case f := <-cl.replies:
		return f
	case <-time.After(5 * time.Second):
		cl.t.Fatalf("%s: no reply", cl.name)
	}
	return frame{}
}

// mustOK calls op and fails unless it succeeds; it decodes data into out
// (if given) and returns the raw data.
func (cl *client) mustOK(op string, data any, out ...any) json.RawMessage {
	cl.t.Helper()
	f := cl.call(op, data)
	if f.Code != 0 {
		cl.t.Fatalf("%s: %s: code %d %s", cl.name, op, f.Code, f.Message)
	}
	for _, o := range out {
		if err := json.Unmarshal(f.Data, o); err != nil {
			cl.t.Fatalf("%s: %s reply %s: %v", cl.name, op, f.Data, err)
		}
	}
	return f.Data
}

// wantCode calls op and checks the reply code.
func (cl *client) wantCode(code int, op string, data any) frame {
	cl.t.Helper()
	f := cl.call(op, data)
	if f.Code != code {
		cl.t.Errorf("%s: %s %v: code %d (%s), want %d", cl.name, op, data, f.Code, f.Message, code)
	}
	if code != 0 && f.Message == "" {
		cl.t.Errorf("%s: %s: error reply without a message", cl.name, op)
	}
	return f
}

// pull reads one more push from the stream into the buffers.
func (cl *client) pull(deadline <-chan time.Time) bool {
	select {
	case f := <-cl.pushes:
		if f.Event != "onMessageReceived" {
			cl.eventBuf = append(cl.eventBuf, f)
			return true
		}
		var ms []groups.Message
		if err := json.Unmarshal(f.Data, &ms); err != nil {
			cl.t.Fatalf("%s: onMessageReceived data %s: %v", cl.name, f.Data, err)
		}
		cl.msgBuf = append(cl.msgBuf, ms...)
		return true
	case <-deadline:
		return false
	}
}

// messages waits for the next n messages of onMessageReceived pushes
// (several may come in one push) and returns them.
func (cl *client) messages(n int) []groups.Message {
	cl.t.Helper()
	deadline := time.After(5 * time.Second)
	for len(cl.msgBuf) < n {
		if !cl.pull(deadline) {
			cl.t.Fatalf("%s: got %d messages, want %d", cl.name, len(cl.msgBuf), n)
		}
	}
	out := cl.msgBuf[:n:n]
	cl.msgBuf = cl.msgBuf[n:]
	return out
}

// push waits for the next push of event (other than onMessageReceived).
func (cl *client) push(event string) frame {
	cl.t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		for i, f := range cl.eventBuf {
			if f.Event == event {
				cl.eventBuf = append(cl.eventBuf[:i:i], cl.eventBuf[i+1:]...)
				return f
			}
		}
		if !cl.pull(deadline) {
			cl.t.Fatalf("%s: no %s push", cl.name, event)
		}
	}
}

// quiet checks that no push arrives within a short while. It syncs on a
// ping round trip first, so pushes already queued for it are seen.
func (cl *client) quiet() {
	cl.t.Helper()
	cl.mustOK("ping", nil)
	for cl.pull(time.After(50 * time.Millisecond)) {
	}
	if len(cl.msgBuf)+len(cl.eventBuf) > 0 {
		cl.t.Errorf("%s: unexpected pushes: %+v %+v", cl.name, cl.msgBuf, cl.eventBuf)
		cl.msgBuf, cl.eventBuf = nil, nil
	}
}

// waitClosed waits until the server closes the connection and returns the
// close code.
func (cl *client) waitClosed(within time.Duration) int {
	cl.t.Helper()
	select {
	case <-cl.closed:
		return int(cl.status.Load())
	case <-time.After(within):
		cl.t.Fatalf("%s: not closed within %v", cl.name, within)
	}
	return 0
}

// notice waits for one group system notice, which comes twice (PROTOCOL.md):
// as the next message of onMessageReceived and as receiveGroupSystemNotice.
// It checks both copies agree and returns the notice type and message.
func (cl *client) notice() (int, groups.Message) {
	cl.t.Helper()
	m := cl.messages(1)[0]
	if m.Type != groups.SystemNoticeElem {
		cl.t.Fatalf("%s: expected a system notice, got %+v", cl.name, m)
	}
	f := cl.push("receiveGroupSystemNotice")
	var d struct {
		Type    int            `json:"type"`
		Message groups.Message `json:"message"`
	}
	if err := json.Unmarshal(f.Data, &d); err != nil {
		cl.t.Fatalf("%s: receiveGroupSystemNotice %s: %v", cl.name, f.Data, err)
	}
	if m.ID != d.Message.ID || d.Message.NoticeType() != d.Type || d.Message.ConversationID != groups.ConvSystem {
		cl.t.Errorf("%s: notice copies differ: %+v / %+v (type %d)", cl.name, m, d.Message, d.Type)
	}
	return d.Type, d.Message
}
