package groups

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
)

type sendRequest struct {
	To               string          `json:"to"`
	ConversationType string          `json:"conversationType"`
	Type             string          `json:"type"`
	Payload          json.RawMessage `json:"payload"`
	Priority         Priority        `json:"priority"`
	ID               string          `json:"ID"`
	CloudCustomData  string          `json:"cloudCustomData"`

	show string // messageForShow of the payload
	// text and textShow are payload()'s answer and show for a
	// TIMTextElem when parseSendFast found the payload in its usual form
	// (nil = work it out).
	text     json.RawMessage
	textShow string
}

// MessageReply is the reply data of sendMessage.
type MessageReply struct {
	Message *Message `json:"message"`
}

type textPayload struct {
	Text *string `json:"text"`
}

type customPayload struct {
	Data        string `json:"data"`
	Description string `json:"description"`
	Extension   string `json:"extension"`
}

// validate checks the request and returns the compact payload to store
// (and keeps its summary in r.show).
func (r *sendRequest) validate() (json.RawMessage, error) {
	if err := checkGroupIDRef(r.To); err != nil {
		return nil, errParam("to: required, the groupID")
	}
	if r.ConversationType != "" && r.ConversationType != ConvGroup {
		return nil, errParam("conversationType: must be GROUP, got %q", r.ConversationType)
	}
	if r.Priority == "" {
		r.Priority = Normal
	}
	if !r.Priority.Valid() {
		return nil, errParam("priority: must be High, Normal, Low or Lowest, got %q", r.Priority)
	}
	if r.ID != "" && !printableASCII(r.ID, MaxMessageIDBytes) {
		return nil, errParam("ID: 1..%d bytes of printable ASCII", MaxMessageIDBytes)
	}
	payload, err := r.payload()
	if err != nil {
		return nil, err
	}
	if n := len(payload) + len(r.CloudCustomData); n > MaxMessageBodyBytes {
		return nil, errParam("message body: %d bytes of payload and cloudCustomData, at most %d", n, MaxMessageBodyBytes)
	}
	return payload, nil
}

// payload decodes and re-encodes the payload of its type, compact and with
// only the fields TIM defines.
func (r *sendRequest) payload() (json.RawMessage, error) {
	if len(bytes.TrimSpace(r.Payload)) == 0 {
		return nil, errParam("payload: required")
	}
	switch r.Type {
	case TextElem:
		if r.text != nil {
			r.show = r.textShow
			return r.text, nil
		}
		if b, text, ok := fastTextPayload(r.Payload); ok {
			r.show = text
			return b, nil
		}
		var p textPayload
		if err := json.Unmarshal(r.Payload, &p); err != nil || p.Text == nil {
			return nil, errParam("payload: a TIMTextElem takes {text: string}")
		}
		r.show = *p.Text
		return mustJSON(p), nil
	case CustomElem:
		var p customPayload
		if err := json.Unmarshal(r.Payload, &p); err != nil {
			return nil, errParam("payload: a TIMCustomElem takes {data, description, extension} strings")
		}
		return mustJSON(p), nil
	}
	return nil, errParam("type: must be TIMTextElem or TIMCustomElem, got %q", r.Type)
}

func opSendMessage(s *Service, ctx context.Context, c Caller, data json.RawMessage) (Outcome, error) {
	var r sendRequest
	if !parseSendFast(data, &r) {
		if err := parseData(data, &r); err != nil {
			return Outcome{}, err
		}
	}
	payload, err := r.validate()
	if err != nil {
		return Outcome{}, err
	}
	return retry(ctx, func() (Outcome, error) { return s.send(ctx, c, &r, payload) })
}

func (s *Service) send(ctx context.Context, c Caller, r *sendRequest, payload json.RawMessage) (Outcome, error) {
	var profiles []string
	if c.UserID != "" {
		profiles = []string{c.UserID} // the sender's nick goes with the message
		// The sender's last snapshot of the group, kept by the store,
		// saves the read: the append stores the message only if the group
		// and the sender's profile are still as in it. Out of date, it
		// costs that append or a refusal, and both are decided again on a
		// fresh read.
		if snap := s.store.Recent(r.To, c.UserID); snap != nil && !snap.Group.Type.Live() {
			if m, err := s.decideSend(ctx, c, r, payload, snap); err == nil {
				out, err := s.appendMessage(ctx, snap.Group, m, snap)
				if !errors.Is(err, ErrConflict) {
					return out, err
				}
			}
		}
	}
	snap, err := s.snapshot(ctx, r.To, c.UserID, profiles...)
	if err != nil {
		return Outcome{}, err
	}
	if g := snap.Group; g.Type.Live() {
		a, nick, err := s.sender(ctx, c, snap)
		if err != nil {
			return Outcome{}, err
		}
		return s.sendLive(ctx, c, g, a, r, payload, nick)
	}
	m, err := s.decideSend(ctx, c, r, payload, snap)
	if err != nil {
		return Outcome{}, err
	}
	return s.appendMessage(ctx, snap.Group, m, snap)
}

// sender is the caller as sender on snap, once the group-level rules
// (steps 3 to 7 of SPEC.md §3) let it send, and the nick that goes with
// its message.
func (s *Service) sender(ctx context.Context, c Caller, snap *Snapshot) (actor, string, error) {
	a, err := s.actorOf(ctx, snap.Group, c.UserID, snap.Members[c.UserID])
	if err != nil {
		return actor{}, "", err
	}
	if err := authorize(OpSendMessage, snap.Group, a, nil); err != nil {
		return actor{}, "", err
	}
	nick := ""
	if p := snap.Profiles[c.UserID]; p != nil {
		nick = p.Nick
	}
	return a, nick, nil
}

// decideSend is sendMessage's decision on snap, a group that is not
// live (steps 3 to 10 of SPEC.md §3, no I/O), and the message it lets
// through, stamped with the sender's nick and name card.
func (s *Service) decideSend(ctx context.Context, c Caller, r *sendRequest, payload json.RawMessage, snap *Snapshot) (*Message, error) {
	g := snap.Group
	a, nick, err := s.sender(ctx, c, snap)
	if err != nil {
		return nil, err
	}
	now := s.now()
	if err := checkMuted(g, a, now); err != nil {
		return nil, err
	}
	m := r.message(g, c.UserID, payload, nick, now)
	if a.member != nil {
		m.NameCard = a.member.NameCard
	}
	return m, nil
}

// message builds the Message of a send, stamped with sender and time.
func (r *sendRequest) message(g *Group, from string, payload json.RawMessage, nick string, now int64) *Message {
	return &Message{ID: r.ID, Type: r.Type, Payload: payload, ConversationID: ConvGroup + g.ID,
		ConversationType: ConvGroup, To: g.ID, From: from, Time: now, Priority: r.Priority,
		Nick: nick, CloudCustomData: r.CloudCustomData, Status: "success", show: r.show,
		encoded: true} // payload() encodes
}

// appendMessage stores (or, in a live room, only numbers) m and returns
// the reply and its delivery to every member session but the sender's; a
// resend of an ID within the window returns the first message and
// delivers nothing. With snap (what the decision was made on, holding the
// sender's profile) the sender's profile must be unchanged too.
func (s *Service) appendMessage(ctx context.Context, g *Group, m *Message, snap *Snapshot) (Outcome, error) {
	var stored *Message
	var dup bool
	var err error
	if snap != nil {
		stored, dup, err = s.store.AppendRecent(ctx, m, snap, s.opts.History)
	} else {
		stored, dup, err = s.store.Append(ctx, m, g.Version, g.Type.Live(), s.opts.History)
	}
	if err != nil {
		return Outcome{}, err
	}
	reply := *stored
	reply.Flow = "out"
	out := Outcome{Reply: MessageReply{Message: &reply}}
	if !dup {
		ev := deliverGroup(stored)
		ev.Exclude = true
		ev.Gather = g.Type.Live()
		out.Events = []Event{ev}
	}
	return out, nil
}

// checkMuted is step 10 of sendMessage: a muted sender, or everyone but
// the owner and App admins while muteAllMembers is on (10017).
func checkMuted(g *Group, a actor, now int64) error {
	if a.appAdmin {
		return nil
	}
	until := g.Mutes[a.userID]
	if a.member != nil {
		until = a.member.MuteUntil
	}
	if until > now {
		return Errorf(CodeMuted, "sendMessage: you are muted in group %s until %d", g.ID, until)
	}
	if g.MuteAll && a.role() != RoleOwner && !(g.Type.Live() && a.userID == g.OwnerID) {
		return Errorf(CodeMuted, "sendMessage: all members of group %s are muted", g.ID)
	}
	return nil
}
