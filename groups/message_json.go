package groups

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"unicode/utf8"
)

// A Message is encoded on every send (the store's copy, the pushes and
// the reply), so it has an encoder of its own: the bytes encoding/json
// writes for it, without reflection; a payload that is already compact
// (as every payload the service encodes is) is only validated, not
// re-encoded. TestMessageJSONMatches holds the two to the same output.

// AppendJSON appends m as json.Marshal(m) encodes it.
func (m *Message) AppendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"ID":`...)
	b = appendJSONString(b, m.ID)
	return m.appendRest(append(b, ','), true)
}

// appendRest appends m's fields after ID, the closing brace included,
// from "type" on; without Time and Sequence unless withTimeSeq.
func (m *Message) appendRest(b []byte, withTimeSeq bool) ([]byte, error) {
	b = append(b, `"type":`...)
	b = appendJSONString(b, m.Type)
	b = append(b, `,"payload":`...)
	if m.encoded {
		b = append(b, m.Payload...)
	} else {
		var err error
		if b, err = appendRawJSON(b, m.Payload); err != nil {
			return nil, err
		}
	}
	b = append(b, `,"conversationID":`...)
	b = appendJSONString(b, m.ConversationID)
	b = append(b, `,"conversationType":`...)
	b = appendJSONString(b, m.ConversationType)
	b = append(b, `,"to":`...)
	b = appendJSONString(b, m.To)
	b = append(b, `,"from":`...)
	b = appendJSONString(b, m.From)
	b = append(b, `,"flow":`...)
	b = appendJSONString(b, m.Flow)
	if withTimeSeq {
		b = append(b, `,"time":`...)
		b = strconv.AppendInt(b, m.Time, 10)
		b = append(b, `,"sequence":`...)
		b = strconv.AppendUint(b, m.Sequence, 10)
	}
	b = append(b, `,"priority":`...)
	b = appendJSONString(b, string(m.Priority))
	b = append(b, `,"nick":`...)
	b = appendJSONString(b, m.Nick)
	b = append(b, `,"nameCard":`...)
	b = appendJSONString(b, m.NameCard)
	b = append(b, `,"cloudCustomData":`...)
	b = appendJSONString(b, m.CloudCustomData)
	b = append(b, `,"status":`...)
	b = appendJSONString(b, m.Status)
	return append(b, '}'), nil
}

// appendRawJSON appends raw as encoding/json writes a json.RawMessage:
// null when nil, otherwise compacted with <, >, &, U+2028 and U+2029
// escaped. What the service encodes is already so and is copied as is.
func appendRawJSON(b []byte, raw json.RawMessage) ([]byte, error) {
	if raw == nil {
		return append(b, "null"...), nil
	}
	if !needsCompact(raw) {
		if !json.Valid(raw) {
			return nil, errInvalidPayload
		}
		return append(b, raw...), nil
	}
	var c bytes.Buffer
	if err := json.Compact(&c, raw); err != nil {
		return nil, err
	}
	out := bytes.NewBuffer(b)
	json.HTMLEscape(out, c.Bytes())
	return out.Bytes(), nil
}

// needsCompact reports whether compacting raw or its HTML escaping would
// change it: white space outside strings, or <, >, & or the first byte of
// U+2028 and U+2029 anywhere.
func needsCompact(raw []byte) bool {
	inString := false
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if rawSpecial[c] == 0 {
			continue
		}
		switch c {
		case '"':
			inString = !inString
		case '\\':
			if inString {
				i++ // the escaped byte: a quote does not end the string
			}
		case ' ', '\t', '\n', '\r':
			if !inString {
				return true
			}
		default: // <, >, &, 0xE2
			return true
		}
	}
	return false
}

// rawSpecial marks the bytes needsCompact looks at.
var rawSpecial = [256]byte{'"': 1, '\\': 1, ' ': 1, '\t': 1, '\n': 1, '\r': 1, '<': 1, '>': 1, '&': 1, 0xE2: 1}

var errInvalidPayload = errors.New("invalid JSON in a message payload")

const hexDigits = "0123456789abcdef"

// strSafe marks the ASCII bytes a JSON string holds as they are.
var strSafe = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// appendJSONString appends s quoted as encoding/json quotes strings
// (HTML-safe: <, > and & as \u003c, \u003e, \u0026; invalid UTF-8 as
// \ufffd; U+2028 and U+2029 escaped).
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if strSafe[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendJSON appends p as json.Marshal(p) encodes it: without reflection
// unless it changes the group's profile (a map of any).
func (p *TipPayload) appendJSON(b []byte) []byte {
	if p.NewGroupProfile != nil {
		return append(b, mustJSON(p)...)
	}
	b = appendJSONString(append(b, `{"operatorID":`...), p.OperatorID)
	b = strconv.AppendInt(append(b, `,"operationType":`...), int64(p.OperationType), 10)
	b = append(b, `,"userIDList":`...)
	b = appendJSONStrings(b, p.UserIDList)
	if len(p.MemberList) > 0 {
		b = append(b, `,"memberList":[`...)
		for i, m := range p.MemberList {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(append(b, `{"userID":`...), m.UserID)
			b = strconv.AppendInt(append(b, `,"muteTime":`...), m.MuteTime, 10)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// appendJSONStrings appends ss as json.Marshal encodes a []string.
func appendJSONStrings(b []byte, ss []string) []byte {
	if ss == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, s)
	}
	return append(b, ']')
}

// appendJSON appends p as json.Marshal(p) encodes it.
func (p *NoticePayload) appendJSON(b []byte) []byte {
	b = appendJSONString(append(b, `{"operatorID":`...), p.OperatorID)
	b = strconv.AppendInt(append(b, `,"operationType":`...), int64(p.OperationType), 10)
	b = appendJSONString(append(b, `,"groupProfile":{"groupID":`...), p.GroupProfile.GroupID)
	b = appendJSONString(append(b, `,"name":`...), p.GroupProfile.Name)
	b = appendJSONString(append(b, `,"type":`...), string(p.GroupProfile.Type))
	b = appendJSONString(append(b, `},"handleMessage":`...), p.HandleMessage)
	b = appendJSONString(append(b, `,"userDefinedField":`...), p.UserDefinedField)
	return append(b, '}')
}

// appendJSON appends m as json.Marshal(m) encodes it (the store's member
// record): without reflection unless it has custom fields (a map).
func (m *Member) appendJSON(b []byte) []byte {
	if len(m.Custom) > 0 {
		return append(b, mustJSON(m)...)
	}
	b = appendJSONString(append(b, `{"userID":`...), m.UserID)
	b = appendJSONString(append(b, `,"role":`...), string(m.Role))
	b = strconv.AppendInt(append(b, `,"joinTime":`...), m.JoinTime, 10)
	b = strconv.AppendUint(append(b, `,"joinSeq":`...), m.JoinSeq, 10)
	if m.NameCard != "" {
		b = appendJSONString(append(b, `,"nameCard":`...), m.NameCard)
	}
	if m.MuteUntil != 0 {
		b = strconv.AppendInt(append(b, `,"muteUntil":`...), m.MuteUntil, 10)
	}
	if m.Remind != "" {
		b = appendJSONString(append(b, `,"remind":`...), string(m.Remind))
	}
	return append(b, '}')
}
