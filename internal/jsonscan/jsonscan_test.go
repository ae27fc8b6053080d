package jsonscan

import (
	"encoding/json"
	"reflect"
	"testing"
)

// TestFields: an object's keys and raw values in order, whatever the
// values and the white space; false for no object or an escaped key.
func TestFields(t *testing.T) {
	p := []byte(` { "a" : 1 , "b":"x\"}" ,"c":{"d":[1,{"e":"]"}]},"f":[],"g":null } `)
	var got []string
	if !Fields(p, func(k, v []byte) bool { got = append(got, string(k)+"="+string(v)); return true }) {
		t.Fatal("Fields refused a plain object")
	}
	want := []string{`a=1`, `b="x\"}"`, `c={"d":[1,{"e":"]"}]}`, `f=[]`, `g=null`}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("fields %q, want %q", got, want)
	}
	for _, p := range []string{`[]`, `"x"`, `{"a\u0041":1}`, `{"\xff":1}`} {
		if json.Valid([]byte(p)) && Fields([]byte(p), func(_, _ []byte) bool { return true }) {
			t.Errorf("%s: taken", p)
		}
	}
	// The object's own syntax is checked, whatever p holds.
	for _, p := range []string{`{"a":1,}`, `{"a":1}x`, `{"a" 1}`, `{"a":1 "b":2}`, `{,"a":1}`, `{"a":1`, `{"a":}`,
		`{"a"}`, `{"a":"x`, `{"a":"x\`, `{"a":{"b":1}`, `{`, `{"a":1}}`, `{"a":1,,"b":2}`} {
		if Fields([]byte(p), func(_, _ []byte) bool { return true }) {
			t.Errorf("%s: taken", p)
		}
	}
	for _, p := range []string{`{}`, ` { } `, `{"a":1}`, "{\"a\":1}\n"} {
		if !Fields([]byte(p), func(_, _ []byte) bool { return true }) {
			t.Errorf("%s: refused", p)
		}
	}
	n := 0
	if Fields([]byte(`{"a":1,"b":2}`), func(_, _ []byte) bool { n++; return false }) || n != 1 {
		t.Errorf("a callback that stops: %d calls", n)
	}
}

// TestPlainString: strings without escapes or bad UTF-8 only.
func TestPlainString(t *testing.T) {
	for p, want := range map[string]bool{`"abc"`: true, `""`: true, `"é你"`: true, `"a\"b"`: false, "\"a\x01\"": false, "\"\xff\"": false, `x`: false, `"open`: false} {
		s, end, ok := PlainString([]byte(p), 0)
		if ok != want || (ok && (end != len(p) || string(s) != p[1:len(p)-1])) {
			t.Errorf("%q: %q, %d, %v", p, s, end, ok)
		}
	}
}

// FuzzFields: on any input Fields stays inside p, and what it takes with
// every value valid is a valid object.
func FuzzFields(f *testing.F) {
	f.Add([]byte(`{"a":1,"b":"x"}`))
	f.Add([]byte(`{"a":{"b":[1,"]"]},"c":null}`))
	f.Fuzz(func(t *testing.T, p []byte) {
		valid := true
		if Fields(p, func(_, v []byte) bool { valid = valid && json.Valid(v); return true }) && valid && !json.Valid(p) {
			t.Fatalf("%q: taken, its values valid, but not valid JSON", p)
		}
	})
}
