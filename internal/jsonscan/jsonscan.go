// Package jsonscan reads the usual shapes of a JSON document that
// encoding/json has already found valid, without reflection: the fast
// paths of the request frame (server) and of a chat message's data
// (groups). Each returns "not so" for anything unusual, and its caller
// then takes encoding/json.
package jsonscan

import "unicode/utf8"

// SkipSpace skips JSON white space from i.
func SkipSpace(p []byte, i int) int {
	for i < len(p) && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r') {
		i++
	}
	return i
}

// PlainString reads the string at p[i] (a '"'), which must hold no
// escapes or control bytes and be valid UTF-8 (encoding/json replaces
// bad bytes): its contents, the index after it, ok.
func PlainString(p []byte, i int) ([]byte, int, bool) {
	if i >= len(p) || p[i] != '"' {
		return nil, i, false
	}
	for j := i + 1; j < len(p); j++ {
		switch c := p[j]; {
		case c == '"':
			s := p[i+1 : j]
			return s, j + 1, utf8.Valid(s)
		case c == '\\' || c < 0x20:
			return nil, j, false
		}
	}
	return nil, len(p), false
}

// SkipValue returns the index after the JSON value at p[i]; p is valid
// JSON, so only strings need care.
func SkipValue(p []byte, i int) int {
	depth := 0
	for ; i < len(p); i++ {
		switch p[i] {
		case '"':
			for i++; i < len(p) && p[i] != '"'; i++ {
				if p[i] == '\\' {
					i++
				}
			}
			if depth == 0 {
				return i + 1
			}
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return i // the end of the enclosing object
			}
			if depth--; depth == 0 {
				return i + 1
			}
		case ',':
			if depth == 0 {
				return i
			}
		case ' ', '\t', '\n', '\r':
			if depth == 0 {
				return i
			}
		}
	}
	return i
}

// Fields calls f with every key and raw value of p, a valid JSON
// object, in order, until f returns false. It reports false if p is not
// an object, a key is not a PlainString, or f returned false.
func Fields(p []byte, f func(key, val []byte) bool) bool {
	i := SkipSpace(p, 0)
	if i >= len(p) || p[i] != '{' {
		return false
	}
	i = SkipSpace(p, i+1)
	for i < len(p) && p[i] != '}' {
		key, next, ok := PlainString(p, i)
		if !ok {
			return false
		}
		i = SkipSpace(p, next)
		i = SkipSpace(p, i+1) // the colon
		end := SkipValue(p, i)
		if !f(key, p[i:end]) {
			return false
		}
		i = SkipSpace(p, end)
		if i < len(p) && p[i] == ',' {
			i = SkipSpace(p, i+1)
		}
	}
	return true
}
