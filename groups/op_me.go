package groups

import (
	"context"
	"encoding/json"
)

type profileUpdate struct {
	Nick   *string `json:"nick"`
	Avatar *string `json:"avatar"`
}

// ProfileReply is the reply data of updateMyProfile and getMyProfile.
type ProfileReply struct {
	Profile *Profile `json:"profile"`
}

func opUpdateMyProfile(s *Service, ctx context.Context, c Caller, data json.RawMessage) (Outcome, error) {
	var r profileUpdate
	if err := parseData(data, &r); err != nil {
		return Outcome{}, err
	}
	if r.Nick != nil {
		if err := checkLen("nick", *r.Nick, MaxNickBytes); err != nil {
			return Outcome{}, err
		}
	}
	if r.Avatar != nil {
		if err := checkLen("avatar", *r.Avatar, MaxProfileAvatar); err != nil {
			return Outcome{}, err
		}
	}
	p, err := s.profile(ctx, c.UserID)
	if err != nil {
		return Outcome{}, err
	}
	if r.Nick != nil {
		p.Nick = *r.Nick
	}
	if r.Avatar != nil {
		p.Avatar = *r.Avatar
	}
	if err := s.store.SetProfile(ctx, p); err != nil {
		return Outcome{}, err
	}
	return Outcome{Reply: ProfileReply{Profile: p}}, nil
}

func opGetMyProfile(s *Service, ctx context.Context, c Caller, _ json.RawMessage) (Outcome, error) {
	p, err := s.profile(ctx, c.UserID)
	return Outcome{Reply: ProfileReply{Profile: p}}, err
}

// profile reads a user's profile, empty when it has none.
func (s *Service) profile(ctx context.Context, userID string) (*Profile, error) {
	ps, err := s.store.Profiles(ctx, []string{userID})
	if err != nil {
		return nil, err
	}
	if p := ps[userID]; p != nil {
		return p, nil
	}
	return &Profile{UserID: userID}, nil
}

// CountReply is the reply data of getGroupOnlineMemberCount.
type CountReply struct {
	MemberCount int `json:"memberCount"`
}

func opGetGroupOnlineMemberCount(s *Service, ctx context.Context, c Caller, data json.RawMessage) (Outcome, error) {
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
	if !g.Type.Live() {
		if c.UserID == "" {
			return Outcome{}, Errorf(CodeNotLoggedIn, "getGroupOnlineMemberCount: log in first (anonymous connections may only use live rooms)")
		}
		return Outcome{Reply: CountReply{}}, nil
	}
	return s.liveCount(ctx, g)
}
