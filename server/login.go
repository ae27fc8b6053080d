package server

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"time"

	"chatd/groups"
	"chatd/server/auth"
)

// maxFailedLogins is how many failed logins close a session (4500).
const maxFailedLogins = 3

type loginRequest struct {
	UserID  string `json:"userID"`
	UserSig string `json:"userSig"`
}

// loginReply is the reply data of login and refreshToken.
type loginReply struct {
	UserID     string `json:"userID"`
	ExpireTime int64  `json:"expireTime"`
}

func errCode(code int, msg string) error { return &groups.Error{Code: code, Message: msg} }

func decodeData(data json.RawMessage, v any) error {
	if len(data) == 0 || string(data) == "null" {
		return nil
	}
	if err := json.Unmarshal(data, v); err != nil {
		return errCode(groups.CodeInvalidParam, "data: "+err.Error())
	}
	return nil
}

// verify checks a token for userID: 70001 when expired, 70003 otherwise.
func (s *Server) verify(userID, token string) (auth.Claims, error) {
	if !groups.ValidUserID(userID) {
		return auth.Claims{}, errCode(groups.CodeTokenInvalid, "userID: 1..32 bytes of printable ASCII")
	}
	c, err := auth.Verify(s.opts.Secret, token, s.opts.Now())
	switch {
	case errors.Is(err, auth.ErrExpired):
		return c, errCode(groups.CodeTokenExpired, "userSig: token expired")
	case err != nil:
		return c, errCode(groups.CodeTokenInvalid, "userSig: "+err.Error())
	case c.Subject != userID:
		return c, errCode(groups.CodeTokenInvalid, "userSig: token is for another user")
	}
	return c, nil
}

func (sess *session) login(ctx context.Context, data json.RawMessage) (any, error) {
	var r loginRequest
	if err := decodeData(data, &r); err != nil {
		return nil, err
	}
	if sess.caller().UserID != "" {
		return nil, errCode(groups.CodeInvalidParam, "login: this session is logged in already; logout first")
	}
	claims, err := sess.srv.verify(r.UserID, r.UserSig)
	if err != nil {
		sess.loginFailed()
		return nil, err
	}
	if err := sess.start(ctx, r.UserID, claims.Expires); err != nil {
		return nil, err
	}
	sess.srv.enforceSessionCap(r.UserID)
	if room := sess.liveRoom(); room != "" {
		sess.viewerLoggedIn(ctx, room)
	}
	return loginReply{UserID: r.UserID, ExpireTime: claims.Expires.Unix()}, nil
}

// viewerLoggedIn turns the session's anonymous viewing of a live room into
// its user's membership (SPEC.md §5). A failure is logged; the session
// stays a viewer.
func (sess *session) viewerLoggedIn(ctx context.Context, room string) {
	out, err := sess.srv.svc.ViewerLoggedIn(ctx, sess.caller(), room)
	if err != nil {
		sess.srv.log.Warn("failed to turn a viewer into a live member", "conn_id", sess.hs.ID(), "group_id", room, "err", err)
		return
	}
	sess.srv.apply(sess, out.Events)
}

// loginFailed counts a failed login; the third closes the session with
// 4500 once the reply is out.
func (sess *session) loginFailed() {
	sess.mu.Lock()
	sess.failed++
	n := sess.failed
	sess.mu.Unlock()
	if n >= maxFailedLogins {
		sess.closeAfterReply = closeBadLogins
	}
}

// start makes the session the user's: indexed under the user, listening to
// the user's groups, with the token's expiry armed. The session is indexed
// before the groups are read, so a join that lands meanwhile reaches it.
func (sess *session) start(ctx context.Context, userID string, exp time.Time) error {
	sess.srv.hub.SetUser(sess.hs, userID)
	subs, err := sess.srv.svc.Subscriptions(ctx, userID)
	if err != nil {
		sess.srv.hub.SetUser(sess.hs, "")
		return err
	}
	for _, sub := range subs {
		sess.srv.hub.Subscribe(sess.hs, sub.GroupID, false)
		if sub.Discard {
			sess.srv.hub.SetDiscard(userID, sub.GroupID, true)
		}
	}
	sess.mu.Lock()
	sess.user = userID
	sess.failed = 0
	stopTimer(sess.loginTimer)
	sess.mu.Unlock()
	sess.armExpiry(exp)
	sess.srv.metrics.loggedIn.Inc()
	if err := sess.srv.svc.UserUp(ctx, sess.caller()); err != nil {
		sess.srv.log.Warn("failed to record the session in presence", "user_id", userID, "err", err)
	}
	return nil
}

// armExpiry kicks the session (4501) when exp plus the grace passes
// without a refresh.
func (sess *session) armExpiry(exp time.Time) {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	stopTimer(sess.expiryTimer)
	sess.expires = exp
	wait := exp.Add(sess.srv.opts.TokenGrace).Sub(sess.srv.opts.Now())
	sess.expiryTimer = time.AfterFunc(wait, func() {
		sess.mu.Lock()
		expired := sess.user != "" && sess.expires.Equal(exp)
		sess.mu.Unlock()
		if expired {
			sess.kick("userSigExpired", closeTokenExpired, "token expired")
		}
	})
}

// kick pushes kickedOut and closes the session with code.
func (sess *session) kick(reason string, code int, msg string) {
	sess.send(encodePush("kickedOut", map[string]string{"type": reason}))
	sess.closeWith(code, msg)
}

// enforceSessionCap kicks the user's oldest sessions (4503) over the cap.
func (s *Server) enforceSessionCap(userID string) {
	limit := s.opts.MaxSessionsPerUser
	if limit <= 0 {
		return
	}
	list := s.hub.UserSessions(userID)
	if len(list) <= limit {
		return
	}
	sort.Slice(list, func(i, j int) bool { return list[i].ID() < list[j].ID() })
	for _, hs := range list[:len(list)-limit] {
		s.mu.Lock()
		sess := s.sessions[hs.ID()]
		s.mu.Unlock()
		if sess != nil {
			sess.kick("multipleAccount", closeKicked, "another login took over")
		}
	}
}

func (sess *session) logout() (any, error) {
	sess.mu.Lock()
	user := sess.user
	sess.user = ""
	stopTimer(sess.expiryTimer)
	sess.mu.Unlock()
	if user == "" {
		return nil, errCode(groups.CodeNotLoggedIn, "logout: not logged in")
	}
	if room := sess.liveRoom(); room != "" {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		err := sess.srv.svc.MemberLoggedOut(ctx, groups.Caller{UserID: user, SessionID: sess.hs.ID()}, room)
		cancel()
		if err != nil {
			sess.srv.log.Warn("failed to keep a logged-out member as a viewer", "conn_id", sess.hs.ID(), "err", err)
		}
	}
	sess.srv.hub.SetUser(sess.hs, "")
	sess.srv.metrics.loggedIn.Dec()
	sess.srv.userDown(groups.Caller{UserID: user, SessionID: sess.hs.ID()})
	if sess.liveRoom() == "" {
		sess.armLoginTimer()
	}
	return map[string]string{"userID": user}, nil
}

func (sess *session) refresh(data json.RawMessage) (any, error) {
	var r loginRequest
	if err := decodeData(data, &r); err != nil {
		return nil, err
	}
	user := sess.caller().UserID
	if user == "" {
		return nil, errCode(groups.CodeNotLoggedIn, "refreshToken: not logged in")
	}
	claims, err := sess.srv.verify(user, r.UserSig)
	if err != nil {
		return nil, err
	}
	sess.armExpiry(claims.Expires)
	return loginReply{UserID: user, ExpireTime: claims.Expires.Unix()}, nil
}

// userDown removes a logged-out or closed session from presence.
func (s *Server) userDown(c groups.Caller) {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	if err := s.svc.UserDown(ctx, c); err != nil {
		s.log.Warn("failed to remove the session from presence", "user_id", c.UserID, "err", err)
	}
}
