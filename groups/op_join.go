package groups

import (
	"context"
	"encoding/json"
	"errors"
)

// Join statuses of joinGroup (TIM's TIM.TYPES.JOIN_STATUS_*).
const (
	JoinedSuccess     = "JoinedSuccess"
	WaitAdminApproval = "WaitAdminApproval"
	AlreadyInGroup    = "AlreadyInGroup"
)

type joinRequest struct {
	GroupID      string `json:"groupID"`
	ApplyMessage string `json:"applyMessage"`
	Type         Type   `json:"type"`
}

// JoinReply is the reply data of joinGroup.
type JoinReply struct {
	Status string `json:"status"`
	Group  View   `json:"group,omitempty"`
}

func (r *joinRequest) validate() error {
	if err := checkGroupIDRef(r.GroupID); err != nil {
		return err
	}
	if r.Type != "" && !r.Type.Valid() {
		return errParam("type: must be Private, Public, ChatRoom or AVChatRoom, got %q", r.Type)
	}
	return checkLen("applyMessage", r.ApplyMessage, MaxNoteBytes)
}

func opJoinGroup(s *Service, ctx context.Context, c Caller, data json.RawMessage) (Outcome, error) {
	var r joinRequest
	if err := r.parse(data); err != nil {
		return Outcome{}, err
	}
	if err := r.validate(); err != nil {
		return Outcome{}, err
	}
	if c.UserID == "" {
		return s.joinAnonymous(ctx, c, &r)
	}
	out, err := retry(ctx, func() (Outcome, error) { return s.join(ctx, c, &r) })
	if err != nil {
		s.releaseUnjoined(ctx, r.GroupID, c.UserID)
	}
	return out, err
}

// releaseUnjoined frees the group slots that a failed operation may have
// reserved for users who did not become members: a reservation survives a
// version conflict so the retry can use it, and the retry may then fail
// for another reason (the group filled up or was dismissed).
func (s *Service) releaseUnjoined(ctx context.Context, groupID string, users ...string) {
	ms := make([]*Member, len(users))
	for i, u := range users {
		ms[i] = &Member{UserID: u}
	}
	s.releaseAll(ctx, &Group{ID: groupID}, ms)
}

// joinAnonymous is an anonymous join: live rooms only (2662 otherwise).
func (s *Service) joinAnonymous(ctx context.Context, c Caller, r *joinRequest) (Outcome, error) {
	if r.Type != "" && r.Type != AVChatRoom {
		return Outcome{}, Errorf(CodeAnonNotLive, "joinGroup: anonymous connections may only join live rooms")
	}
	g, err := s.group(ctx, r.GroupID)
	if err != nil {
		return Outcome{}, err
	}
	if !g.Type.Live() {
		return Outcome{}, Errorf(CodeAnonNotLive, "joinGroup: %s is a %s group; anonymous connections may only join live rooms", g.ID, g.Type)
	}
	return s.joinLive(ctx, c, g)
}

// join decides first on the caller's kept snapshot of the group (the one
// its last join or quit left, Store.RecentMember): a join decided on it
// stands only once it is committed, which the version guarantees is on
// the group as it is; any other outcome is decided again on a fresh read.
func (s *Service) join(ctx context.Context, c Caller, r *joinRequest) (Outcome, error) {
	if snap := s.store.RecentMember(r.GroupID, c.UserID); snap != nil && !snap.Group.Type.Live() {
		if out, committed, err := s.joinOn(ctx, c, r, snap, true); committed {
			return out, err
		}
	}
	snap, err := s.snapshot(ctx, r.GroupID, c.UserID)
	if err != nil {
		return Outcome{}, err
	}
	out, _, err := s.joinOn(ctx, c, r, snap, false)
	return out, err
}

// joinOn is join decided on snap; kept: snap may be out of date, so only
// a join that commits goes ahead (no application, no reply without a
// commit). committed reports a commit.
func (s *Service) joinOn(ctx context.Context, c Caller, r *joinRequest, snap *Snapshot, kept bool) (out Outcome, committed bool, err error) {
	g, a, err := s.decideOn(ctx, OpJoinGroup, snap, c.UserID, func(g *Group) error {
		if r.Type != "" && r.Type != g.Type {
			return errParam("type: group %s is %s, not %s", g.ID, g.Type, r.Type)
		}
		return nil
	})
	if err != nil {
		return Outcome{}, false, err
	}
	if g.Type.Live() {
		out, err := s.joinLive(ctx, c, g)
		return out, false, err
	}
	g = g.clone() // admit edits it; snap may be shared
	if a.member != nil {
		if kept {
			return Outcome{}, false, nil
		}
		s.store.KeepMember(c.UserID, snap)
		return Outcome{Reply: JoinReply{Status: AlreadyInGroup, Group: memberView(g, a.member, nil)}}, false, nil
	}
	switch {
	case g.JoinOption == DisableApply:
		return Outcome{}, false, errNoPermission("joinGroup: group %s does not accept applications", g.ID)
	case g.JoinOption == NeedPermission && kept:
		return Outcome{}, false, nil
	case g.JoinOption == NeedPermission:
		out, err := s.apply(ctx, g, c.UserID, r.ApplyMessage)
		return out, err == nil, err
	}
	m, tip, err := s.admit(ctx, g, c.UserID, c.UserID, OpJoinGroup)
	if err != nil {
		return Outcome{}, false, err
	}
	s.keepAfter(g, c.UserID, m)
	return Outcome{Reply: JoinReply{Status: JoinedSuccess, Group: memberView(g, m, nil)},
		Events: joinedEvents(g, tip, c.UserID)}, true, nil
}

// admit makes userID a member of g (by operator: itself, or the admin who
// approved it): checks room and the user's group limit and commits the
// member with tip 1. extra edits the change (an approval consumes the
// application in the same commit).
func (s *Service) admit(ctx context.Context, g *Group, userID, operator string, op Op, extra ...func(*Change)) (*Member, *Message, error) {
	if g.MemberNum >= g.MaxMemberNum {
		return nil, nil, Errorf(CodeGroupFull, "%s: group %s is full (%d members)", op, g.ID, g.MaxMemberNum)
	}
	tooMany := func() error {
		return Errorf(CodeTooManyGroups, "%s: %s is in %d groups already", op, userID, s.opts.GroupLimit)
	}
	folded := s.store.UserSideInCommit()
	if !folded {
		if err := s.store.ReserveGroup(ctx, userID, g.ID, s.opts.GroupLimit); err != nil {
			if errors.Is(err, ErrTooManyGroups) {
				return nil, nil, tooMany()
			}
			return nil, nil, err
		}
	}
	now := s.now()
	rec := g.clone()
	m := &Member{UserID: userID, Role: RoleMember, JoinTime: now, JoinSeq: JoinSeqAtTip, MuteUntil: rec.takeMute(userID, now)}
	tip := newTip(g, now, TipPayload{OperatorID: operator, OperationType: TipJoin, UserIDList: []string{userID}})
	ch := &Change{GroupID: g.ID, Version: g.Version, Put: []*Member{m}, Tips: []*Message{tip}, Keep: s.opts.History}
	if len(rec.Mutes) != len(g.Mutes) {
		ch.Group = rec
	}
	if folded {
		ch.Reserve, ch.ReserveLimit = userID, s.opts.GroupLimit
	}
	for _, f := range extra {
		f(ch)
	}
	if err := s.store.Commit(ctx, ch); err != nil {
		switch {
		case folded && errors.Is(err, ErrTooManyGroups):
			return nil, nil, tooMany()
		case !folded && !errors.Is(err, ErrConflict):
			s.releaseAll(ctx, g, []*Member{m})
		}
		return nil, nil, err // on a conflict the retry decides again; a slot reserved apart stays
	}
	if ch.Group != nil {
		g.Mutes = rec.Mutes // g is the committed group from here on
	}
	g.MemberNum++
	g.Seq = tip.Sequence
	g.Last = lastOf(tip)
	return m, tip, nil
}

// joinedEvents subscribes the new members before their join tip goes out.
// The tip is also addressed to them directly: on another node their
// sessions may not listen to the group yet when it arrives (the hub
// delivers a push to a session once).
func joinedEvents(g *Group, tip *Message, users ...string) []Event {
	return []Event{{Kind: Subscribe, GroupID: g.ID, UserIDs: users}, deliverGroup(tip, users...)}
}

// apply records a join application to a NeedPermission group and sends
// notice 1 to the owner and every admin (again when refreshed).
func (s *Service) apply(ctx context.Context, g *Group, userID, applyMsg string) (Outcome, error) {
	if g.MemberNum >= g.MaxMemberNum {
		return Outcome{}, Errorf(CodeGroupFull, "joinGroup: group %s is full (%d members)", g.ID, g.MaxMemberNum)
	}
	app := &Application{GroupID: g.ID, Applicant: userID, ApplyMessage: applyMsg, Time: s.now()}
	if err := s.store.Commit(ctx, &Change{GroupID: g.ID, Version: g.Version, PutApps: []*Application{app}}); err != nil {
		return Outcome{}, err
	}
	managers, err := s.managers(ctx, g)
	if err != nil {
		return Outcome{}, err
	}
	events := s.notify(ctx, g, userID, NoticeJoinRequest, applyMsg, managers...)
	return Outcome{Reply: JoinReply{Status: WaitAdminApproval}, Events: events}, nil
}

// managers lists the owner and admins of g.
func (s *Service) managers(ctx context.Context, g *Group) ([]string, error) {
	all, err := s.store.AllMembers(ctx, g.ID)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range all {
		if m.Role == RoleOwner || m.Role == RoleAdmin {
			out = append(out, m.UserID)
		}
	}
	return out, nil
}

func opQuitGroup(s *Service, ctx context.Context, c Caller, data json.RawMessage) (Outcome, error) {
	var r groupIDRequest
	if err := r.parse(data); err != nil {
		return Outcome{}, err
	}
	if err := checkGroupIDRef(r.GroupID); err != nil {
		return Outcome{}, err
	}
	if c.UserID == "" {
		g, _, err := s.loadAnon(ctx, OpQuitGroup, r.GroupID, c)
		if err != nil {
			return Outcome{}, err
		}
		return s.quitLive(ctx, c, g)
	}
	return retry(ctx, func() (Outcome, error) { return s.quit(ctx, c, r.GroupID) })
}

// quit decides first on the caller's kept snapshot, like join.
func (s *Service) quit(ctx context.Context, c Caller, groupID string) (Outcome, error) {
	if snap := s.store.RecentMember(groupID, c.UserID); snap != nil && !snap.Group.Type.Live() {
		if out, committed, err := s.quitOn(ctx, c, snap); committed {
			return out, err
		}
	}
	snap, err := s.snapshot(ctx, groupID, c.UserID)
	if err != nil {
		return Outcome{}, err
	}
	if snap.Group.Type.Live() {
		return s.quitLive(ctx, c, snap.Group)
	}
	out, _, err := s.quitOn(ctx, c, snap)
	return out, err
}

// quitOn is quit decided on snap, a group that is not live. committed
// reports a commit.
func (s *Service) quitOn(ctx context.Context, c Caller, snap *Snapshot) (out Outcome, committed bool, err error) {
	g := snap.Group
	a, err := s.actorOf(ctx, g, c.UserID, snap.Members[c.UserID])
	if err != nil {
		return Outcome{}, false, err
	}
	if a.member == nil {
		return Outcome{}, false, errNoPermission("quitGroup: you are not a member of group %s", g.ID)
	}
	now := s.now()
	rec := g.clone()
	changed := rec.keepMute(c.UserID, a.member.MuteUntil, now)
	if a.member.Role == RoleOwner {
		if g.Type != Private {
			return Outcome{}, false, Errorf(CodeOwnerCannotQuit, "quitGroup: the owner may not quit a %s group; transfer it or dismiss it", g.Type)
		}
		rec.OwnerID = "" // a Work group becomes ownerless
		changed = true
	}
	tip := newTip(g, now, TipPayload{OperatorID: c.UserID, OperationType: TipQuit, UserIDList: []string{c.UserID}})
	ch := &Change{GroupID: g.ID, Version: g.Version, Del: []string{c.UserID}, Tips: []*Message{tip}, Keep: s.opts.History}
	if changed {
		ch.Group = rec
	}
	notice := newNotice(g, c.UserID, c.UserID, NoticeQuit, now, "")
	folded := s.store.UserSideInCommit()
	if folded { // the slot and the notice go with the commit
		ch.Release, ch.Notices = []string{c.UserID}, []*Message{notice}
	}
	if err := s.store.Commit(ctx, ch); err != nil {
		return Outcome{}, false, err
	}
	rec.MemberNum--
	rec.Seq, rec.Last = tip.Sequence, lastOf(tip)
	s.keepAfter(rec, c.UserID, nil)
	if !folded {
		s.release(ctx, c.UserID, g.ID)
		s.storeNotice(ctx, g, notice)
	}
	events := []Event{deliverGroup(tip, c.UserID), {Kind: Unsubscribe, GroupID: g.ID, UserIDs: []string{c.UserID}},
		deliverUsers(g.ID, notice, c.UserID)}
	return Outcome{Reply: groupIDRequest{GroupID: g.ID}, Events: events}, true, nil
}

// release frees a user's group slot after the group commit removed it.
func (s *Service) release(ctx context.Context, userID, groupID string) {
	if err := s.store.ReleaseGroup(ctx, userID, groupID); err != nil {
		s.opts.Logger.Error("failed to release group slot", "group_id", groupID, "user_id", userID, "err", err)
	}
}
