package groups

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
)

type memberListRequest struct {
	GroupID string `json:"groupID"`
	Count   *int   `json:"count"`
	Offset  int    `json:"offset"`
}

// MemberListReply is the reply data of getGroupMemberList and
// getGroupMemberProfile.
type MemberListReply struct {
	MemberList []MemberView `json:"memberList"`
}

func opGetGroupMemberList(s *Service, ctx context.Context, c Caller, data json.RawMessage) (Outcome, error) {
	var r memberListRequest
	if err := parseData(data, &r); err != nil {
		return Outcome{}, err
	}
	if err := checkGroupIDRef(r.GroupID); err != nil {
		return Outcome{}, err
	}
	if r.Offset < 0 || (r.Count != nil && *r.Count < 0) {
		return Outcome{}, errParam("count and offset: must not be negative")
	}
	count := DefaultMemberCount
	if r.Count != nil && *r.Count > 0 {
		count = min(*r.Count, MaxMemberCount)
	}
	g, _, err := s.load(ctx, OpGetGroupMemberList, r.GroupID, c.UserID, nil)
	if err != nil {
		return Outcome{}, err
	}
	if g.Type.Live() {
		return s.liveMemberList(ctx, c, g, r.Offset, count)
	}
	all, err := s.store.AllMembers(ctx, g.ID)
	if err != nil {
		return Outcome{}, err
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].JoinTime != all[j].JoinTime {
			return all[i].JoinTime < all[j].JoinTime
		}
		return all[i].UserID < all[j].UserID
	})
	page := all[min(r.Offset, len(all)):min(r.Offset+count, len(all))]
	views, err := s.views(ctx, page, nil)
	return Outcome{Reply: MemberListReply{MemberList: views}}, err
}

// views turns member records into GroupMember objects with profiles.
func (s *Service) views(ctx context.Context, ms []*Member, filter []string) ([]MemberView, error) {
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.UserID
	}
	profiles, err := s.store.Profiles(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]MemberView, len(ms))
	for i, m := range ms {
		out[i] = viewMember(m, profiles[m.UserID], filter)
	}
	return out, nil
}

type memberProfileRequest struct {
	GroupID                 string   `json:"groupID"`
	UserIDList              []string `json:"userIDList"`
	MemberCustomFieldFilter []string `json:"memberCustomFieldFilter"`
}

func opGetGroupMemberProfile(s *Service, ctx context.Context, c Caller, data json.RawMessage) (Outcome, error) {
	var r memberProfileRequest
	if err := parseData(data, &r); err != nil {
		return Outcome{}, err
	}
	if err := checkGroupIDRef(r.GroupID); err != nil {
		return Outcome{}, err
	}
	if len(r.UserIDList) > MaxProfileUsers {
		r.UserIDList = r.UserIDList[:MaxProfileUsers] // SPEC.md §2: the rest are dropped
	}
	if err := checkUserIDs("userIDList", r.UserIDList, 1, MaxProfileUsers); err != nil {
		return Outcome{}, err
	}
	g, _, err := s.load(ctx, OpGetGroupMemberProfile, r.GroupID, c.UserID, nil)
	if err != nil {
		return Outcome{}, err
	}
	found, err := s.store.Members(ctx, g.ID, r.UserIDList)
	if err != nil {
		return Outcome{}, err
	}
	list := make([]*Member, 0, len(found))
	seen := map[string]bool{}
	for _, u := range r.UserIDList {
		if m := found[u]; m != nil && !seen[u] {
			seen[u] = true
			list = append(list, m)
		}
	}
	views, err := s.views(ctx, list, r.MemberCustomFieldFilter)
	return Outcome{Reply: MemberListReply{MemberList: views}}, err
}

type usersRequest struct {
	GroupID    string   `json:"groupID"`
	UserIDList []string `json:"userIDList"`
	Reason     string   `json:"reason"`
}

// AddReply is the reply data of addGroupMember.
type AddReply struct {
	SuccessUserIDList []string `json:"successUserIDList"`
	FailureUserIDList []string `json:"failureUserIDList"`
	ExistedUserIDList []string `json:"existedUserIDList"`
	Group             View     `json:"group"`
}

func opAddGroupMember(s *Service, ctx context.Context, c Caller, data json.RawMessage) (Outcome, error) {
	var r usersRequest
	if err := parseData(data, &r); err != nil {
		return Outcome{}, err
	}
	if err := checkGroupIDRef(r.GroupID); err != nil {
		return Outcome{}, err
	}
	if err := checkUserIDs("userIDList", r.UserIDList, 1, MaxAddMembers); err != nil {
		return Outcome{}, err
	}
	ids := dedupe(r.UserIDList)
	out, err := retry(ctx, func() (Outcome, error) { return s.add(ctx, c, r.GroupID, ids) })
	if err != nil {
		s.releaseUnjoined(ctx, r.GroupID, ids...)
	}
	return out, err
}

func dedupe(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

func (s *Service) add(ctx context.Context, c Caller, groupID string, ids []string) (Outcome, error) {
	g, a, err := s.load(ctx, OpAddGroupMember, groupID, c.UserID, nil)
	if err != nil {
		return Outcome{}, err
	}
	found, err := s.store.Members(ctx, g.ID, ids)
	if err != nil {
		return Outcome{}, err
	}
	reply := AddReply{SuccessUserIDList: []string{}, FailureUserIDList: []string{}, ExistedUserIDList: []string{}}
	now := s.now()
	var added []*Member
	for _, id := range ids {
		if found[id] != nil {
			reply.ExistedUserIDList = append(reply.ExistedUserIDList, id)
			continue
		}
		err := s.store.ReserveGroup(ctx, id, g.ID, s.opts.GroupLimit)
		switch {
		case errors.Is(err, ErrTooManyGroups):
			reply.FailureUserIDList = append(reply.FailureUserIDList, id)
			continue
		case err != nil:
			s.releaseAll(ctx, g, added)
			return Outcome{}, err
		}
		added = append(added, &Member{UserID: id, Role: RoleMember, JoinTime: now, JoinSeq: JoinSeqAtTip})
	}
	if g.MemberNum+len(added) > g.MaxMemberNum {
		s.releaseAll(ctx, g, added)
		return Outcome{}, Errorf(CodeGroupFull, "addGroupMember: %d more members would overflow maxMemberNum %d", len(added), g.MaxMemberNum)
	}
	if len(added) == 0 {
		reply.Group = a.view(g, nil)
		return Outcome{Reply: reply}, nil
	}
	return s.commitAdd(ctx, c, g, a, added, reply)
}

// commitAdd commits invited members with one tip 1 and notice 7 to each.
func (s *Service) commitAdd(ctx context.Context, c Caller, g *Group, a actor, added []*Member, reply AddReply) (Outcome, error) {
	now := s.now()
	rec := g.clone()
	for _, m := range added {
		m.MuteUntil = rec.takeMute(m.UserID, now)
		reply.SuccessUserIDList = append(reply.SuccessUserIDList, m.UserID)
	}
	tip := newTip(g, now, TipPayload{OperatorID: c.UserID, OperationType: TipJoin, UserIDList: reply.SuccessUserIDList})
	ch := &Change{GroupID: g.ID, Version: g.Version, Put: added}
	if len(rec.Mutes) != len(g.Mutes) {
		ch.Group = rec
	}
	if err := s.commitTips(ctx, ch, g, tip); err != nil {
		if !errors.Is(err, ErrConflict) {
			s.releaseAll(ctx, g, added)
		}
		return Outcome{}, err
	}
	g.MemberNum += len(added)
	reply.Group = a.view(g, nil)
	events := joinedEvents(g, tip, reply.SuccessUserIDList...)
	events = append(events, s.notify(ctx, g, c.UserID, NoticeInvited, "", reply.SuccessUserIDList...)...)
	return Outcome{Reply: reply, Events: events}, nil
}
