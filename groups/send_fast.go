package groups

import (
	"encoding/json"

	"chatd/internal/jsonscan"
)

// Every chat message's data went through encoding/json twice (the
// request, then its payload, decoded and encoded again). The usual
// request takes a fast path instead: a JSON object whose keys are
// exactly sendRequest's field names, each once, whose string fields are
// strings without escapes, and — for a text message — a payload that is
// {"text": a string without escapes}. Anything else takes encoding/json
// as before, which also words every error; FuzzSendFast holds the
// two to the same result.
//
// The fast path checks what it takes itself, so data is read once: the
// object's syntax (jsonscan.Fields), every string, and the payload
// (its text form, or json.Valid for any other).

// parseSendFast fills r from data and reports whether it could.
func parseSendFast(data []byte, r *sendRequest) bool {
	var seen [7]bool
	ok := jsonscan.Fields(data, func(key, val []byte) bool {
		var at int
		var dst *string
		switch string(key) {
		case "to":
			at, dst = 0, &r.To
		case "conversationType":
			at, dst = 1, &r.ConversationType
		case "type":
			at, dst = 2, &r.Type
		case "priority":
			at, dst = 3, (*string)(&r.Priority)
		case "ID":
			at, dst = 4, &r.ID
		case "cloudCustomData":
			at, dst = 5, &r.CloudCustomData
		case "payload":
			if seen[6] {
				return false
			}
			seen[6] = true
			if b, text, ok := fastTextPayload(val); ok {
				r.text, r.textShow = b, text
			} else if !json.Valid(val) {
				return false
			}
			r.Payload = json.RawMessage(val)
			return true
		default:
			return false // encoding/json matches keys without regard to case
		}
		s, ok := plainValue(val)
		if !ok || seen[at] {
			return false
		}
		seen[at] = true
		*dst = s
		return true
	})
	if !ok {
		*r = sendRequest{}
	}
	return ok
}

// fastTextPayload is payload() of a TIMTextElem whose payload is
// {"text": a string without escapes}: its compact form and its text.
// What it takes is valid JSON whatever raw holds.
func fastTextPayload(raw []byte) (json.RawMessage, string, bool) {
	var text string
	found := false
	ok := jsonscan.Fields(raw, func(key, val []byte) bool {
		if string(key) != "text" || found {
			return false
		}
		s, ok := plainValue(val)
		text, found = s, ok
		return ok
	})
	if !ok || !found {
		return nil, "", false
	}
	b := make([]byte, 0, len(text)+16)
	b = appendJSONString(append(b, `{"text":`...), text)
	return append(b, '}'), text, true
}

// plainValue is the text of val, a JSON string without escapes in valid
// UTF-8 (which encoding/json decodes to the same text).
func plainValue(val []byte) (string, bool) {
	s, end, ok := jsonscan.PlainString(val, 0)
	if !ok || end != len(val) {
		return "", false
	}
	return string(s), true
}

// parseStrings is parseData's fast path for requests whose fields are
// all strings (a group ID, a type, a message): data an object whose keys
// are exactly among keys, each once, every value a string without
// escapes; dst[i] receives the value of keys[i]. Anything else (other
// spellings, which encoding/json would match without regard to case,
// unknown keys, nulls, escapes) reports false and takes encoding/json.
// Like parseSendFast it checks what it takes itself; FuzzParseStrings
// holds it to encoding/json's answer.
func parseStrings(data []byte, keys []string, dst []*string) bool {
	var seen uint64
	ok := jsonscan.Fields(data, func(key, val []byte) bool {
		for i, k := range keys {
			if string(key) != k {
				continue
			}
			s, ok := plainValue(val)
			if !ok || seen&(1<<i) != 0 {
				return false
			}
			seen |= 1 << i
			*dst[i] = s
			return true
		}
		return false
	})
	if !ok {
		for _, d := range dst {
			*d = ""
		}
	}
	return ok
}

var groupIDKeys = []string{"groupID"}

// parse fills r from data: the usual {"groupID": "..."} without
// reflection, anything else through encoding/json.
func (r *groupIDRequest) parse(data []byte) error {
	if parseStrings(data, groupIDKeys, []*string{&r.GroupID}) {
		return nil
	}
	return parseData(data, r)
}

var joinKeys = []string{"groupID", "applyMessage", "type"}

// parse fills r from data like groupIDRequest's.
func (r *joinRequest) parse(data []byte) error {
	if parseStrings(data, joinKeys, []*string{&r.GroupID, &r.ApplyMessage, (*string)(&r.Type)}) {
		return nil
	}
	return parseData(data, r)
}
