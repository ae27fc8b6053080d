package groups

import (
	"encoding/json"
	"strconv"
)

// Message types and conversation types, as on the wire.
const (
	TextElem         = "TIMTextElem"
	CustomElem       = "TIMCustomElem"
	GroupTipElem     = "TIMGroupTipElem"
	SystemNoticeElem = "TIMGroupSystemNoticeElem"

	ConvGroup  = "GROUP"
	ConvSystem = "@TIM#SYSTEM"
)

// Tip operation types (TIM's TIM.TYPES.GRP_TIP_*).
const (
	TipJoin           = 1
	TipQuit           = 2
	TipKick           = 3
	TipSetAdmin       = 4
	TipCancelAdmin    = 5
	TipProfileUpdated = 6
	TipMemberUpdated  = 7
)

// System notice operation types (TIM's group system notice types).
const (
	NoticeJoinRequest   = 1
	NoticeJoinAccepted  = 2
	NoticeJoinRejected  = 3
	NoticeKicked        = 4
	NoticeDismissed     = 5
	NoticeCreated       = 6
	NoticeInvited       = 7
	NoticeQuit          = 8
	NoticeSetAdmin      = 9
	NoticeCanceledAdmin = 10
)

// Message is a chat message, group tip or group system notice (SPEC.md
// §6.3). Flow is not stored: the transport sets it per recipient.
type Message struct {
	ID               string          `json:"ID"`
	Type             string          `json:"type"`
	Payload          json.RawMessage `json:"payload"`
	ConversationID   string          `json:"conversationID"`
	ConversationType string          `json:"conversationType"`
	To               string          `json:"to"`
	From             string          `json:"from"`
	Flow             string          `json:"flow"`
	Time             int64           `json:"time"`
	Sequence         uint64          `json:"sequence"`
	Priority         Priority        `json:"priority"`
	Nick             string          `json:"nick"`
	NameCard         string          `json:"nameCard"`
	CloudCustomData  string          `json:"cloudCustomData"`
	Status           string          `json:"status"`

	// show is messageForShow's answer when the sender already decoded
	// the payload ("" = decode it).
	show string
	// noticeType is NoticeType's answer for a notice built here (0 =
	// decode the payload).
	noticeType int
	// encoded: Payload is as encoding/json writes it (valid, compact,
	// HTML-escaped), so AppendJSON copies it unchecked. Only messages
	// built here are so marked; one read back from the store is checked.
	encoded bool
}

// Chat reports whether m is a chat message (not a tip or notice).
func (m *Message) Chat() bool { return m.Type == TextElem || m.Type == CustomElem }

// TipPayload is the payload of a TIMGroupTipElem.
type TipPayload struct {
	OperatorID      string         `json:"operatorID"`
	OperationType   int            `json:"operationType"`
	UserIDList      []string       `json:"userIDList"`
	NewGroupProfile map[string]any `json:"newGroupProfile,omitempty"`
	MemberList      []TipMember    `json:"memberList,omitempty"`
}

// TipMember is one entry of a tip's memberList (tip 7: mutes).
type TipMember struct {
	UserID   string `json:"userID"`
	MuteTime int64  `json:"muteTime"`
}

// NoticePayload is the payload of a TIMGroupSystemNoticeElem.
type NoticePayload struct {
	OperatorID       string      `json:"operatorID"`
	OperationType    int         `json:"operationType"`
	GroupProfile     NoticeGroup `json:"groupProfile"`
	HandleMessage    string      `json:"handleMessage"`
	UserDefinedField string      `json:"userDefinedField"`
}

// NoticeGroup is the groupProfile of a system notice.
type NoticeGroup struct {
	GroupID string `json:"groupID"`
	Name    string `json:"name"`
	Type    Type   `json:"type"`
}

// NoticeType returns the operationType of a system notice, 0 for others.
func (m *Message) NoticeType() int {
	if m.Type != SystemNoticeElem {
		return 0
	}
	if m.noticeType != 0 {
		return m.noticeType
	}
	var p struct {
		OperationType int `json:"operationType"`
	}
	_ = json.Unmarshal(m.Payload, &p)
	return p.OperationType
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic("groups: cannot encode " + err.Error()) // only our own types get here
	}
	return b
}

// newTip builds a group tip; the store assigns its sequence and ID for
// non-live groups.
func newTip(g *Group, now int64, p TipPayload) *Message {
	if p.UserIDList == nil {
		p.UserIDList = []string{}
	}
	return &Message{
		Type:             GroupTipElem,
		Payload:          p.appendJSON(nil),
		encoded:          true,
		ConversationID:   ConvGroup + g.ID,
		ConversationType: ConvGroup,
		To:               g.ID,
		From:             p.OperatorID,
		Time:             now,
		Priority:         Normal,
		Status:           "success",
	}
}

// newNotice builds the system notice of type typ to one user.
func newNotice(g *Group, to, operator string, typ int, now int64, handleMsg string) *Message {
	return &Message{
		noticeType: typ,
		encoded:    true,
		ID:         "sys-" + to + "-" + strconv.FormatInt(now, 36) + "-" + randomID(8),
		Type:       SystemNoticeElem,
		Payload: (&NoticePayload{
			OperatorID:    operator,
			OperationType: typ,
			GroupProfile:  NoticeGroup{GroupID: g.ID, Name: g.Name, Type: g.Type},
			HandleMessage: handleMsg,
		}).appendJSON(nil),
		ConversationID:   ConvSystem,
		ConversationType: ConvSystem,
		To:               to,
		From:             ConvSystem,
		Time:             now,
		Priority:         Normal,
		Status:           "success",
	}
}

// groupMessageID is the ID the server gives a group message or tip that
// came without one: unique per group and sequence, so unique in the cluster.
func groupMessageID(groupID string, seq uint64) string {
	return "grp-" + groupID + "-" + strconv.FormatUint(seq, 10)
}

// messageForShow is the short text of a message for lastMessage summaries,
// as TIM shows it in conversation lists.
func messageForShow(m *Message) string {
	if m.show != "" {
		return m.show
	}
	switch m.Type {
	case TextElem:
		var p struct {
			Text string `json:"text"`
		}
		_ = json.Unmarshal(m.Payload, &p)
		return p.Text
	case CustomElem:
		var p struct {
			Description string `json:"description"`
		}
		_ = json.Unmarshal(m.Payload, &p)
		if p.Description != "" {
			return p.Description
		}
		return "[custom message]"
	case GroupTipElem:
		return "[group tip]"
	}
	return "[system notice]"
}
