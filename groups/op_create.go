package groups

import (
	"context"
	"encoding/json"
	"errors"
)

type createMember struct {
	UserID            string `json:"userID"`
	Role              Role   `json:"role"`
	MemberCustomField []KV   `json:"memberCustomField"`
}

type createRequest struct {
	Name             string         `json:"name"`
	Type             Type           `json:"type"`
	GroupID          string         `json:"groupID"`
	Introduction     string         `json:"introduction"`
	Notification     string         `json:"notification"`
	Avatar           string         `json:"avatar"`
	MaxMemberNum     *int           `json:"maxMemberNum"`
	JoinOption       JoinOption     `json:"joinOption"`
	MemberList       []createMember `json:"memberList"`
	GroupCustomField []KV           `json:"groupCustomField"`
}

// CreateReply is the reply data of createGroup.
type CreateReply struct {
	Group               View     `json:"group"`
	OverLimitUserIDList []string `json:"overLimitUserIDList"`
}

func (r *createRequest) validate() error {
	if len(r.Name) == 0 || len(r.Name) > MaxNameBytes {
		return errParam("name: required, 1..%d bytes, got %d", MaxNameBytes, len(r.Name))
	}
	if r.Type == "" {
		r.Type = Private
	}
	if !r.Type.Valid() {
		return errParam("type: must be Private, Public, ChatRoom or AVChatRoom, got %q", r.Type)
	}
	if r.GroupID != "" {
		if err := checkCustomGroupID(r.GroupID); err != nil {
			return err
		}
	}
	if err := r.validateFields(); err != nil {
		return err
	}
	return r.validateMembers()
}

func (r *createRequest) validateFields() error {
	for _, f := range []struct {
		name, v string
		max     int
	}{{"introduction", r.Introduction, MaxIntroBytes}, {"notification", r.Notification, MaxNotificationBytes}, {"avatar", r.Avatar, MaxGroupAvatarBytes}} {
		if err := checkLen(f.name, f.v, f.max); err != nil {
			return err
		}
	}
	if err := checkMaxMemberNum(r.Type, r.MaxMemberNum); err != nil {
		return err
	}
	if r.JoinOption != "" && !r.JoinOption.Valid() {
		return errParam("joinOption: must be FreeAccess, NeedPermission or DisableApply, got %q", r.JoinOption)
	}
	if err := checkCustom("groupCustomField", r.GroupCustomField); err != nil {
		return err
	}
	_, _, err := mergeCustom("groupCustomField", nil, r.GroupCustomField)
	return err
}

// checkMaxMemberNum is the maxMemberNum limit of SPEC.md §2 (nil = absent).
func checkMaxMemberNum(t Type, n *int) error {
	switch {
	case n == nil:
		return nil
	case t.Live() && *n != 0:
		return errParam("maxMemberNum: live rooms are unlimited and take only 0, got %d", *n)
	case !t.Live() && (*n < 1 || *n > MaxMemberNumLimit):
		return errParam("maxMemberNum: must be 1..%d, got %d", MaxMemberNumLimit, *n)
	}
	return nil
}

func (r *createRequest) validateMembers() error {
	if len(r.MemberList) > MaxCreateMembers {
		return errParam("memberList: at most %d entries, got %d", MaxCreateMembers, len(r.MemberList))
	}
	for _, m := range r.MemberList {
		if err := checkUserID("memberList.userID", m.UserID); err != nil {
			return err
		}
		if m.Role != "" && m.Role != RoleAdmin && m.Role != RoleMember {
			return Errorf(CodeRoleInvalid, "memberList.role: must be Admin or Member, got %q", m.Role)
		}
		if err := checkCustom("memberList.memberCustomField", m.MemberCustomField); err != nil {
			return err
		}
	}
	return nil
}

// typeParams is step 5 of createGroup: what the type does not take.
func (r *createRequest) typeParams() error {
	if r.Type.Live() && len(r.MemberList) > 0 {
		return errNoPermission("memberList: live rooms take no initial members")
	}
	if fixed := fixedJoinOption(r.Type); fixed != "" && r.JoinOption != "" && r.JoinOption != fixed {
		return errParam("joinOption: %s groups are always %s", r.Type, fixed)
	}
	for _, m := range r.MemberList {
		if m.Role == RoleAdmin && r.Type != Public && r.Type != ChatRoom {
			return errParam("memberList.role: Admin is only for Public and ChatRoom groups")
		}
	}
	return nil
}

func opCreateGroup(s *Service, ctx context.Context, c Caller, data json.RawMessage) (Outcome, error) {
	var r createRequest
	if err := parseData(data, &r); err != nil {
		return Outcome{}, err
	}
	if err := r.validate(); err != nil {
		return Outcome{}, err
	}
	if err := r.typeParams(); err != nil {
		return Outcome{}, err
	}
	g, members := s.newGroup(&r, c.UserID)
	if len(members) > g.MaxMemberNum && !g.Type.Live() {
		return Outcome{}, errParam("maxMemberNum: %d is below the %d initial members", g.MaxMemberNum, len(members))
	}
	if r.GroupID != "" {
		if err := s.checkIDFree(ctx, r.GroupID, c.UserID); err != nil {
			return Outcome{}, err
		}
	}
	for attempt := 0; ; attempt++ {
		if r.GroupID == "" {
			g.ID = newGroupID()
		}
		out, err := s.createOnce(ctx, g, members, c.UserID)
		if errors.Is(err, ErrExists) && r.GroupID == "" && attempt < 8 {
			continue // a generated ID was taken: draw again
		}
		if errors.Is(err, ErrExists) {
			err = s.checkIDFree(ctx, g.ID, c.UserID)
		}
		return out, err
	}
}

// createOnce reserves the members' group slots, commits the new group and
// releases the slots again if that fails.
func (s *Service) createOnce(ctx context.Context, g *Group, members []*Member, caller string) (Outcome, error) {
	kept, over, err := s.reserveAll(ctx, g, members)
	if err != nil {
		return Outcome{}, err
	}
	put := kept
	if g.Type.Live() {
		put = nil
	}
	err = s.store.Commit(ctx, &Change{GroupID: g.ID, Create: true, Group: g, Put: put, Keep: s.opts.History})
	if err != nil {
		s.releaseAll(ctx, g, kept)
		return Outcome{}, err
	}
	return s.created(ctx, g, members[0], kept, over), nil
}

// created builds the reply and events of a new group: everyone listens,
// notice 6 to the creator and 7 to each initial member.
func (s *Service) created(ctx context.Context, g *Group, owner *Member, kept []*Member, over []string) Outcome {
	if fresh, err := s.store.Group(ctx, g.ID); err == nil {
		g = fresh // with its version, sequence and member count
	} else {
		g.MemberNum = len(kept)
	}
	var events []Event
	invited := []string{}
	ids := []string{}
	for _, m := range kept {
		ids = append(ids, m.UserID)
		if m.UserID != owner.UserID {
			invited = append(invited, m.UserID)
		}
	}
	if len(ids) > 0 {
		events = append(events, Event{Kind: Subscribe, GroupID: g.ID, UserIDs: ids})
	}
	events = append(events, s.notify(ctx, g, owner.UserID, NoticeCreated, "", owner.UserID)...)
	events = append(events, s.notify(ctx, g, owner.UserID, NoticeInvited, "", invited...)...)
	return Outcome{Reply: CreateReply{Group: memberView(g, owner, nil), OverLimitUserIDList: over}, Events: events}
}

// newGroup builds the record and the member list (the owner first).
func (s *Service) newGroup(r *createRequest, owner string) (*Group, []*Member) {
	now := s.now()
	g := &Group{ID: r.GroupID, Type: r.Type, Name: r.Name, Avatar: r.Avatar, Introduction: r.Introduction,
		Notification: r.Notification, OwnerID: owner, CreateTime: now, InfoSeq: 1, LastInfoTime: now,
		MaxMemberNum: MaxMemberNumLimit, JoinOption: r.JoinOption}
	g.Custom, _, _ = mergeCustom("groupCustomField", nil, r.GroupCustomField)
	if r.MaxMemberNum != nil {
		g.MaxMemberNum = *r.MaxMemberNum
	}
	if g.Type.Live() {
		g.MaxMemberNum = 0
	}
	if fixed := fixedJoinOption(g.Type); fixed != "" {
		g.JoinOption = fixed
	} else if g.JoinOption == "" {
		g.JoinOption = FreeAccess
	}
	members := []*Member{{UserID: owner, Role: RoleOwner, JoinTime: now, JoinSeq: 1}}
	seen := map[string]bool{owner: true}
	for _, m := range r.MemberList {
		if seen[m.UserID] {
			continue
		}
		seen[m.UserID] = true
		role := m.Role
		if role == "" {
			role = RoleMember
		}
		custom, _, _ := mergeCustom("memberCustomField", nil, m.MemberCustomField)
		members = append(members, &Member{UserID: m.UserID, Role: role, JoinTime: now, JoinSeq: 1, Custom: custom})
	}
	if g.Type.Live() {
		members = members[:1] // the owner's rights come from ownerID; membership is live
	}
	return g, members
}

// checkIDFree gives 10021 (or 10025 for the caller's own group) when a
// custom ID is taken.
func (s *Service) checkIDFree(ctx context.Context, id, caller string) error {
	g, err := s.store.Group(ctx, id)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil
	case err != nil:
		return err
	case g.OwnerID == caller:
		return Errorf(CodeGroupIDOwned, "groupID: you already own group %s", id)
	}
	return Errorf(CodeGroupIDTaken, "groupID: %s is taken", id)
}

// reserveAll takes a group slot of every member (live rooms take none).
// The owner at its limit fails the call (10037); other members at theirs
// are left out and listed.
func (s *Service) reserveAll(ctx context.Context, g *Group, members []*Member) (kept []*Member, over []string, err error) {
	over = []string{}
	if g.Type.Live() {
		return members[:0], over, nil
	}
	for i, m := range members {
		err := s.store.ReserveGroup(ctx, m.UserID, g.ID, s.opts.GroupLimit)
		switch {
		case errors.Is(err, ErrTooManyGroups) && i == 0:
			return nil, nil, Errorf(CodeTooManyGroups, "you are in %d groups already", s.opts.GroupLimit)
		case errors.Is(err, ErrTooManyGroups):
			over = append(over, m.UserID)
			continue
		case err != nil:
			s.releaseAll(ctx, g, kept)
			return nil, nil, err
		}
		kept = append(kept, m)
	}
	return kept, over, nil
}

// releaseAll undoes reservations after a failed commit, skipping users who
// are members of a group with that ID after all (their slot is real).
func (s *Service) releaseAll(ctx context.Context, g *Group, members []*Member) {
	if len(members) == 0 {
		return
	}
	ids := make([]string, len(members))
	for i, m := range members {
		ids[i] = m.UserID
	}
	existing, err := s.store.Members(ctx, g.ID, ids)
	if err != nil {
		s.opts.Logger.Error("failed to read members to release group slots", "group_id", g.ID, "err", err)
		return
	}
	for _, id := range ids {
		if existing[id] != nil {
			continue
		}
		if err := s.store.ReleaseGroup(ctx, id, g.ID); err != nil {
			s.opts.Logger.Error("failed to release group slot", "group_id", g.ID, "user_id", id, "err", err)
		}
	}
}
