package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"

	"chatd/groups"
	"chatd/hub"
	"chatd/internal/jsonscan"
)

// maxIDBytes bounds a string request id (PROTOCOL.md Frames).
const maxIDBytes = 64

var nullID = json.RawMessage("null")

// request is one decoded client frame.
type request struct {
	ID   json.RawMessage // as sent; "null" when absent or invalid
	Op   string
	Data json.RawMessage
}

// frameError is a bad frame: the reply's code and message, with the id to
// echo (null when the frame had no usable id).
type frameError struct {
	id   json.RawMessage
	code int
	msg  string
}

func (e *frameError) Error() string { return e.msg }

// decodeRequest parses a text frame into a request, or returns the
// frameError to reply with (PROTOCOL.md: 10011 for invalid JSON, 10004 for
// a frame of the wrong shape).
func decodeRequest(p []byte) (*request, error) {
	if r := fastRequest(p); r != nil {
		return r, nil
	}
	return slowRequest(p)
}

// slowRequest is decodeRequest through encoding/json: every frame the
// fast path does not take, and the errors.
func slowRequest(p []byte) (*request, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(p, &raw); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) || !json.Valid(p) {
			return nil, &frameError{nullID, groups.CodeInvalidJSON, "frame is not valid JSON"}
		}
		return nil, &frameError{nullID, groups.CodeInvalidParam, "frame must be a JSON object"}
	}
	if raw == nil {
		return nil, &frameError{nullID, groups.CodeInvalidParam, "frame must be a JSON object"}
	}
	r := &request{ID: nullID, Data: raw["data"]}
	id, ok := raw["id"]
	if !ok || !validID(id) {
		return nil, &frameError{nullID, groups.CodeInvalidParam, "id: must be a number or a string of at most 64 bytes"}
	}
	r.ID = id
	if err := json.Unmarshal(raw["op"], &r.Op); err != nil || r.Op == "" {
		return nil, &frameError{r.ID, groups.CodeInvalidParam, "op: required, a string"}
	}
	if d := bytes.TrimSpace(r.Data); len(d) > 0 && d[0] != '{' && string(d) != "null" {
		return nil, &frameError{r.ID, groups.CodeInvalidParam, "data: must be an object"}
	}
	return r, nil
}

// fastRequest decodes the usual frame without encoding/json's reflection
// and maps: a valid JSON object whose keys, op and string id hold no
// escapes and appear once, with a good id, a non-empty op and object or
// null data. It returns nil for anything else, which slowRequest then
// decodes (or refuses) exactly as before; a fuzz test holds the two to
// the same answers.
func fastRequest(p []byte) *request {
	if !json.Valid(p) {
		return nil
	}
	var id, op, data []byte
	ok := jsonscan.Fields(p, func(key, val []byte) bool {
		var dst *[]byte
		switch string(key) {
		case "id":
			dst = &id
		case "op":
			dst = &op
		case "data":
			dst = &data
		default:
			return true
		}
		if *dst != nil {
			return false
		}
		*dst = val
		return true
	})
	if !ok {
		return nil
	}
	if id == nil || op == nil {
		return nil
	}
	switch c := id[0]; {
	case c == '"':
		s, _, ok := jsonscan.PlainString(id, 0)
		if !ok || len(s) > maxIDBytes {
			return nil
		}
	case c != '-' && (c < '0' || c > '9'):
		return nil
	}
	opName, _, ok := jsonscan.PlainString(op, 0)
	if !ok || len(opName) == 0 {
		return nil
	}
	if data != nil && data[0] != '{' && string(data) != "null" {
		return nil
	}
	return &request{ID: json.RawMessage(id), Op: string(opName), Data: json.RawMessage(data)}
}

// validID reports whether an id is a JSON number or a string of at most
// 64 bytes.
func validID(id json.RawMessage) bool {
	if len(id) == 0 {
		return false
	}
	switch c := id[0]; {
	case c == '"':
		var s string
		return json.Unmarshal(id, &s) == nil && len(s) <= maxIDBytes
	case c == '-' || (c >= '0' && c <= '9'):
		var n json.Number
		return json.Unmarshal(id, &n) == nil
	}
	return false
}

// reply is a server reply frame.
type reply struct {
	ID      json.RawMessage `json:"id"`
	Code    int             `json:"code"`
	Message string          `json:"message,omitempty"`
	Data    any             `json:"data,omitempty"`
}

// encodeReply encodes the reply to id: data on success (code 0), else the
// code and message.
func encodeReply(id json.RawMessage, code int, msg string, data any) []byte {
	if code != 0 {
		data = nil
	}
	b, err := json.Marshal(reply{ID: id, Code: code, Message: msg, Data: data})
	if err != nil {
		b, _ = json.Marshal(reply{ID: id, Code: groups.CodeInternal, Message: "internal error: cannot encode the reply"})
	}
	return b
}

// encodeSuccess is encodeReply of a success. The reply of sendMessage
// carries the sent message with flow "out", which apply has just encoded
// for the sender's other sessions: those bytes are reused.
func encodeSuccess(id json.RawMessage, data any, envs []*hub.Envelope) []byte {
	if r, ok := data.(groups.MessageReply); ok && r.Message != nil {
		m := r.Message
		for _, env := range envs {
			if env.Kind == hub.KindPush && env.Out != nil && env.Seq == m.Sequence && env.GroupID == m.To && m.Flow == "out" {
				b := make([]byte, 0, len(id)+len(env.Out)+40)
				b = append(append(append(b, `{"id":`...), id...), `,"code":0,"data":{"message":`...)
				return append(append(b, env.Out...), "}}"...)
			}
		}
	}
	if a, ok := data.(jsonAppender); ok {
		b := make([]byte, 0, 512)
		b = append(b, `{"id":`...)
		if id == nil {
			b = append(b, "null"...)
		} else {
			b = append(b, id...)
		}
		if b, err := a.AppendJSON(append(b, `,"code":0,"data":`...)); err == nil {
			return append(b, '}')
		}
	}
	return encodeReply(id, 0, "", data)
}

// jsonAppender is reply data that encodes itself (the replies holding
// group views): the bytes json.Marshal would write, without reflection.
type jsonAppender interface {
	AppendJSON(b []byte) ([]byte, error)
}

// push is a server push frame.
type push struct {
	Event string `json:"event"`
	Data  any    `json:"data"`
}

// encodePush encodes a push frame.
func encodePush(event string, data any) []byte {
	b, err := json.Marshal(push{Event: event, Data: data})
	if err != nil {
		panic("server: cannot encode push " + event + ": " + err.Error()) // only our own types get here
	}
	return b
}

// encodeMessage encodes one Message with the given flow, as an element of
// an onMessageReceived array.
func encodeMessage(m *groups.Message, flow string) []byte {
	c := *m
	c.Flow = flow
	n := 320 + len(m.ID) + len(m.Payload) + len(m.Nick) + len(m.NameCard) + len(m.CloudCustomData)
	b, err := c.AppendJSON(make([]byte, 0, n))
	if err != nil {
		panic("server: cannot encode message: " + err.Error())
	}
	return b
}

// flowIn is how encodeMessage writes the flow "in" and the field after it.
const flowIn = `,"flow":"in","time":`

// encodeFlows is encodeMessage(m, "in") and encodeMessage(m, "out") with
// one encode: the flow is the only difference. The last flowIn is the
// message's own: the fields after it are numbers and escaped strings,
// which cannot hold its quotes.
func encodeFlows(m *groups.Message) (in, out []byte) {
	in = encodeMessage(m, "in")
	i := bytes.LastIndex(in, []byte(flowIn))
	if i < 0 {
		return in, encodeMessage(m, "out")
	}
	out = make([]byte, 0, len(in)+1)
	out = append(append(append(out, in[:i]...), `,"flow":"out","time":`...), in[i+len(flowIn):]...)
	return in, out
}

// noticeFrame is the receiveGroupSystemNotice push that accompanies every
// group system notice.
// in is the notice as encodeFlows encoded it (compact, HTML-safe), so
// the frame is put together as it is, as encodePush would write it.
func noticeFrame(m *groups.Message, in []byte) []byte {
	const head = `{"event":"receiveGroupSystemNotice","data":{"type":`
	b := make([]byte, 0, len(head)+len(in)+32)
	b = strconv.AppendInt(append(b, head...), int64(m.NoticeType()), 10)
	b = append(append(b, `,"message":`...), in...)
	return append(b, "}}"...)
}

// ResyncFrame is the resync push (PROTOCOL.md) for the named groups, or
// every group of the session when none are named: the node may have
// missed pushes and clients recover as after a reconnect.
func ResyncFrame(groupIDs ...string) []byte {
	if groupIDs == nil {
		groupIDs = []string{}
	}
	return encodePush("resync", map[string][]string{"groupIDList": groupIDs})
}
