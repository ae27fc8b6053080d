package groups

import (
	"context"
	"encoding/json"
	"sort"
)

type groupIDRequest struct {
	GroupID string `json:"groupID"`
}

type profileRequest struct {
	GroupID                string   `json:"groupID"`
	GroupCustomFieldFilter []string `json:"groupCustomFieldFilter"`
}

// GroupReply is the reply data {group} of several ops.
type GroupReply struct {
	Group View `json:"group"`
}

// view is what the actor may see of g: everything for members and App
// admins, the public fields for others.
func (a actor) view(g *Group, filter []string) View {
	if a.member != nil || a.appAdmin {
		return memberView(g, a.member, filter)
	}
	return publicView(g)
}

func opGetGroupProfile(s *Service, ctx context.Context, c Caller, data json.RawMessage) (Outcome, error) {
	var r profileRequest
	if err := parseData(data, &r); err != nil {
		return Outcome{}, err
	}
	if err := checkGroupIDRef(r.GroupID); err != nil {
		return Outcome{}, err
	}
	g, a, err := s.loadAnon(ctx, OpGetGroupProfile, r.GroupID, c)
	if err != nil {
		return Outcome{}, err
	}
	return Outcome{Reply: GroupReply{Group: a.view(g, r.GroupCustomFieldFilter)}}, nil
}

// loadAnon is load for the ops an anonymous connection may call on live
// rooms (SPEC.md §5): on any other group it gives 2024.
func (s *Service) loadAnon(ctx context.Context, op Op, groupID string, c Caller) (*Group, actor, error) {
	if c.UserID != "" {
		return s.load(ctx, op, groupID, c.UserID, nil)
	}
	g, err := s.group(ctx, groupID)
	if err != nil {
		return nil, actor{}, err
	}
	if !g.Type.Live() {
		return nil, actor{}, Errorf(CodeNotLoggedIn, "%s: log in first (anonymous connections may only use live rooms)", op)
	}
	return g, actor{}, nil
}

func opSearchGroupByID(s *Service, ctx context.Context, c Caller, data json.RawMessage) (Outcome, error) {
	var r groupIDRequest
	if err := r.parse(data); err != nil {
		return Outcome{}, err
	}
	if err := checkGroupIDRef(r.GroupID); err != nil {
		return Outcome{}, err
	}
	g, err := s.group(ctx, r.GroupID)
	if err != nil {
		return Outcome{}, err
	}
	if err := authorize(OpSearchGroupByID, g, actor{userID: c.UserID}, nil); err != nil {
		return Outcome{}, Errorf(CodeGroupNotFound, "group %s does not exist", r.GroupID)
	}
	return Outcome{Reply: GroupReply{Group: publicView(g)}}, nil
}

type listRequest struct {
	GroupProfileFilter []string `json:"groupProfileFilter"`
}

// ListReply is the reply data of getGroupList.
type ListReply struct {
	GroupList []View `json:"groupList"`
}

func opGetGroupList(s *Service, ctx context.Context, c Caller, data json.RawMessage) (Outcome, error) {
	var r listRequest
	if err := parseData(data, &r); err != nil {
		return Outcome{}, err
	}
	joined, err := s.joined(ctx, c.UserID)
	if err != nil {
		return Outcome{}, err
	}
	sort.SliceStable(joined, func(i, j int) bool { return lastTime(joined[i].Group) > lastTime(joined[j].Group) })
	list := make([]View, 0, len(joined))
	for _, m := range joined {
		if !m.Group.Type.Live() {
			list = append(list, listView(m.Group, m.Member, r.GroupProfileFilter))
		}
	}
	return Outcome{Reply: ListReply{GroupList: list}}, nil
}

func lastTime(g *Group) int64 {
	if g.Last == nil {
		return g.CreateTime
	}
	return g.Last.LastTime
}

// Membership is one group a user is in, with its member record.
type Membership struct {
	Group  *Group
	Member *Member
}

// joined reads the groups of a user, ordered by group ID. The user's group
// set may hold entries without a membership (a join in flight, or a crash
// between the group commit and the user step): the group is the
// authority, so such entries are skipped. They are not released here,
// since an in-flight join cannot be told from a stale entry.
func (s *Service) joined(ctx context.Context, userID string) ([]Membership, error) {
	ids, err := s.store.UserGroups(ctx, userID)
	if err != nil {
		return nil, err
	}
	out := make([]Membership, 0, len(ids))
	for _, id := range ids {
		g, err := s.store.Group(ctx, id)
		if err != nil && err != ErrNotFound {
			return nil, err
		}
		var m *Member
		if g != nil {
			if m, err = s.member(ctx, id, userID); err != nil {
				return nil, err
			}
		}
		if m == nil {
			continue
		}
		out = append(out, Membership{Group: g, Member: m})
	}
	return out, nil
}

// Subscription is a group a logged-in session listens to.
type Subscription struct {
	GroupID string
	Discard bool
}

// Subscriptions lists the groups whose pushes a user's sessions receive
// (the non-live groups it is a member of), for the transport at login.
func (s *Service) Subscriptions(ctx context.Context, userID string) ([]Subscription, error) {
	joined, err := s.joined(ctx, userID)
	if err != nil {
		return nil, err
	}
	out := make([]Subscription, 0, len(joined))
	for _, m := range joined {
		out = append(out, Subscription{GroupID: m.Group.ID, Discard: m.Member.remind() == Discard})
	}
	return out, nil
}
