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
	// caused is queued (to its own sessions here, and for the other nodes
	// in this node's ordered publish queue), so its next request cannot
	// overtake them. The reply does not wait for the broker to confirm:
	// what it acknowledges is in the store, and a node that misses a
	// push recovers it as a sequence gap. This session's own pushes wait
	// for the reply and leave with it, in one send.
	if len(events) > 0 {
		sess.hs.Hold()
		defer sess.hs.Release()
	}
	envs := sess.srv.post(sess, events)
	switch {
	case countsAsBad(code):
		sess.badFrame(req.ID, code, msg)
	case code == 0:
		sess.send(encodeSuccess(req.ID, data, envs))
	default:
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

// apply carries out a groups operation's events, in order, on every node
// through the hub, and returns once the broker took them. from is the
// session whose request caused them (nil for events that arise outside a
// request).
func (s *Server) apply(from *session, events []groups.Event) []*hub.Envelope {
	envs := s.envelopes(from, events)
	if len(envs) == 0 {
		return envs
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	if err := s.hub.Send(ctx, envs...); err != nil {
		s.log.Error("failed to fan out", "group_id", envs[0].GroupID, "events", len(envs), "err", err, "node_id", s.opts.NodeID)
	}
	return envs
}

// post is apply without waiting for the broker (hub.Post). The pushes
// of a request whose session has gone meanwhile still go out: the
// broker bounds its wait for room in its queue itself.
func (s *Server) post(from *session, events []groups.Event) []*hub.Envelope {
	envs := s.envelopes(from, events)
	if len(envs) == 0 {
		return envs
	}
	s.hub.Post(context.Background(), envs...)
	return envs
}

// envelopes turns events into envelopes; the session (un)subscriptions
// among them take effect on from at once.
func (s *Server) envelopes(from *session, events []groups.Event) []*hub.Envelope {
	if len(events) == 0 {
		return nil
	}
	envs := make([]*hub.Envelope, 0, len(events))
	for _, ev := range events {
		switch ev.Kind {
		case groups.SubscribeSession, groups.UnsubscribeSession:
			if from != nil {
				from.setLive(ev.Kind == groups.SubscribeSession, ev.GroupID)
			}
			continue
		}
		envs = append(envs, s.envelope(from, ev))
	}
	return envs
}

// envelope turns an event into the hub's cross-node form. A message is
// encoded here once per flow.
func (s *Server) envelope(from *session, ev groups.Event) *hub.Envelope {
	env := &hub.Envelope{GroupID: ev.GroupID, UserIDs: ev.UserIDs, ToGroup: ev.ToGroup, Discard: ev.Discard}
	switch ev.Kind {
	case groups.Deliver:
		m := ev.Message
		env.Kind, env.From, env.Chat, env.Seq = hub.KindPush, m.From, m.Chat(), m.Sequence
		env.In, env.Out = encodeFlows(m)
		if m.Type == groups.SystemNoticeElem {
			env.Notice = noticeFrame(m, env.In)
		}
		if ev.Exclude && from != nil {
			env.Session = from.hs.ID()
		}
		env.Gather = ev.Gather
	case groups.Subscribe:
		env.Kind = hub.KindSubscribeUser
	case groups.Unsubscribe:
		env.Kind = hub.KindUnsubscribeUser
	case groups.DropGroup:
		env.Kind = hub.KindDropGroup
	case groups.SetDiscard:
		env.Kind = hub.KindSetDiscard
	}
	return env
}

// ApplyEvents applies events that arose outside any request (batched
// live-room tips, grace expiries): the sink of groups.Service.OnEvents.
func (s *Server) ApplyEvents(events []groups.Event) { s.apply(nil, events) }

// ResyncJoined tells the sessions of groups this node has just started
// listening to (their broker channels) to resync them: pushes sent
// between their join and the subscription may have missed the node.
func (s *Server) ResyncJoined(channels []string) {
	for _, c := range channels {
		groupID, ok := hub.ChannelGroup(c)
		if !ok {
			continue
		}
		frame := ResyncFrame(groupID)
		for _, hs := range s.hub.GroupSubscribers(groupID) {
			hs.Send(frame)
		}
	}
}
