package groups

import (
	"context"
	"encoding/json"
)

// MemberReply is the reply data {group, member} of the member setters.
type MemberReply struct {
	Group  View       `json:"group"`
	Member MemberView `json:"member"`
}

// DeleteReply is the reply data of deleteGroupMember.
type DeleteReply struct {
	Group      View     `json:"group"`
	UserIDList []string `json:"userIDList"`
}

func opDeleteGroupMember(s *Service, ctx context.Context, c Caller, data json.RawMessage) (Outcome, error) {
	var r usersRequest
	if err := parseData(data, &r); err != nil {
		return Outcome{}, err
	}
	if err := checkGroupIDRef(r.GroupID); err != nil {
		return Outcome{}, err
	}
	if err := checkUserIDs("userIDList", r.UserIDList, 1, MaxDeleteMembers); err != nil {
		return Outcome{}, err
	}
	if err := checkLen("reason", r.Reason, MaxNoteBytes); err != nil {
		return Outcome{}, err
	}
	r.UserIDList = dedupe(r.UserIDList)
	return retry(ctx, func() (Outcome, error) { return s.kick(ctx, c, &r) })
}

func (s *Service) kick(ctx context.Context, c Caller, r *usersRequest) (Outcome, error) {
	g, a, err := s.load(ctx, OpDeleteGroupMember, r.GroupID, c.UserID, nil, r.UserIDList...)
	if err != nil {
		return Outcome{}, err
	}
	found, err := s.store.Members(ctx, g.ID, r.UserIDList)
	if err != nil {
		return Outcome{}, err
	}
	removed := []string{}
	rec := g.clone()
	now := s.now()
	for _, id := range r.UserIDList {
		m := found[id]
		if m == nil {
			continue // non-members are skipped (SPEC.md §4)
		}
		if err := checkReach(OpDeleteGroupMember, g, a, m); err != nil {
			return Outcome{}, err
		}
		removed = append(removed, id)
		rec.keepMute(id, m.MuteUntil, now)
	}
	if len(removed) == 0 {
		return Outcome{Reply: DeleteReply{Group: a.view(g, nil), UserIDList: removed}}, nil
	}
	tip := newTip(g, now, TipPayload{OperatorID: c.UserID, OperationType: TipKick, UserIDList: removed})
	if err := s.commitTips(ctx, &Change{GroupID: g.ID, Version: g.Version, Group: rec, Del: removed}, g, tip); err != nil {
		return Outcome{}, err
	}
	for _, id := range removed {
		s.release(ctx, id, g.ID)
	}
	g.MemberNum -= len(removed)
	events := []Event{deliverGroup(tip, removed...), {Kind: Unsubscribe, GroupID: g.ID, UserIDs: removed}}
	events = append(events, s.notify(ctx, g, c.UserID, NoticeKicked, r.Reason, removed...)...)
	return Outcome{Reply: DeleteReply{Group: a.view(g, nil), UserIDList: removed}, Events: events}, nil
}

type muteRequest struct {
	GroupID  string `json:"groupID"`
	UserID   string `json:"userID"`
	MuteTime *int64 `json:"muteTime"`
}

func opSetGroupMemberMuteTime(s *Service, ctx context.Context, c Caller, data json.RawMessage) (Outcome, error) {
	var r muteRequest
	if err := parseData(data, &r); err != nil {
		return Outcome{}, err
	}
	if err := checkGroupIDRef(r.GroupID); err != nil {
		return Outcome{}, err
	}
	if err := checkUserID("userID", r.UserID); err != nil {
		return Outcome{}, err
	}
	if r.MuteTime == nil || *r.MuteTime < 0 || *r.MuteTime > MaxMuteTime {
		return Outcome{}, errParam("muteTime: required, 0..%d seconds", int64(MaxMuteTime))
	}
	return retry(ctx, func() (Outcome, error) { return s.mute(ctx, c, &r) })
}

func (s *Service) mute(ctx context.Context, c Caller, r *muteRequest) (Outcome, error) {
	g, a, err := s.load(ctx, OpSetGroupMemberMuteTime, r.GroupID, c.UserID, nil, r.UserID)
	if err != nil {
		return Outcome{}, err
	}
	now := s.now()
	until := int64(0)
	if *r.MuteTime > 0 {
		until = now + *r.MuteTime
	}
	rec := g.clone()
	ch := &Change{GroupID: g.ID, Version: g.Version}
	var target *Member
	if g.Type.Live() {
		// Live mutes are kept per room and user; the target need not be
		// online (SPEC.md §5).
		target = &Member{UserID: r.UserID, Role: RoleMember, MuteUntil: until}
		if r.UserID == g.OwnerID {
			target.Role = RoleOwner
		}
		if err := checkReach(OpSetGroupMemberMuteTime, g, a, target); err != nil {
			return Outcome{}, err
		}
		delete(rec.Mutes, r.UserID)
		rec.keepMute(r.UserID, until, now)
		ch.Group = rec
	} else {
		if target, err = s.target(ctx, OpSetGroupMemberMuteTime, g, a, r.UserID); err != nil {
			return Outcome{}, err
		}
		target.MuteUntil = until
		ch.Put = []*Member{target}
	}
	tip := newTip(g, now, TipPayload{OperatorID: c.UserID, OperationType: TipMemberUpdated,
		UserIDList: []string{r.UserID}, MemberList: []TipMember{{UserID: r.UserID, MuteTime: *r.MuteTime}}})
	if err := s.commitTips(ctx, ch, g, tip); err != nil {
		return Outcome{}, err
	}
	return s.memberReply(ctx, g, a, target, []Event{deliverGroup(tip)})
}

// target loads the target member of op (2623 when not a member) and checks
// the caller's reach over it (steps 8 and 9 of SPEC.md §3).
func (s *Service) target(ctx context.Context, op Op, g *Group, a actor, userID string) (*Member, error) {
	m, err := s.member(ctx, g.ID, userID)
	if err != nil {
		return nil, err
	}
	if m == nil {
		return nil, Errorf(CodeNotMember, "%s: %s is not a member of group %s", op, userID, g.ID)
	}
	return m, checkReach(op, g, a, m)
}

// memberReply builds {group, member} after a member change.
func (s *Service) memberReply(ctx context.Context, g *Group, a actor, m *Member, events []Event) (Outcome, error) {
	views, err := s.views(ctx, []*Member{m}, nil)
	if err != nil {
		return Outcome{}, err
	}
	if a.member != nil && a.member.UserID == m.UserID {
		a.member = m
	}
	return Outcome{Reply: MemberReply{Group: a.view(g, nil), Member: views[0]}, Events: events}, nil
}

type roleRequest struct {
	GroupID string `json:"groupID"`
	UserID  string `json:"userID"`
	Role    Role   `json:"role"`
}

func opSetGroupMemberRole(s *Service, ctx context.Context, c Caller, data json.RawMessage) (Outcome, error) {
	var r roleRequest
	if err := parseData(data, &r); err != nil {
		return Outcome{}, err
	}
	if err := checkGroupIDRef(r.GroupID); err != nil {
		return Outcome{}, err
	}
	if err := checkUserID("userID", r.UserID); err != nil {
		return Outcome{}, err
	}
	if r.Role != RoleAdmin && r.Role != RoleMember {
		return Outcome{}, Errorf(CodeRoleInvalid, "role: must be Admin or Member, got %q", r.Role)
	}
	return retry(ctx, func() (Outcome, error) { return s.setRole(ctx, c, &r) })
}

func (s *Service) setRole(ctx context.Context, c Caller, r *roleRequest) (Outcome, error) {
	g, a, err := s.load(ctx, OpSetGroupMemberRole, r.GroupID, c.UserID, nil, r.UserID)
	if err != nil {
		return Outcome{}, err
	}
	m, err := s.target(ctx, OpSetGroupMemberRole, g, a, r.UserID) // 2623, and 10007 for the owner
	if err != nil {
		return Outcome{}, err
	}
	if m.Role == r.Role {
		return s.memberReply(ctx, g, a, m, nil)
	}
	m.Role = r.Role
	tipType, noticeType := TipSetAdmin, NoticeSetAdmin
	if r.Role == RoleMember {
		tipType, noticeType = TipCancelAdmin, NoticeCanceledAdmin
	}
	tip := newTip(g, s.now(), TipPayload{OperatorID: c.UserID, OperationType: tipType, UserIDList: []string{m.UserID}})
	if err := s.commitTips(ctx, &Change{GroupID: g.ID, Version: g.Version, Put: []*Member{m}}, g, tip); err != nil {
		return Outcome{}, err
	}
	events := append([]Event{deliverGroup(tip)}, s.notify(ctx, g, c.UserID, noticeType, "", m.UserID)...)
	return s.memberReply(ctx, g, a, m, events)
}

type cardRequest struct {
	GroupID           string  `json:"groupID"`
	UserID            string  `json:"userID"`
	NameCard          *string `json:"nameCard"`
	MemberCustomField []KV    `json:"memberCustomField"`
}

func opSetGroupMemberNameCard(s *Service, ctx context.Context, c Caller, data json.RawMessage) (Outcome, error) {
	return s.setMemberData(ctx, c, OpSetGroupMemberNameCard, data, func(r *cardRequest) error {
		if r.NameCard == nil {
			return errParam("nameCard: required")
		}
		return checkLen("nameCard", *r.NameCard, MaxNameCardBytes)
	}, func(r *cardRequest, m *Member) (bool, error) {
		changed := m.NameCard != *r.NameCard
		m.NameCard = *r.NameCard
		return changed, nil
	})
}

func opSetGroupMemberCustomField(s *Service, ctx context.Context, c Caller, data json.RawMessage) (Outcome, error) {
	return s.setMemberData(ctx, c, OpSetGroupMemberCustomField, data, func(r *cardRequest) error {
		if r.MemberCustomField == nil {
			return errParam("memberCustomField: required")
		}
		return checkCustom("memberCustomField", r.MemberCustomField)
	}, func(r *cardRequest, m *Member) (bool, error) {
		custom, changed, err := mergeCustom("memberCustomField", m.Custom, r.MemberCustomField)
		m.Custom = custom
		return changed, err
	})
}

// setMemberData is the shared body of the name card and member custom
// field setters: same reach, no tip.
func (s *Service) setMemberData(ctx context.Context, c Caller, op Op, data json.RawMessage,
	check func(*cardRequest) error, edit func(*cardRequest, *Member) (bool, error)) (Outcome, error) {
	var r cardRequest
	if err := parseData(data, &r); err != nil {
		return Outcome{}, err
	}
	if r.UserID == "" {
		r.UserID = c.UserID
	}
	if err := checkGroupIDRef(r.GroupID); err != nil {
		return Outcome{}, err
	}
	if err := checkUserID("userID", r.UserID); err != nil {
		return Outcome{}, err
	}
	if err := check(&r); err != nil {
		return Outcome{}, err
	}
	return retry(ctx, func() (Outcome, error) {
		g, a, err := s.load(ctx, op, r.GroupID, c.UserID, nil)
		if err != nil {
			return Outcome{}, err
		}
		m, err := s.target(ctx, op, g, a, r.UserID)
		if err != nil {
			return Outcome{}, err
		}
		changed, err := edit(&r, m)
		if err != nil {
			return Outcome{}, err
		}
		if changed {
			if err := s.store.Commit(ctx, &Change{GroupID: g.ID, Version: g.Version, Put: []*Member{m}}); err != nil {
				return Outcome{}, err
			}
		}
		return s.memberReply(ctx, g, a, m, nil)
	})
}

type remindRequest struct {
	GroupID           string     `json:"groupID"`
	MessageRemindType RemindType `json:"messageRemindType"`
}

func opSetMessageRemindType(s *Service, ctx context.Context, c Caller, data json.RawMessage) (Outcome, error) {
	var r remindRequest
	if err := parseData(data, &r); err != nil {
		return Outcome{}, err
	}
	if err := checkGroupIDRef(r.GroupID); err != nil {
		return Outcome{}, err
	}
	if !r.MessageRemindType.Valid() {
		return Outcome{}, errParam("messageRemindType: must be AcceptAndNotify, AcceptNotNotify or Discard, got %q", r.MessageRemindType)
	}
	return retry(ctx, func() (Outcome, error) {
		g, a, err := s.load(ctx, OpSetMessageRemindType, r.GroupID, c.UserID, nil)
		if err != nil {
			return Outcome{}, err
		}
		if a.member == nil {
			return Outcome{}, errNoPermission("setMessageRemindType: you are not a member of group %s", g.ID)
		}
		a.member.Remind = r.MessageRemindType
		if err := s.store.Commit(ctx, &Change{GroupID: g.ID, Version: g.Version, Put: []*Member{a.member}}); err != nil {
			return Outcome{}, err
		}
		ev := Event{Kind: SetDiscard, GroupID: g.ID, UserIDs: []string{c.UserID}, Discard: r.MessageRemindType == Discard}
		return Outcome{Reply: GroupReply{Group: a.view(g, nil)}, Events: []Event{ev}}, nil
	})
}
