package groups

import (
	"bytes"
	"encoding/json"
	"testing"
)

// slowSend is what opSendMessage did before the fast path: the request
// and its payload through encoding/json. payloadOK is false when the
// payload is not a text payload encoding/json takes.
func slowSend(data []byte) (r sendRequest, payload json.RawMessage, payloadOK bool, err error) {
	if err := parseData(data, &r); err != nil {
		return sendRequest{}, nil, false, err
	}
	var p textPayload
	if err := json.Unmarshal(r.Payload, &p); err != nil || p.Text == nil {
		return r, nil, false, nil
	}
	r.show = *p.Text
	return r, mustJSON(p), true, nil
}

// checkSendFast fails the test if the fast path takes data (or its
// payload) and gets another answer than encoding/json.
func checkSendFast(t *testing.T, data []byte) (took bool) {
	t.Helper()
	var fast sendRequest
	if !parseSendFast(data, &fast) {
		return false
	}
	slow, slowPayload, payloadOK, err := slowSend(data)
	if err != nil {
		t.Fatalf("%q: the fast path took it, encoding/json says %v", data, err)
	}
	if fast.To != slow.To || fast.ConversationType != slow.ConversationType || fast.Type != slow.Type ||
		fast.Priority != slow.Priority || fast.ID != slow.ID || fast.CloudCustomData != slow.CloudCustomData ||
		!bytes.Equal(fast.Payload, slow.Payload) {
		t.Fatalf("%q:\n fast %+v\n slow %+v", data, fast, slow)
	}
	if b, text, ok := fastTextPayload(fast.Payload); ok {
		if !payloadOK || !bytes.Equal(b, slowPayload) || text != slow.show {
			t.Fatalf("%q payload: fast %s %q, slow %s %q (%v)", data, b, text, slowPayload, slow.show, payloadOK)
		}
	}
	return true
}

// TestSendFast: the usual requests take the fast path with encoding/
// json's answer; escapes, other key spellings, duplicates and wrong
// types take encoding/json.
func TestSendFast(t *testing.T) {
	took := []string{
		`{"to":"@TGS#1","conversationType":"GROUP","type":"TIMTextElem","payload":{"text":"hi"}}`,
		` { "to" : "g" , "type" : "TIMTextElem" , "payload" : { "text" : "你好 <b>&</b> \u2028" } , "priority":"High","ID":"m-1","cloudCustomData":"x" } `,
		`{"to":"g","type":"TIMCustomElem","payload":{"data":"d","description":"","extension":"e\"x"}}`,
		`{"to":"g","type":"TIMTextElem","payload":{"text":"a","more":1}}`, // the request, not the payload
		`{}`,
	}
	for _, d := range took {
		if !checkSendFast(t, []byte(d)) {
			t.Errorf("%s: not on the fast path", d)
		}
	}
	slow := []string{
		`{"to":"g\u0041","type":"TIMTextElem","payload":{"text":"hi"}}`,
		`{"To":"g","type":"TIMTextElem","payload":{"text":"hi"}}`,
		`{"to":"g","to":"h","type":"TIMTextElem","payload":{"text":"hi"}}`,
		`{"to":5,"type":"TIMTextElem","payload":{"text":"hi"}}`,
		`{"to":"g","extra":true}`,
		`{"to":"g\xff"}`,
		`{"to":"g"`,
		// broken syntax, which the fast path checks itself
		`{"to":"g",}`, `{"to":"g"}x`, `{"to" "g"}`, `{"to":"g" "type":"x"}`, `{,"to":"g"}`,
		`{"payload":tru}`, `{"payload":{"text":"a"}`, `{"payload":{"text":"a"}}}`, `{"payload":{"text":"a",}}`,
		`{"payload":{"text" "a"}}`, `{"payload":[1,}`, `{"payload":}`, `{"payload"}`, `{"to":"g`, `{"to":"g\`,
		`null`, `[]`, `"x"`,
	}
	for _, d := range slow {
		if checkSendFast(t, []byte(d)) {
			t.Errorf("%s: on the fast path", d)
		}
	}
	for _, p := range []string{`{"text":"a"`, `{"text":"a"}x`, `{"text":"a",}`, `{"text" "a"}`, `{"text":"a\nb"}`, `{"text":5}`, `{"text":"a","x":1}`, `{"Text":"a"}`, `{}`, `"a"`, `{"text":"a","text":"b"}`} {
		if _, _, ok := fastTextPayload([]byte(p)); ok {
			t.Errorf("payload %s: on the fast path", p)
		}
	}
}

func FuzzSendFast(f *testing.F) {
	f.Add([]byte(`{"to":"@TGS#1","conversationType":"GROUP","type":"TIMTextElem","payload":{"text":"hi"}}`))
	f.Add([]byte(`{"to":"g","type":"TIMTextElem","payload":{"text":"<>"},"priority":"Low","ID":"x","cloudCustomData":""}`))
	f.Add([]byte(`{"to":"g","type":"TIMCustomElem","payload":{"data":"[1,{\"a\":2}]"}}`))
	f.Fuzz(func(t *testing.T, data []byte) { checkSendFast(t, data) })
}

func FuzzTextPayloadFast(f *testing.F) {
	f.Add([]byte(`{"text":"hi"}`))
	f.Add([]byte(` { "text" : "<&> \u00e9" } `))
	f.Fuzz(func(t *testing.T, raw []byte) {
		b, text, ok := fastTextPayload(raw)
		if !ok {
			return
		}
		if !json.Valid(raw) {
			t.Fatalf("%q: invalid JSON on the fast path", raw)
		}
		var p textPayload
		if err := json.Unmarshal(raw, &p); err != nil || p.Text == nil || *p.Text != text || !bytes.Equal(b, mustJSON(p)) {
			t.Fatalf("%q: fast %s %q; encoding/json %v", raw, b, text, err)
		}
	})
}

func BenchmarkSendParse(b *testing.B) {
	data := []byte(`{"to":"@TGS#abc","conversationType":"GROUP","type":"TIMTextElem","payload":{"text":"hello, this is a message of about a hundred bytes, give or take a few more words"},"priority":"Normal"}`)
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, _, err := slowSend(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var r sendRequest
			if !parseSendFast(data, &r) {
				b.Fatal("not fast")
			}
			if _, _, ok := fastTextPayload(r.Payload); !ok {
				b.Fatal("payload not fast")
			}
		}
	})
}

// checkParseStrings fails the test if parseStrings takes data for r and
// gets another answer than encoding/json.
func checkParseStrings(t *testing.T, data []byte) (took bool) {
	t.Helper()
	var fastJ, slowJ joinRequest
	okJ := fastJ.parse(data) == nil
	errJ := parseData(data, &slowJ)
	if okJ != (errJ == nil) || fastJ != slowJ {
		t.Fatalf("%q: joinRequest fast %+v (%v), encoding/json %+v (%v)", data, fastJ, okJ, slowJ, errJ)
	}
	var fastG, slowG groupIDRequest
	okG := fastG.parse(data) == nil
	errG := parseData(data, &slowG)
	if okG != (errG == nil) || fastG != slowG {
		t.Fatalf("%q: groupIDRequest fast %+v (%v), encoding/json %+v (%v)", data, fastG, okG, slowG, errG)
	}
	var r joinRequest
	return parseStrings(data, joinKeys, []*string{&r.GroupID, &r.ApplyMessage, (*string)(&r.Type)})
}

// TestParseStrings: the usual string-only requests take the fast path
// with encoding/json's answer; the rest take encoding/json.
func TestParseStrings(t *testing.T) {
	for _, d := range []string{`{"groupID":"@TGS#1"}`, ` { "groupID" : "g" , "type" : "Public", "applyMessage":"<hi> 你好" } `, `{}`} {
		if !checkParseStrings(t, []byte(d)) {
			t.Errorf("%s: not on the fast path", d)
		}
	}
	for _, d := range []string{`{"GroupID":"g"}`, `{"groupID":"g","x":1}`, `{"groupID":null}`, `{"groupID":"g\u0041"}`,
		`{"groupID":"g","groupID":"h"}`, `{"groupID":5}`, `{"groupID":"g",}`, `{"groupID":"g"}x`, `null`, ``, `[]`, `{"groupID":"\xff"}`} {
		if checkParseStrings(t, []byte(d)) {
			t.Errorf("%s: on the fast path", d)
		}
	}
}

func FuzzParseStrings(f *testing.F) {
	f.Add([]byte(`{"groupID":"@TGS#1"}`))
	f.Add([]byte(`{"groupID":"g","type":"Public","applyMessage":"m"}`))
	f.Fuzz(func(t *testing.T, data []byte) { checkParseStrings(t, data) })
}
