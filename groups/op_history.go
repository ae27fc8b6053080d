package groups

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
)

// History paging sizes (SPEC.md §6.4).
const (
	DefaultPageSize = 15
	MaxPageSize     = 15
	DefaultSyncSize = 100
	MaxSyncSize     = 100
)

type messageListRequest struct {
	ConversationID   string `json:"conversationID"`
	Count            *int   `json:"count"`
	NextReqMessageID string `json:"nextReqMessageID"`
}

// MessageListReply is the reply data of getMessageList.
type MessageListReply struct {
	MessageList      []*Message `json:"messageList"`
	NextReqMessageID string     `json:"nextReqMessageID"`
	IsCompleted      bool       `json:"isCompleted"`
}

// pageSize applies a default and a cap to a requested count.
func pageSize(n *int, def, max int) (int, error) {
	if n == nil || *n == 0 {
		return def, nil
	}
	if *n < 0 {
		return 0, errParam("count: must not be negative, got %d", *n)
	}
	return min(*n, max), nil
}

// The cursor is opaque to clients: "s" + the sequence to read below for a
// group, "n" + the ID of the oldest notice returned for @TIM#SYSTEM.
func groupCursor(seq uint64) string { return "s" + strconv.FormatUint(seq, 10) }

func opGetMessageList(s *Service, ctx context.Context, c Caller, data json.RawMessage) (Outcome, error) {
	var r messageListRequest
	if err := parseData(data, &r); err != nil {
		return Outcome{}, err
	}
	count, err := pageSize(r.Count, DefaultPageSize, MaxPageSize)
	if err != nil {
		return Outcome{}, err
	}
	switch {
	case r.ConversationID == ConvSystem:
		return s.noticePage(ctx, c, r.NextReqMessageID, count)
	case strings.HasPrefix(r.ConversationID, ConvGroup):
		return s.groupPage(ctx, c, strings.TrimPrefix(r.ConversationID, ConvGroup), r.NextReqMessageID, count)
	}
	return Outcome{}, errParam("conversationID: must be GROUP<groupID> or @TIM#SYSTEM, got %q", r.ConversationID)
}

func (s *Service) groupPage(ctx context.Context, c Caller, groupID, cursor string, count int) (Outcome, error) {
	if err := checkGroupIDRef(groupID); err != nil {
		return Outcome{}, errParam("conversationID: GROUP followed by a groupID")
	}
	before := uint64(0)
	if cursor != "" {
		n, err := strconv.ParseUint(strings.TrimPrefix(cursor, "s"), 10, 64)
		if err != nil || !strings.HasPrefix(cursor, "s") || n == 0 {
			return Outcome{}, errParam("nextReqMessageID: not a cursor this server returned")
		}
		before = n
	}
	g, a, err := s.load(ctx, OpGetMessageList, groupID, c.UserID, nil)
	if err != nil {
		return Outcome{}, err
	}
	if g.Type.Live() {
		return Outcome{Reply: MessageListReply{MessageList: []*Message{}, IsCompleted: true}}, nil
	}
	floor := s.readFloor(g, a)
	msgs, err := s.store.Messages(ctx, g.ID, Range{After: floor - 1, Before: before, Limit: count + 1, Newest: true})
	if err != nil {
		return Outcome{}, err
	}
	reply := MessageListReply{IsCompleted: len(msgs) <= count}
	if !reply.IsCompleted {
		msgs = msgs[1:]
	}
	if len(msgs) > 0 {
		reply.NextReqMessageID = groupCursor(msgs[0].Sequence)
	}
	reply.MessageList = withFlow(msgs, c.UserID)
	return Outcome{Reply: reply}, nil
}

// readFloor is the first sequence the actor may read: from its join in
// Private and Public groups, everything retained in ChatRoom (by
// Options.ReadAll) and for App admins.
func (s *Service) readFloor(g *Group, a actor) uint64 {
	if a.appAdmin || s.opts.ReadAll[g.Type] || a.member == nil || a.member.JoinSeq == 0 {
		return 1
	}
	return a.member.JoinSeq
}

// withFlow sets each message's flow for the reader.
func withFlow(msgs []*Message, reader string) []*Message {
	for _, m := range msgs {
		m.Flow = "in"
		if m.From == reader {
			m.Flow = "out"
		}
	}
	if msgs == nil {
		msgs = []*Message{}
	}
	return msgs
}

func (s *Service) noticePage(ctx context.Context, c Caller, cursor string, count int) (Outcome, error) {
	all, err := s.store.Notices(ctx, c.UserID)
	if err != nil {
		return Outcome{}, err
	}
	end := len(all)
	if cursor != "" {
		id := strings.TrimPrefix(cursor, "n")
		if !strings.HasPrefix(cursor, "n") {
			return Outcome{}, errParam("nextReqMessageID: not a cursor this server returned")
		}
		end = 0 // a notice trimmed meanwhile: nothing older is left
		for i, m := range all {
			if m.ID == id {
				end = i
				break
			}
		}
	}
	start := max(0, end-count)
	page := all[start:end]
	reply := MessageListReply{IsCompleted: start == 0, MessageList: withFlow(page, "")}
	if len(page) > 0 {
		reply.NextReqMessageID = "n" + page[0].ID
	}
	return Outcome{Reply: reply}, nil
}

type syncRequest struct {
	GroupID       string `json:"groupID"`
	AfterSequence uint64 `json:"afterSequence"`
	Count         *int   `json:"count"`
}

// SyncReply is the reply data of syncMessages.
type SyncReply struct {
	MessageList    []*Message `json:"messageList"`
	IsCompleted    bool       `json:"isCompleted"`
	OldestSequence uint64     `json:"oldestSequence"`
}

func opSyncMessages(s *Service, ctx context.Context, c Caller, data json.RawMessage) (Outcome, error) {
	var r syncRequest
	if err := parseData(data, &r); err != nil {
		return Outcome{}, err
	}
	if err := checkGroupIDRef(r.GroupID); err != nil {
		return Outcome{}, err
	}
	count, err := pageSize(r.Count, DefaultSyncSize, MaxSyncSize)
	if err != nil {
		return Outcome{}, err
	}
	g, a, err := s.load(ctx, OpSyncMessages, r.GroupID, c.UserID, nil)
	if err != nil {
		return Outcome{}, err
	}
	if g.Type.Live() {
		return Outcome{Reply: SyncReply{MessageList: []*Message{}, IsCompleted: true}}, nil
	}
	after := max(r.AfterSequence, s.readFloor(g, a)-1)
	msgs, err := s.store.Messages(ctx, g.ID, Range{After: after, Limit: count + 1})
	if err != nil {
		return Outcome{}, err
	}
	oldest, err := s.store.OldestSequence(ctx, g.ID)
	if err != nil {
		return Outcome{}, err
	}
	reply := SyncReply{IsCompleted: len(msgs) <= count, OldestSequence: oldest}
	if !reply.IsCompleted {
		msgs = msgs[:count]
	}
	reply.MessageList = withFlow(msgs, c.UserID)
	return Outcome{Reply: reply}, nil
}
