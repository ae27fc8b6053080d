package groups

import (
	"context"
	"encoding/json"
)

type updateRequest struct {
	GroupID          string      `json:"groupID"`
	Name             *string     `json:"name"`
	Avatar           *string     `json:"avatar"`
	Introduction     *string     `json:"introduction"`
	Notification     *string     `json:"notification"`
	MaxMemberNum     *int        `json:"maxMemberNum"`
	MuteAllMembers   *bool       `json:"muteAllMembers"`
	JoinOption       *JoinOption `json:"joinOption"`
	GroupCustomField []KV        `json:"groupCustomField"`
}

func (r *updateRequest) validate() error {
	if err := checkGroupIDRef(r.GroupID); err != nil {
		return err
	}
	if r.Name != nil && (len(*r.Name) == 0 || len(*r.Name) > MaxNameBytes) {
		return errParam("name: 1..%d bytes, got %d", MaxNameBytes, len(*r.Name))
	}
	for _, f := range []struct {
		name string
		v    *string
		max  int
	}{{"avatar", r.Avatar, MaxGroupAvatarBytes}, {"introduction", r.Introduction, MaxIntroBytes}, {"notification", r.Notification, MaxNotificationBytes}} {
		if f.v != nil {
			if err := checkLen(f.name, *f.v, f.max); err != nil {
				return err
			}
		}
	}
	if r.MaxMemberNum != nil && (*r.MaxMemberNum < 0 || *r.MaxMemberNum > MaxMemberNumLimit) {
		return errParam("maxMemberNum: must be 1..%d, got %d", MaxMemberNumLimit, *r.MaxMemberNum)
	}
	if r.JoinOption != nil && !r.JoinOption.Valid() {
		return errParam("joinOption: must be FreeAccess, NeedPermission or DisableApply, got %q", *r.JoinOption)
	}
	return checkCustom("groupCustomField", r.GroupCustomField)
}

// typeParams is step 5 of updateGroupProfile: fields the type does not take.
func (r *updateRequest) typeParams(g *Group) error {
	if r.MuteAllMembers != nil && g.Type == Private {
		return errNoPermission("muteAllMembers: not supported in Private groups")
	}
	if fixed := fixedJoinOption(g.Type); fixed != "" && r.JoinOption != nil && *r.JoinOption != fixed {
		return errParam("joinOption: %s groups are always %s", g.Type, fixed)
	}
	return checkMaxMemberNum(g.Type, r.MaxMemberNum)
}

// apply edits rec with the request and returns the changed fields, as
// tip 6's newGroupProfile.
func (r *updateRequest) apply(rec *Group) (map[string]any, error) {
	changed := map[string]any{}
	setString := func(key string, v *string, field *string) {
		if v != nil && *v != *field {
			*field = *v
			changed[key] = *v
		}
	}
	setString("name", r.Name, &rec.Name)
	setString("avatar", r.Avatar, &rec.Avatar)
	setString("introduction", r.Introduction, &rec.Introduction)
	setString("notification", r.Notification, &rec.Notification)
	if r.MaxMemberNum != nil && *r.MaxMemberNum != rec.MaxMemberNum {
		rec.MaxMemberNum = *r.MaxMemberNum
		changed["maxMemberNum"] = *r.MaxMemberNum
	}
	if r.MuteAllMembers != nil && *r.MuteAllMembers != rec.MuteAll {
		rec.MuteAll = *r.MuteAllMembers
		changed["muteAllMembers"] = *r.MuteAllMembers
	}
	if r.JoinOption != nil && *r.JoinOption != rec.JoinOption {
		rec.JoinOption = *r.JoinOption
		changed["joinOption"] = *r.JoinOption
	}
	if r.GroupCustomField != nil {
		custom, diff, err := mergeCustom("groupCustomField", rec.Custom, r.GroupCustomField)
		if err != nil {
			return nil, err
		}
		if diff {
			rec.Custom = custom
			changed["groupCustomField"] = r.GroupCustomField
		}
	}
	return changed, nil
}

func opUpdateGroupProfile(s *Service, ctx context.Context, c Caller, data json.RawMessage) (Outcome, error) {
	var r updateRequest
	if err := parseData(data, &r); err != nil {
		return Outcome{}, err
	}
	if err := r.validate(); err != nil {
		return Outcome{}, err
	}
	return retry(ctx, func() (Outcome, error) { return s.update(ctx, c, &r) })
}

func (s *Service) update(ctx context.Context, c Caller, r *updateRequest) (Outcome, error) {
	g, a, err := s.load(ctx, OpUpdateGroupProfile, r.GroupID, c.UserID, r.typeParams)
	if err != nil {
		return Outcome{}, err
	}
	if r.MuteAllMembers != nil && !a.appAdmin && a.role() != RoleOwner {
		return Outcome{}, errNoPermission("muteAllMembers: only the owner or an App admin may")
	}
	rec := g.clone()
	changed, err := r.apply(rec)
	if err != nil {
		return Outcome{}, err
	}
	if v, ok := changed["maxMemberNum"]; ok && !g.Type.Live() && v.(int) < g.MemberNum {
		return Outcome{}, errParam("maxMemberNum: %d is below the %d members", v, g.MemberNum)
	}
	if len(changed) == 0 {
		return Outcome{Reply: GroupReply{Group: a.view(g, nil)}}, nil
	}
	now := s.now()
	rec.InfoSeq++
	rec.LastInfoTime = now
	tip := newTip(g, now, TipPayload{OperatorID: c.UserID, OperationType: TipProfileUpdated, NewGroupProfile: changed})
	if err := s.commitTips(ctx, &Change{GroupID: g.ID, Version: g.Version, Group: rec}, g, tip); err != nil {
		return Outcome{}, err
	}
	rec.Version, rec.MemberNum, rec.Seq, rec.Last = g.Version+1, g.MemberNum, g.Seq, g.Last
	return Outcome{Reply: GroupReply{Group: a.view(rec, nil)}, Events: []Event{deliverGroup(tip)}}, nil
}

// commitTips commits ch with tips: stored with sequences in non-live
// groups; a live room's tips take no sequence and are not stored (§5). It
// updates g's sequence and last message on success.
func (s *Service) commitTips(ctx context.Context, ch *Change, g *Group, tips ...*Message) error {
	if !g.Type.Live() {
		ch.Tips = tips
		ch.Keep = s.opts.History
	}
	if err := s.store.Commit(ctx, ch); err != nil {
		return err
	}
	for _, t := range tips {
		if g.Type.Live() {
			t.ID = "tip-" + g.ID + "-" + randomID(12)
			continue
		}
		g.Seq = t.Sequence
		g.Last = lastOf(t)
	}
	return nil
}

func opDismissGroup(s *Service, ctx context.Context, c Caller, data json.RawMessage) (Outcome, error) {
	var r groupIDRequest
	if err := r.parse(data); err != nil {
		return Outcome{}, err
	}
	if err := checkGroupIDRef(r.GroupID); err != nil {
		return Outcome{}, err
	}
	return retry(ctx, func() (Outcome, error) { return s.dismiss(ctx, c, r.GroupID) })
}

func (s *Service) dismiss(ctx context.Context, c Caller, groupID string) (Outcome, error) {
	g, _, err := s.load(ctx, OpDismissGroup, groupID, c.UserID, nil)
	if err != nil {
		return Outcome{}, err
	}
	if g.Type.Live() {
		return s.dismissLive(ctx, c, g)
	}
	members, err := s.store.AllMembers(ctx, g.ID)
	if err != nil {
		return Outcome{}, err
	}
	if err := s.store.Commit(ctx, &Change{GroupID: g.ID, Version: g.Version, Delete: true}); err != nil {
		return Outcome{}, err
	}
	ids := make([]string, len(members))
	for i, m := range members {
		ids[i] = m.UserID
		s.release(ctx, m.UserID, g.ID)
	}
	events := s.notify(ctx, g, c.UserID, NoticeDismissed, "", ids...)
	events = append(events, Event{Kind: DropGroup, GroupID: g.ID})
	return Outcome{Reply: groupIDRequest{GroupID: g.ID}, Events: events}, nil
}

type changeOwnerRequest struct {
	GroupID    string `json:"groupID"`
	NewOwnerID string `json:"newOwnerID"`
}

func opChangeGroupOwner(s *Service, ctx context.Context, c Caller, data json.RawMessage) (Outcome, error) {
	var r changeOwnerRequest
	if err := parseData(data, &r); err != nil {
		return Outcome{}, err
	}
	if err := checkGroupIDRef(r.GroupID); err != nil {
		return Outcome{}, err
	}
	if err := checkUserID("newOwnerID", r.NewOwnerID); err != nil {
		return Outcome{}, err
	}
	return retry(ctx, func() (Outcome, error) { return s.changeOwner(ctx, c, &r) })
}

func (s *Service) changeOwner(ctx context.Context, c Caller, r *changeOwnerRequest) (Outcome, error) {
	g, a, err := s.load(ctx, OpChangeGroupOwner, r.GroupID, c.UserID, nil, r.NewOwnerID)
	if err != nil {
		return Outcome{}, err
	}
	target, err := s.member(ctx, g.ID, r.NewOwnerID)
	if err != nil {
		return Outcome{}, err
	}
	if target == nil {
		return Outcome{}, Errorf(CodeNotMember, "newOwnerID: %s is not a member of group %s", r.NewOwnerID, g.ID)
	}
	rec := g.clone()
	rec.OwnerID = target.UserID
	put := []*Member{}
	if g.OwnerID != "" {
		if old, err := s.member(ctx, g.ID, g.OwnerID); err != nil {
			return Outcome{}, err
		} else if old != nil {
			old.Role = RoleMember
			put = append(put, old)
		}
	}
	target.Role, target.MuteUntil = RoleOwner, 0
	put = append(put, target)
	now := s.now()
	tip := newTip(g, now, TipPayload{OperatorID: c.UserID, OperationType: TipProfileUpdated,
		NewGroupProfile: map[string]any{"ownerID": target.UserID}})
	if err := s.commitTips(ctx, &Change{GroupID: g.ID, Version: g.Version, Group: rec, Put: put}, g, tip); err != nil {
		return Outcome{}, err
	}
	rec.Seq, rec.Last, rec.MemberNum = g.Seq, g.Last, g.MemberNum
	self := a.member
	if self != nil {
		self.Role = RoleMember
	}
	return Outcome{Reply: GroupReply{Group: memberView(rec, self, nil)}, Events: []Event{deliverGroup(tip)}}, nil
}
