package groups

import (
	"context"
	"encoding/json"
	"sort"
)

type handleRequest struct {
	HandleAction  string   `json:"handleAction"`
	HandleMessage string   `json:"handleMessage"`
	Message       *Message `json:"message"`
	GroupID       string   `json:"groupID"`
	Applicant     string   `json:"applicant"`
}

// resolve fills GroupID and Applicant from a notice-1 message when given.
func (r *handleRequest) resolve() error {
	if r.HandleAction != "Agree" && r.HandleAction != "Reject" {
		return errParam("handleAction: must be Agree or Reject, got %q", r.HandleAction)
	}
	if err := checkLen("handleMessage", r.HandleMessage, MaxNoteBytes); err != nil {
		return err
	}
	if r.Message != nil {
		var p NoticePayload
		if err := json.Unmarshal(r.Message.Payload, &p); err != nil || r.Message.Type != SystemNoticeElem {
			return errParam("message: must be the join-request notice as received")
		}
		r.GroupID, r.Applicant = p.GroupProfile.GroupID, p.OperatorID
	}
	if err := checkGroupIDRef(r.GroupID); err != nil {
		return err
	}
	return checkUserID("applicant", r.Applicant)
}

func opHandleGroupApplication(s *Service, ctx context.Context, c Caller, data json.RawMessage) (Outcome, error) {
	var r handleRequest
	if err := parseData(data, &r); err != nil {
		return Outcome{}, err
	}
	if err := r.resolve(); err != nil {
		return Outcome{}, err
	}
	out, err := retry(ctx, func() (Outcome, error) { return s.handle(ctx, c, &r) })
	if err != nil && r.HandleAction == "Agree" {
		s.releaseUnjoined(ctx, r.GroupID, r.Applicant)
	}
	return out, err
}

func (s *Service) handle(ctx context.Context, c Caller, r *handleRequest) (Outcome, error) {
	g, a, err := s.load(ctx, OpHandleGroupApplication, r.GroupID, c.UserID, nil)
	if err != nil {
		return Outcome{}, err
	}
	app, err := s.pending(ctx, g.ID, r.Applicant)
	if err != nil {
		return Outcome{}, err
	}
	consume := func(ch *Change) { ch.DelApps = []string{app.Applicant} }
	if r.HandleAction == "Reject" {
		ch := &Change{GroupID: g.ID, Version: g.Version}
		consume(ch)
		if err := s.store.Commit(ctx, ch); err != nil {
			return Outcome{}, err
		}
		events := s.notify(ctx, g, c.UserID, NoticeJoinRejected, r.HandleMessage, app.Applicant)
		return Outcome{Reply: GroupReply{Group: a.view(g, nil)}, Events: events}, nil
	}
	return s.approve(ctx, c, g, a, app, r.HandleMessage, consume)
}

// approve admits an applicant and consumes its application in one commit;
// an applicant who became a member meanwhile just has it consumed.
func (s *Service) approve(ctx context.Context, c Caller, g *Group, a actor, app *Application, msg string, consume func(*Change)) (Outcome, error) {
	existing, err := s.member(ctx, g.ID, app.Applicant)
	if err != nil {
		return Outcome{}, err
	}
	if existing != nil {
		ch := &Change{GroupID: g.ID, Version: g.Version}
		consume(ch)
		if err := s.store.Commit(ctx, ch); err != nil {
			return Outcome{}, err
		}
		return Outcome{Reply: GroupReply{Group: a.view(g, nil)}}, nil
	}
	_, tip, err := s.admit(ctx, g, app.Applicant, c.UserID, OpHandleGroupApplication, consume)
	if err != nil {
		return Outcome{}, err
	}
	events := joinedEvents(g, tip, app.Applicant)
	events = append(events, s.notify(ctx, g, c.UserID, NoticeJoinAccepted, msg, app.Applicant)...)
	return Outcome{Reply: GroupReply{Group: a.view(g, nil)}, Events: events}, nil
}

// pending finds a live application (10024 when handled, unknown or
// expired).
func (s *Service) pending(ctx context.Context, groupID, applicant string) (*Application, error) {
	apps, err := s.store.Applications(ctx, groupID)
	if err != nil {
		return nil, err
	}
	cut := s.opts.Now().Add(-ApplicationMaxAge).Unix()
	for _, a := range apps {
		if a.Applicant == applicant && a.Time >= cut {
			return a, nil
		}
	}
	return nil, Errorf(CodeApplicationHandled, "handleGroupApplication: no pending application of %s to group %s (handled, expired or unknown)", applicant, groupID)
}

// ApplicationListReply is the reply data of getGroupApplicationList.
type ApplicationListReply struct {
	ApplicationList []*Application `json:"applicationList"`
}

func opGetGroupApplicationList(s *Service, ctx context.Context, c Caller, _ json.RawMessage) (Outcome, error) {
	joined, err := s.joined(ctx, c.UserID)
	if err != nil {
		return Outcome{}, err
	}
	cut := s.opts.Now().Add(-ApplicationMaxAge).Unix()
	list := []*Application{}
	for _, m := range joined {
		if m.Member.Role != RoleOwner && m.Member.Role != RoleAdmin {
			continue
		}
		apps, err := s.store.Applications(ctx, m.Group.ID)
		if err != nil {
			return Outcome{}, err
		}
		for _, a := range apps {
			if a.Time >= cut {
				list = append(list, a)
			}
		}
	}
	sort.SliceStable(list, func(i, j int) bool { return list[i].Time < list[j].Time })
	return Outcome{Reply: ApplicationListReply{ApplicationList: list}}, nil
}
