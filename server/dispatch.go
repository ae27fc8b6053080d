package server

import (
	"context"
	"errors"
	"time"

	"chatd/groups"
	"chatd/hub"
)

// opTimeout bounds one request's store work, so a wedged store cannot
// wedge a session forever.
const opTimeout = 15 * time.Second

// handle executes one text frame and replies.
func (sess *session) handle(ctx context.Context, p []byte) {
	req, err := decodeRequest(p)
	if err != nil {
		var fe *frameError
		errors.As(err, &fe)
		sess.badFrame(fe.id, fe.code, fe.msg)
		return
	}
	start := time.Now()
	if ok, abusive := sess.limit.allow(start); !ok {
		sess.srv.metrics.request(req.Op, groups.CodeTooManyRequests, 0)
		sess.send(encodeReply(req.ID, groups.CodeTooManyRequests, "too many requests from this connection; slow down", nil))
		if abusive {
			sess.closeWith(closeRateLimited, "too many requests, sustained")
		}
		return
	}
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	data, events, err := sess.execute(ctx, req)
	code, msg := sess.srv.errorReply(req.Op, err)
	sess.srv.metrics.request(req.Op, code, time.Since(start).Seconds())
	// Events first: once a client has the reply, every push the request
	// caused is queued (to its own sessions too), so its next request
	// cannot overtake them.
	sess.srv.apply(sess, events)
	if countsAsBad(code) {
		sess.badFrame(req.ID, code, msg)
	} else {
		sess.send(encodeReply(req.ID, code, msg, data))
	}
	if code := sess.closeAfterReply; code != 0 {
		sess.closeWith(code, "too many failed logins")
	}
}

// countsAsBad reports whether a reply code counts towards the bad-frame
// limit (PROTOCOL.md 4509: replies with 10003, 10004 or 10011).
func countsAsBad(code int) bool {
	return code == groups.CodeUnknownOp || code == groups.CodeInvalidParam || code == groups.CodeInvalidJSON
}

// execute runs a request: the session ops here, every other op in groups.
func (sess *session) execute(ctx context.Context, req *request) (any, []groups.Event, error) {
	switch req.Op {
	case "login":
		d, err := sess.login(ctx, req.Data)
		return d, nil, err
	case "logout":
		d, err := sess.logout()
		return d, nil, err
	case "refreshToken":
		d, err := sess.refresh(req.Data)
		return d, nil, err
	case "ping":
		return map[string]int64{"time": sess.srv.opts.Now().Unix()}, nil, nil
	}
	out, err := sess.srv.svc.Do(ctx, sess.caller(), req.Op, req.Data)
	return out.Reply, out.Events, err
}

// errorReply maps an error to its reply code and message. Anything that is
// not a domain error is logged and answered 10002.
func (s *Server) errorReply(op string, err error) (int, string) {
	if err == nil {
		return 0, ""
	}
	var de *groups.Error
	if errors.As(err, &de) {
		return de.Code, de.Message
	}
	var fe *frameError
	if errors.As(err, &fe) {
		return fe.code, fe.msg
	}
	s.log.Error("request failed", "op", opLabel(op), "err", err, "node_id", s.opts.NodeID)
	return groups.CodeInternal, "internal error, retry"
}

// apply carries out a groups operation's events on the hub, in order.
// from is the session whose request caused them (nil for events that
// arise outside a request).
func (s *Server) apply(from *session, events []groups.Event) {
	var hs *hub.Session
	if from != nil {
		hs = from.hs
	}
	for _, ev := range events {
		switch ev.Kind {
		case groups.Deliver:
			groupID := ""
			if ev.ToGroup {
				groupID = ev.GroupID
			}
			s.order.push(s.pushOf(hs, ev), groupID, ev.Message.Sequence)
		case groups.SubscribeSession, groups.UnsubscribeSession:
			if from != nil {
				from.setLive(ev.Kind == groups.SubscribeSession, ev.GroupID)
			}
		case groups.Subscribe:
			for _, u := range ev.UserIDs {
				s.hub.SubscribeUser(u, ev.GroupID)
			}
		case groups.Unsubscribe:
			for _, u := range ev.UserIDs {
				s.hub.UnsubscribeUser(u, ev.GroupID)
			}
		case groups.DropGroup:
			s.hub.DropGroup(ev.GroupID)
		case groups.SetDiscard:
			for _, u := range ev.UserIDs {
				s.hub.SetDiscard(u, ev.GroupID, ev.Discard)
			}
		}
	}
}

// pushOf encodes a Deliver event once per flow.
func (s *Server) pushOf(from *hub.Session, ev groups.Event) *hub.Push {
	m := ev.Message
	p := &hub.Push{UserIDs: ev.UserIDs, From: m.From, Chat: m.Chat()}
	if ev.ToGroup {
		p.GroupID = ev.GroupID
	}
	p.In = encodeMessage(m, "in")
	p.Out = encodeMessage(m, "out")
	if m.Type == groups.SystemNoticeElem {
		p.Notice = noticeFrame(m, p.In)
	}
	if ev.Exclude {
		p.Exclude = from
	}
	return p
}

// ApplyEvents applies events that arose outside any request (batched
// live-room tips, grace expiries): the sink of groups.Service.OnEvents.
func (s *Server) ApplyEvents(events []groups.Event) { s.apply(nil, events) }
