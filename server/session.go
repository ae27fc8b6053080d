package server

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/coder/websocket"

	"chatd/groups"
	"chatd/hub"
)

// Close codes of PROTOCOL.md.
const (
	closeGoingAway    = 1001
	closeDraining     = 4001
	closeSlowConsumer = 4008
	closePongTimeout  = 4012
	closeRateLimited  = 4029
	closeBadLogins    = 4500
	closeTokenExpired = 4501
	closeNoLogin      = 4502
	closeKicked       = 4503
	closeBadFrames    = 4509
)

// session is the server side of one WebSocket: its login state and
// timers. The read loop (run) executes the session's requests one at a
// time in arrival order; timers fire on their own goroutines.
type session struct {
	srv *Server
	ws  *websocket.Conn
	hs  *hub.Session

	mu          sync.Mutex // mu guards every field below
	user        string
	expires     time.Time
	loginTimer  *time.Timer
	expiryTimer *time.Timer
	failed      int
	bad         []time.Time // times of recent bad frames, oldest first
	live        string      // the live room this session is in ("" = none)

	// closeAfterReply, when set by a request, closes the session with that
	// code once the request's reply is queued. Only the read loop uses it.
	closeAfterReply int
	// limit is the session's request rate limit (nil = none); read loop only.
	limit *bucket
}

func (s *Server) newSession(c *websocket.Conn, cork *corkConn) *session {
	sess := &session{srv: s, ws: c}
	if s.opts.RateLimit > 0 {
		sess.limit = newBucket(s.opts.RateLimit, max(s.opts.RateBurst, 1), time.Now())
	}
	sess.hs = s.hub.Register(&wsConn{c: c, cork: cork})
	s.metrics.connections.Inc()
	s.mu.Lock()
	s.sessions[sess.hs.ID()] = sess
	s.mu.Unlock()
	sess.armLoginTimer()
	return sess
}

// run is the read loop: it reads frames until the connection ends, then
// unregisters the session.
func (sess *session) run(ctx context.Context) {
	defer sess.end()
	for {
		typ, p, err := sess.ws.Read(ctx)
		if err != nil {
			sess.readFailed(err)
			return
		}
		if typ != websocket.MessageText {
			sess.badFrame(nullID, groups.CodeInvalidParam, "binary frames are not accepted; send JSON text frames")
			continue
		}
		sess.handle(ctx, p)
	}
}

// readFailed closes the session after a read error: a frame over the limit
// gets 1009 (coder/websocket has sent it), anything else just ends.
func (sess *session) readFailed(err error) {
	if websocket.CloseStatus(err) == -1 && !errors.Is(err, context.Canceled) {
		sess.srv.log.Debug("session read ended", "conn_id", sess.hs.ID(), "err", err)
	}
}

// end releases everything the session holds once its socket is gone.
func (sess *session) end() {
	c := sess.caller()
	sess.mu.Lock()
	stopTimer(sess.loginTimer)
	stopTimer(sess.expiryTimer)
	wasUser := sess.user != ""
	live := sess.live
	sess.user, sess.live = "", ""
	sess.mu.Unlock()
	if live != "" {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		if err := sess.srv.svc.SessionClosed(ctx, c); err != nil {
			sess.srv.log.Warn("failed to release a closed session's live room", "conn_id", c.SessionID, "err", err)
		}
		cancel()
	}
	if wasUser {
		sess.srv.metrics.loggedIn.Dec()
		sess.srv.userDown(c)
	}
	sess.srv.hub.Unregister(sess.hs)
	<-sess.hs.Done()
	sess.srv.metrics.connections.Dec()
	if code := sess.hs.CloseCode(); code != 0 {
		sess.srv.metrics.closes.WithLabelValues(strconv.Itoa(code)).Inc()
	}
	sess.srv.mu.Lock()
	delete(sess.srv.sessions, sess.hs.ID())
	sess.srv.mu.Unlock()
	_ = sess.ws.CloseNow()
}

func stopTimer(t *time.Timer) {
	if t != nil {
		t.Stop()
	}
}

// closeWith closes the session gracefully: queued frames first, then the
// close code.
func (sess *session) closeWith(code int, reason string) {
	sess.hs.Close(code, reason)
}

// setLive records the session joining (on) or leaving a live room and
// subscribes it; leaving the room may leave it idle (the login deadline
// restarts).
func (sess *session) setLive(on bool, room string) {
	sess.mu.Lock()
	if on {
		sess.live = room
	} else if sess.live == room {
		sess.live = ""
	}
	idle := sess.user == "" && sess.live == ""
	sess.mu.Unlock()
	if on {
		sess.srv.hub.Subscribe(sess.hs, room, true)
	} else {
		sess.srv.hub.Unsubscribe(sess.hs, room)
	}
	if idle {
		sess.armLoginTimer()
	}
}

// liveRoom returns the live room the session is in ("" = none).
func (sess *session) liveRoom() string {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	return sess.live
}

// caller is who the session's requests act as.
func (sess *session) caller() groups.Caller {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	return groups.Caller{UserID: sess.user, SessionID: sess.hs.ID()}
}

// armLoginTimer closes the session with 4502 unless it logs in (or joins a
// live room) within the login timeout.
func (sess *session) armLoginTimer() {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	stopTimer(sess.loginTimer)
	sess.loginTimer = time.AfterFunc(sess.srv.opts.LoginTimeout, func() {
		sess.mu.Lock()
		idle := sess.user == "" && sess.live == ""
		sess.mu.Unlock()
		if idle {
			sess.closeWith(closeNoLogin, "no login within the login timeout")
		}
	})
}

// badFrame replies to a bad frame and closes the session with 4509 when
// there were too many within the window.
func (sess *session) badFrame(id []byte, code int, msg string) {
	sess.send(encodeReply(id, code, msg, nil))
	now := time.Now()
	o := sess.srv.opts
	sess.mu.Lock()
	cut := now.Add(-o.BadFrameWindow)
	for len(sess.bad) > 0 && sess.bad[0].Before(cut) {
		sess.bad = sess.bad[1:]
	}
	sess.bad = append(sess.bad, now)
	over := len(sess.bad) >= o.BadFrameLimit
	sess.mu.Unlock()
	if over {
		sess.closeWith(closeBadFrames, "too many bad frames")
	}
}

func (sess *session) send(frame []byte) { sess.hs.Send(frame) }
