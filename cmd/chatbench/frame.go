package main

import (
	"bytes"
	"strconv"
)

// Every bench message carries, in its text, the marker followed by the
// send time in Unix nanoseconds and a colon: "cbts:1764028800123456789:xxxx".
// A receiver finds it with bytes.Index, so no frame is ever unmarshalled.
var stampMarker = []byte("cbts:")

const stampLen = 19 // digits of a Unix time in nanoseconds until 2286

// minTextSize is the shortest text that holds a stamp.
const minTextSize = 5 + stampLen + 1

// appendText appends a message text of size bytes (at least minTextSize)
// holding the stamp ts.
func appendText(b []byte, ts int64, size int) []byte {
	start := len(b)
	b = append(b, stampMarker...)
	b = appendStamp(b, ts)
	b = append(b, ':')
	for len(b)-start < size {
		b = append(b, 'x')
	}
	return b
}

// appendStamp appends ts as exactly stampLen digits, zero-padded.
func appendStamp(b []byte, ts int64) []byte {
	var d [stampLen]byte
	u := uint64(max(ts, 0))
	for i := stampLen - 1; i >= 0; i-- {
		d[i] = byte('0' + u%10)
		u /= 10
	}
	return append(b, d[:]...)
}

// parseStamp reads the stampLen digits that follow a marker. ok is false
// when b does not start with them.
func parseStamp(b []byte) (ts int64, ok bool) {
	if len(b) < stampLen {
		return 0, false
	}
	for _, c := range b[:stampLen] {
		if c < '0' || c > '9' {
			return 0, false
		}
		ts = ts*10 + int64(c-'0')
	}
	return ts, true
}

// scanStamps counts the bench messages in a push frame and hands every
// every-th one's stamp (counting across calls with *seen) to sample.
func scanStamps(b []byte, every int, seen *int, sample func(ts int64)) int {
	n := 0
	for off := 0; ; {
		i := bytes.Index(b[off:], stampMarker)
		if i < 0 {
			return n
		}
		off += i + len(stampMarker)
		n++
		*seen++
		if *seen >= every {
			*seen = 0
			if ts, ok := parseStamp(b[off:]); ok {
				sample(ts)
			}
		}
	}
}

// Frame kinds, told apart by their first bytes (chatd and the baseline
// encode their fields in a fixed order).
var (
	replyPrefix = []byte(`{"id":`)
	msgPrefix   = []byte(`{"event":"onMessageReceived"`)
	codeField   = []byte(`"code":`)
)

// parseReply reads the numeric id and the code of a reply frame
// `{"id":7,"code":0,...}`. ok is false for anything else (a string id, a
// push).
func parseReply(b []byte) (id int64, code int, ok bool) {
	if !bytes.HasPrefix(b, replyPrefix) {
		return 0, 0, false
	}
	rest := b[len(replyPrefix):]
	i := bytes.IndexByte(rest, ',')
	if i <= 0 {
		return 0, 0, false
	}
	id, err := strconv.ParseInt(string(rest[:i]), 10, 64)
	if err != nil {
		return 0, 0, false
	}
	rest = rest[i+1:]
	if !bytes.HasPrefix(rest, codeField) {
		return 0, 0, false
	}
	rest = rest[len(codeField):]
	j := 0
	for j < len(rest) && (rest[j] >= '0' && rest[j] <= '9' || j == 0 && rest[j] == '-') {
		j++
	}
	c, err := strconv.Atoi(string(rest[:j]))
	if err != nil {
		return 0, 0, false
	}
	return id, c, true
}

// appendRequest appends a request frame {"id":id,"op":op,"data":data}.
func appendRequest(b []byte, id int64, op string, data []byte) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, id, 10)
	b = append(b, `,"op":`...)
	b = strconv.AppendQuote(b, op)
	if len(data) > 0 {
		b = append(b, `,"data":`...)
		b = append(b, data...)
	}
	return append(b, '}')
}

// appendSendData appends the data of a sendMessage request: a text
// message of size bytes stamped ts, to groupID with priority.
func appendSendData(b []byte, groupID, priority string, ts int64, size int) []byte {
	b = append(b, `{"to":`...)
	b = strconv.AppendQuote(b, groupID)
	b = append(b, `,"conversationType":"GROUP","type":"TIMTextElem","payload":{"text":"`...)
	b = appendText(b, ts, size)
	b = append(b, `"}`...)
	if priority != "" {
		b = append(b, `,"priority":`...)
		b = strconv.AppendQuote(b, priority)
	}
	return append(b, '}')
}
