// Package jsonscan reads the usual shapes of a JSON document without
// reflection: the fast paths of the request frame (server) and of a chat
// message's data (groups). Each returns "not so" for anything unusual,
// and its caller then takes encoding/json.
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

// SkipValue returns the index after the JSON value at p[i], never past
// the end of p. It checks nothing but where strings end, so on invalid
// JSON its answer is only bounded, not meaningful.
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
			if i >= len(p) {
				return len(p)
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

// Fields calls f with every key and raw value of p, an object, in order,
// until f returns false. It reports false if p is not an object, a key
// is not a PlainString, f returned false, or the object's own syntax is
// wrong: a missing colon or comma, a trailing comma, no closing brace,
// or anything but white space after it. The values themselves are only
// skipped, not checked: a caller that takes p without encoding/json
// having found it valid checks every value it takes.
func Fields(p []byte, f func(key, val []byte) bool) bool {
	i := SkipSpace(p, 0)
	if i >= len(p) || p[i] != '{' {
		return false
	}
	i = SkipSpace(p, i+1)
	if i < len(p) && p[i] == '}' {
		return SkipSpace(p, i+1) == len(p)
	}
	for {
		key, next, ok := PlainString(p, i)
		if !ok {
			return false
		}
		i = SkipSpace(p, next)
		if i >= len(p) || p[i] != ':' {
			return false
		}
		i = SkipSpace(p, i+1)
		end := SkipValue(p, i)
		if end == i || !f(key, p[i:end]) {
			return false
		}
		i = SkipSpace(p, end)
		if i >= len(p) {
			return false
		}
		switch p[i] {
		case ',':
			i = SkipSpace(p, i+1)
		case '}':
			return SkipSpace(p, i+1) == len(p)
		default:
			return false
		}
	}
}
