package groups

import (
	"encoding/json"
	"slices"
	"strconv"
)

// A group view is in every join reply, profile reply and entry of
// getGroupList, and encoding/json spends most of its time on a map of
// interfaces: the reply types that hold views append themselves
// (AppendJSON, which the server uses when a reply has it). A
// MarshalJSON would not pay: encoding/json validates and compacts what a
// Marshaler returns, which costs more than the reflection saved.

// AppendJSON appends v as encoding/json encodes a map[string]any (keys
// sorted, the same bytes); values of types views do not hold go through
// json.Marshal.
func (v View) AppendJSON(b []byte) ([]byte, error) {
	if v == nil {
		return append(b, "null"...), nil
	}
	var arr [24]string
	keys := arr[:0]
	for k := range v {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(appendJSONString(b, k), ':')
		var err error
		if b, err = appendViewValue(b, v[k]); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

// appendViewValue appends one value of a view.
func appendViewValue(b []byte, x any) ([]byte, error) {
	switch x := x.(type) {
	case string:
		return appendJSONString(b, x), nil
	case Type:
		return appendJSONString(b, string(x)), nil
	case JoinOption:
		return appendJSONString(b, string(x)), nil
	case int:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case uint64:
		return strconv.AppendUint(b, x, 10), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case *SelfInfo:
		if x == nil {
			return append(b, "null"...), nil
		}
		b = appendJSONString(append(b, `{"role":`...), string(x.Role))
		b = appendJSONString(append(b, `,"messageRemindType":`...), string(x.MessageRemindType))
		b = strconv.AppendInt(append(b, `,"joinTime":`...), x.JoinTime, 10)
		b = appendJSONString(append(b, `,"nameCard":`...), x.NameCard)
		return append(b, '}'), nil
	case *LastMessage:
		if x == nil {
			return append(b, "null"...), nil
		}
		b = strconv.AppendInt(append(b, `{"lastTime":`...), x.LastTime, 10)
		b = strconv.AppendUint(append(b, `,"lastSequence":`...), x.LastSequence, 10)
		b = appendJSONString(append(b, `,"fromAccount":`...), x.FromAccount)
		b = appendJSONString(append(b, `,"messageForShow":`...), x.MessageForShow)
		return append(b, '}'), nil
	case []KV:
		if x == nil {
			return append(b, "null"...), nil
		}
		b = append(b, '[')
		for i, kv := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(append(b, `{"key":`...), kv.Key)
			b = appendJSONString(append(b, `,"value":`...), kv.Value)
			b = append(b, '}')
		}
		return append(b, ']'), nil
	}
	e, err := json.Marshal(x)
	if err != nil {
		return nil, err
	}
	return append(b, e...), nil
}

// AppendJSON appends r as json.Marshal(r) encodes it.
func (r JoinReply) AppendJSON(b []byte) ([]byte, error) {
	b = appendJSONString(append(b, `{"status":`...), r.Status)
	if len(r.Group) > 0 {
		var err error
		if b, err = r.Group.AppendJSON(append(b, `,"group":`...)); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

// AppendJSON appends r (the reply of quitGroup and others) as
// json.Marshal(r) encodes it.
func (r groupIDRequest) AppendJSON(b []byte) ([]byte, error) {
	b = appendJSONString(append(b, `{"groupID":`...), r.GroupID)
	return append(b, '}'), nil
}

// AppendJSON appends r as json.Marshal(r) encodes it.
func (r GroupReply) AppendJSON(b []byte) ([]byte, error) {
	b, err := r.Group.AppendJSON(append(b, `{"group":`...))
	if err != nil {
		return nil, err
	}
	return append(b, '}'), nil
}

// AppendJSON appends r as json.Marshal(r) encodes it.
func (r ListReply) AppendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"groupList":`...)
	if r.GroupList == nil {
		return append(b, "null}"...), nil
	}
	b = append(b, '[')
	for i, v := range r.GroupList {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = v.AppendJSON(b); err != nil {
			return nil, err
		}
	}
	return append(b, "]}"...), nil
}
