package groups

import (
	"context"
	"sort"
)

// Live rooms (SPEC.md §5): ownership is stored, membership is live and
// kept per session by Presence; member tips are batched and not stored.

func (s *Service) ref(c Caller) SessionRef { return SessionRef{Node: s.opts.NodeID, ID: c.SessionID} }

func (s *Service) presence(op Op, g *Group) (Presence, error) {
	if s.opts.Presence == nil {
		return nil, Errorf(CodeInternal, "%s: live room %s is not served: no presence configured", op, g.ID)
	}
	return s.opts.Presence, nil
}

// joinLive joins the calling session to live room g, leaving any other
// room of the user (or anonymous session) first.
func (s *Service) joinLive(ctx context.Context, c Caller, g *Group) (Outcome, error) {
	p, err := s.presence(OpJoinGroup, g)
	if err != nil {
		return Outcome{}, err
	}
	res, err := p.JoinLive(ctx, g.ID, c.UserID, s.ref(c))
	if err != nil {
		return Outcome{}, err
	}
	var events []Event
	if res.Left != "" {
		if c.UserID == "" {
			events = append(events, Event{Kind: UnsubscribeSession, GroupID: res.Left})
		} else {
			events = append(events, Event{Kind: Unsubscribe, GroupID: res.Left, UserIDs: []string{c.UserID}})
		}
		if res.LeftUser && c.UserID != "" {
			s.tips.add(res.Left, TipQuit, c.UserID, false)
		}
	}
	events = append(events, Event{Kind: SubscribeSession, GroupID: g.ID})
	if res.New && c.UserID != "" {
		s.tips.add(g.ID, TipJoin, c.UserID, false)
	}
	a, _ := s.actor(ctx, g, c.UserID)
	if a.member == nil && c.UserID != "" {
		a.member = &Member{UserID: c.UserID, Role: RoleMember}
	}
	if a.member != nil && a.member.JoinTime == 0 {
		a.member.JoinTime = s.now() // live membership keeps no join time; this join's
	}
	if err := s.liveNum(ctx, g); err != nil {
		return Outcome{}, err
	}
	view := publicView(g)
	if c.UserID != "" {
		view = memberView(g, a.member, nil)
	}
	return Outcome{Reply: JoinReply{Status: JoinedSuccess, Group: view}, Events: events}, nil
}

// liveNum fills a live room's member count from presence.
func (s *Service) liveNum(ctx context.Context, g *Group) error {
	if s.opts.Presence == nil {
		return nil
	}
	n, err := s.opts.Presence.Count(ctx, g.ID)
	g.MemberNum = n
	return err
}

// quitLive ends the caller's membership: every session of a user, or the
// one anonymous session. The owner may not quit (10009).
func (s *Service) quitLive(ctx context.Context, c Caller, g *Group) (Outcome, error) {
	p, err := s.presence(OpQuitGroup, g)
	if err != nil {
		return Outcome{}, err
	}
	reply := groupIDRequest{GroupID: g.ID}
	if c.UserID == "" {
		if err := p.LeaveSession(ctx, g.ID, s.ref(c)); err != nil {
			return Outcome{}, err
		}
		return Outcome{Reply: reply, Events: []Event{{Kind: UnsubscribeSession, GroupID: g.ID}}}, nil
	}
	if c.UserID == g.OwnerID {
		return Outcome{}, Errorf(CodeOwnerCannotQuit, "quitGroup: the owner may not quit a live room; dismiss it")
	}
	was, err := p.QuitLive(ctx, g.ID, c.UserID)
	if err != nil {
		return Outcome{}, err
	}
	if !was {
		return Outcome{}, errNoPermission("quitGroup: you are not in live room %s", g.ID)
	}
	s.tips.add(g.ID, TipQuit, c.UserID, true)
	return Outcome{Reply: reply, Events: []Event{{Kind: Unsubscribe, GroupID: g.ID, UserIDs: []string{c.UserID}}}}, nil
}

// sendLive sends to a live room: the session must have joined; the room's
// rate budget sheds by priority before a sequence is taken; nothing is
// stored.
func (s *Service) sendLive(ctx context.Context, c Caller, g *Group, a actor, r *sendRequest, payload []byte, nick string) (Outcome, error) {
	p, err := s.presence(OpSendMessage, g)
	if err != nil {
		return Outcome{}, err
	}
	in, err := p.InRoom(ctx, g.ID, s.ref(c))
	if err != nil {
		return Outcome{}, err
	}
	if !in {
		return Outcome{}, errNoPermission("sendMessage: join live room %s on this session first", g.ID)
	}
	if err := checkMuted(g, a, s.now()); err != nil {
		return Outcome{}, err
	}
	ok, err := p.Allow(ctx, g.ID, r.Priority)
	if err != nil {
		return Outcome{}, err
	}
	if !ok {
		return Outcome{}, Errorf(CodeGroupRateLimited, "sendMessage: live room %s is over its message rate; %s messages are shed", g.ID, r.Priority)
	}
	return s.appendMessage(ctx, g, r.message(g, c.UserID, payload, nick, s.now()), nil)
}

// liveMemberList lists a live room's members, newest first; the caller's
// session must have joined.
func (s *Service) liveMemberList(ctx context.Context, c Caller, g *Group, offset, count int) (Outcome, error) {
	p, err := s.presence(OpGetGroupMemberList, g)
	if err != nil {
		return Outcome{}, err
	}
	if in, err := p.InRoom(ctx, g.ID, s.ref(c)); err != nil || !in {
		if err != nil {
			return Outcome{}, err
		}
		return Outcome{}, errNoPermission("getGroupMemberList: join live room %s on this session first", g.ID)
	}
	ids, err := p.Members(ctx, g.ID)
	if err != nil {
		return Outcome{}, err
	}
	ids = ids[min(offset, len(ids)):min(offset+count, len(ids))]
	list := make([]*Member, len(ids))
	now := s.now()
	for i, id := range ids {
		m := &Member{UserID: id, Role: RoleMember}
		if id == g.OwnerID {
			m.Role = RoleOwner
		}
		if t := g.Mutes[id]; t > now {
			m.MuteUntil = t
		}
		list[i] = m
	}
	views, err := s.views(ctx, list, nil)
	return Outcome{Reply: MemberListReply{MemberList: views}}, err
}

func (s *Service) liveCount(ctx context.Context, g *Group) (Outcome, error) {
	p, err := s.presence(OpGetGroupOnlineMemberCount, g)
	if err != nil {
		return Outcome{}, err
	}
	n, err := p.Count(ctx, g.ID)
	return Outcome{Reply: CountReply{MemberCount: n}}, err
}

// liveExpired is called by Presence when a user's grace ended: tip 2.
func (s *Service) liveExpired(room, userID string) { s.tips.add(room, TipQuit, userID, false) }

// dismissLive ends a live room: notice 5 to its members, everyone drops it.
func (s *Service) dismissLive(ctx context.Context, c Caller, g *Group) (Outcome, error) {
	if err := s.store.Commit(ctx, &Change{GroupID: g.ID, Version: g.Version, Delete: true}); err != nil {
		return Outcome{}, err
	}
	var members []string
	if s.opts.Presence != nil {
		var err error
		if members, err = s.opts.Presence.DropRoom(ctx, g.ID); err != nil {
			s.opts.Logger.Error("failed to drop live room from presence", "group_id", g.ID, "err", err)
		}
	}
	s.tips.drop(g.ID)
	sort.Strings(members)
	events := s.notify(ctx, g, c.UserID, NoticeDismissed, "", members...)
	events = append(events, Event{Kind: DropGroup, GroupID: g.ID})
	return Outcome{Reply: groupIDRequest{GroupID: g.ID}, Events: events}, nil
}

// SessionClosed tells the Service a session ended; its live room (if any)
// keeps the user for the grace.
func (s *Service) SessionClosed(ctx context.Context, c Caller) error {
	if s.opts.Presence == nil {
		return nil
	}
	return s.opts.Presence.SessionClosed(ctx, c.UserID, s.ref(c))
}

// ViewerLoggedIn makes a session that watched room anonymously count as
// its new user joining it (SPEC.md §5).
func (s *Service) ViewerLoggedIn(ctx context.Context, c Caller, room string) (Outcome, error) {
	g, err := s.group(ctx, room)
	if err != nil {
		return Outcome{}, err
	}
	p, err := s.presence(OpJoinGroup, g)
	if err != nil {
		return Outcome{}, err
	}
	if err := p.LeaveSession(ctx, room, s.ref(c)); err != nil {
		return Outcome{}, err
	}
	return s.joinLive(ctx, c, g)
}

// MemberLoggedOut keeps a session that logs out in its live room as an
// anonymous viewer (PROTOCOL.md logout); the user's membership ends with
// tip 2 when that was its last session there.
func (s *Service) MemberLoggedOut(ctx context.Context, c Caller, room string) error {
	if s.opts.Presence == nil || c.UserID == "" {
		return nil
	}
	p := s.opts.Presence
	if err := p.LeaveSession(ctx, room, s.ref(c)); err != nil {
		return err
	}
	if still, err := p.IsMember(ctx, room, c.UserID); err == nil && !still {
		s.tips.add(room, TipQuit, c.UserID, false)
	}
	_, err := p.JoinLive(ctx, room, "", s.ref(c))
	return err
}

// UserUp records a logged-in session for presence (no-op without one).
func (s *Service) UserUp(ctx context.Context, c Caller) error {
	if s.opts.Presence == nil || c.UserID == "" {
		return nil
	}
	return s.opts.Presence.UserUp(ctx, c.UserID, s.ref(c))
}

// UserDown removes a logged-in session from presence.
func (s *Service) UserDown(ctx context.Context, c Caller) error {
	if s.opts.Presence == nil || c.UserID == "" {
		return nil
	}
	return s.opts.Presence.UserDown(ctx, c.UserID, s.ref(c))
}
