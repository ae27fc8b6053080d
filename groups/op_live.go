package groups

import "context"

// Live rooms (SPEC.md §5) keep membership per session in presence, not in
// the store. Until that is wired in, their membership ops answer 10002 so
// a client retries later rather than believing a half-made join.

func (s *Service) joinLive(_ context.Context, _ Caller, g *Group) (Outcome, error) {
	return Outcome{}, Errorf(CodeInternal, "joinGroup: live room %s cannot be joined on this node yet", g.ID)
}

func (s *Service) quitLive(_ context.Context, _ Caller, g *Group) (Outcome, error) {
	return Outcome{}, Errorf(CodeInternal, "quitGroup: live room %s cannot be left on this node yet", g.ID)
}

func (s *Service) sendLive(_ context.Context, _ Caller, g *Group, _ *sendRequest, _ []byte, _ string) (Outcome, error) {
	return Outcome{}, Errorf(CodeInternal, "sendMessage: live room %s is not served on this node yet", g.ID)
}

func (s *Service) liveMemberList(_ context.Context, _ Caller, g *Group, _, _ int) (Outcome, error) {
	return Outcome{}, Errorf(CodeInternal, "getGroupMemberList: live room %s is not served on this node yet", g.ID)
}

func (s *Service) liveCount(_ context.Context, g *Group) (Outcome, error) {
	return Outcome{}, Errorf(CodeInternal, "getGroupOnlineMemberCount: live room %s is not served on this node yet", g.ID)
}
