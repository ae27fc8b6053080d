package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestStampRoundTrip(t *testing.T) {
	for _, size := range []int{minTextSize, 100, 1000} {
		ts := int64(1764028800123456789)
		text := appendText(nil, ts, size)
		if len(text) != size {
			t.Errorf("size %d: text is %d bytes", size, len(text))
		}
		if !strings.HasPrefix(string(text), "cbts:1764028800123456789:") {
			t.Errorf("text %q", text)
		}
		got, ok := parseStamp(text[len(stampMarker):])
		if !ok || got != ts {
			t.Errorf("parseStamp = %d, %v", got, ok)
		}
	}
	if s := appendStamp(nil, 42); string(s) != "0000000000000000042" {
		t.Errorf("short stamps are zero-padded: %q", s)
	}
	for _, bad := range []string{"", "123", "17640288001234567x9:"} {
		if _, ok := parseStamp([]byte(bad)); ok {
			t.Errorf("parseStamp(%q) accepted", bad)
		}
	}
}

// A coalesced chatd push: three bench messages and a tip.
func chatdFrame(stamps ...int64) []byte {
	var els []string
	for i, ts := range stamps {
		text := string(appendText(nil, ts, 100))
		els = append(els, `{"ID":"cbx-p0-`+string(rune('a'+i))+`","type":"TIMTextElem","payload":{"text":"`+text+
			`"},"conversationID":"GROUP@TGS#2J4SZEAEL","conversationType":"GROUP","to":"@TGS#2J4SZEAEL","from":"cbx-p0",`+
			`"flow":"in","time":1764028800,"sequence":7,"priority":"Normal","nick":"","nameCard":"","cloudCustomData":"","status":"success"}`)
	}
	els = append(els, `{"ID":"grp-1","type":"TIMGroupTipElem","payload":{"operatorID":"bob","operationType":1,"userIDList":["bob"]}}`)
	return []byte(`{"event":"onMessageReceived","data":[` + strings.Join(els, ",") + `]}`)
}

func TestScanStamps(t *testing.T) {
	f := chatdFrame(1000000000000000001, 1000000000000000002, 1000000000000000003)
	if !json.Valid(f) {
		t.Fatal("test frame is not JSON")
	}
	var got []int64
	seen := 0
	if n := scanStamps(f, 1, &seen, func(ts int64) { got = append(got, ts) }); n != 3 {
		t.Fatalf("counted %d messages, want 3", n)
	}
	if len(got) != 3 || got[0] != 1000000000000000001 || got[2] != 1000000000000000003 {
		t.Errorf("stamps %v", got)
	}

	// Sampling 1 in 2 carries over from frame to frame.
	got, seen = nil, 0
	scanStamps(f, 2, &seen, func(ts int64) { got = append(got, ts) })
	scanStamps(f, 2, &seen, func(ts int64) { got = append(got, ts) })
	want := []int64{1000000000000000002, 1000000000000000001, 1000000000000000003}
	if len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("1-in-2 samples %v, want %v", got, want)
	}

	tip := []byte(`{"event":"onMessageReceived","data":[{"ID":"grp-1","type":"TIMGroupTipElem","payload":{}}]}`)
	if n := scanStamps(tip, 1, &seen, func(int64) { t.Error("a tip has no stamp") }); n != 0 {
		t.Errorf("tip counted %d", n)
	}
	if !hasPrefix(f, msgPrefix) || hasPrefix([]byte(`{"event":"kickedOut"}`), msgPrefix) {
		t.Errorf("msgPrefix")
	}
}

func TestParseReply(t *testing.T) {
	for _, c := range []struct {
		frame string
		id    int64
		code  int
		ok    bool
	}{
		{`{"id":7,"code":0,"data":{"group":{}}}`, 7, 0, true},
		{`{"id":12345,"code":10023,"message":"shed"}`, 12345, 10023, true},
		{`{"id":"s","code":0}`, 0, 0, false},
		{`{"id":null,"code":10011,"message":"x"}`, 0, 0, false},
		{`{"event":"onMessageReceived","data":[]}`, 0, 0, false},
		{`{"id":3,"cod":0}`, 0, 0, false},
	} {
		id, code, ok := parseReply([]byte(c.frame))
		if id != c.id || code != c.code || ok != c.ok {
			t.Errorf("parseReply(%s) = %d, %d, %v; want %d, %d, %v", c.frame, id, code, ok, c.id, c.code, c.ok)
		}
	}
}

func TestRequestFrames(t *testing.T) {
	data := appendSendData(nil, "@TGS#2J4SZEAEL", "High", 1764028800123456789, 100)
	frame := appendRequest(nil, 42, "sendMessage", data)
	var req struct {
		ID   int    `json:"id"`
		Op   string `json:"op"`
		Data struct {
			To               string `json:"to"`
			ConversationType string `json:"conversationType"`
			Type             string `json:"type"`
			Priority         string `json:"priority"`
			Payload          struct {
				Text string `json:"text"`
			} `json:"payload"`
		} `json:"data"`
	}
	if err := json.Unmarshal(frame, &req); err != nil {
		t.Fatalf("%s: %v", frame, err)
	}
	d := req.Data
	if req.ID != 42 || req.Op != "sendMessage" || d.To != "@TGS#2J4SZEAEL" || d.ConversationType != "GROUP" ||
		d.Type != "TIMTextElem" || d.Priority != "High" || len(d.Payload.Text) != 100 {
		t.Errorf("request %+v", req)
	}
	if f := appendRequest(nil, 1, "ping", nil); string(f) != `{"id":1,"op":"ping"}` {
		t.Errorf("no data: %s", f)
	}
	if b := baselineFrame(3, 1764028800123456789, 100); !json.Valid(b) || !hasPrefix(b, msgPrefix) {
		t.Errorf("baseline frame %s", b)
	}
}
