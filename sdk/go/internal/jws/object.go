package jws

import (
	"encoding/json"
	"errors"
	"strings"
	"unicode/utf8"
)

// A small, strict reader of JSON objects for JOSE headers and JWT claims. It
// exists for speed: values are substrings of the input (no allocation for a
// string without escapes), where encoding/json allocates every string. It is
// stricter than encoding/json, never looser: it refuses duplicate keys, keys
// with escapes, invalid UTF-8 and nesting deeper than maxDepth, which Puguh
// never sends. FuzzScanObject checks it against encoding/json.

// Kind is the type of a JSON value.
type Kind uint8

// The kinds of JSON values.
const (
	KindString Kind = iota + 1
	KindNumber
	KindBool
	KindNull
	KindArray
	KindObject
)

// Value is one member's value: its kind and its text as written (a string
// with its quotes).
type Value struct {
	Kind Kind
	Raw  string
}

// ErrJSON is returned for input the reader refuses.
var ErrJSON = errors.New("malformed or unsupported JSON")

const maxDepth = 16

// Str returns a string value, unquoted; "" for null.
func (v Value) Str() (string, error) {
	switch v.Kind {
	case KindNull:
		return "", nil
	case KindString:
	default:
		return "", ErrJSON
	}
	inner := v.Raw[1 : len(v.Raw)-1]
	if strings.IndexByte(inner, '\\') < 0 {
		return inner, nil
	}
	var s string
	if err := json.Unmarshal([]byte(v.Raw), &s); err != nil {
		return "", ErrJSON
	}
	return s, nil
}

// ScanObject reads s, which must be one JSON object (whitespace around it
// allowed), and calls fn with each member in order. Keys are compared
// exactly by the caller; a key with an escape is refused.
func ScanObject(s string, fn func(key string, v Value) error) error {
	r := reader{s: s}
	r.space()
	if !r.eat('{') {
		return ErrJSON
	}
	seen := make([]string, 0, 16)
	r.space()
	if r.eat('}') {
		return r.end()
	}
	for {
		r.space()
		key, ok := r.key()
		if !ok {
			return ErrJSON
		}
		for _, k := range seen {
			if k == key {
				return ErrJSON // a duplicate member: ambiguous, refused
			}
		}
		seen = append(seen, key)
		r.space()
		if !r.eat(':') {
			return ErrJSON
		}
		r.space()
		v, ok := r.value(1)
		if !ok {
			return ErrJSON
		}
		if err := fn(key, v); err != nil {
			return err
		}
		r.space()
		if r.eat(',') {
			continue
		}
		if r.eat('}') {
			return r.end()
		}
		return ErrJSON
	}
}

// ScanArray calls fn with each element of an array value.
func ScanArray(v Value, fn func(Value) error) error {
	if v.Kind != KindArray {
		return ErrJSON
	}
	r := reader{s: v.Raw}
	r.eat('[')
	r.space()
	if r.eat(']') {
		return nil
	}
	for {
		r.space()
		e, ok := r.value(1)
		if !ok {
			return ErrJSON
		}
		if err := fn(e); err != nil {
			return err
		}
		r.space()
		if r.eat(',') {
			continue
		}
		if r.eat(']') {
			return nil
		}
		return ErrJSON
	}
}

type reader struct {
	s string
	i int
}

func (r *reader) space() {
	for r.i < len(r.s) {
		switch r.s[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

func (r *reader) eat(c byte) bool {
	if r.i < len(r.s) && r.s[r.i] == c {
		r.i++
		return true
	}
	return false
}

func (r *reader) end() error {
	r.space()
	if r.i != len(r.s) {
		return ErrJSON
	}
	return nil
}

// key reads a member name without escapes.
func (r *reader) key() (string, bool) {
	start := r.i
	if !r.str() {
		return "", false
	}
	k := r.s[start+1 : r.i-1]
	if strings.IndexByte(k, '\\') >= 0 {
		return "", false
	}
	return k, true
}

// str reads a string: valid UTF-8, no control characters, valid escapes.
func (r *reader) str() bool {
	if !r.eat('"') {
		return false
	}
	start := r.i
	for r.i < len(r.s) {
		c := r.s[r.i]
		switch {
		case c == '"':
			ok := utf8.ValidString(r.s[start:r.i])
			r.i++
			return ok
		case c < 0x20:
			return false
		case c == '\\':
			r.i++
			if r.i >= len(r.s) {
				return false
			}
			switch r.s[r.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				r.i++
			case 'u':
				if r.i+5 > len(r.s) {
					return false
				}
				for _, h := range []byte(r.s[r.i+1 : r.i+5]) {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return false
					}
				}
				r.i += 5
			default:
				return false
			}
		default:
			r.i++
		}
	}
	return false
}

// value reads any value at nesting depth.
func (r *reader) value(depth int) (Value, bool) {
	if r.i >= len(r.s) || depth > maxDepth {
		return Value{}, false
	}
	start := r.i
	var kind Kind
	switch c := r.s[r.i]; {
	case c == '"':
		if !r.str() {
			return Value{}, false
		}
		kind = KindString
	case c == '-' || '0' <= c && c <= '9':
		if !r.number() {
			return Value{}, false
		}
		kind = KindNumber
	case c == 't' || c == 'f' || c == 'n':
		lit := "null"
		kind = KindNull
		if c == 't' {
			lit, kind = "true", KindBool
		} else if c == 'f' {
			lit, kind = "false", KindBool
		}
		if !strings.HasPrefix(r.s[r.i:], lit) {
			return Value{}, false
		}
		r.i += len(lit)
	case c == '[':
		r.i++
		r.space()
		if !r.eat(']') {
			for {
				r.space()
				if _, ok := r.value(depth + 1); !ok {
					return Value{}, false
				}
				r.space()
				if r.eat(',') {
					continue
				}
				if r.eat(']') {
					break
				}
				return Value{}, false
			}
		}
		kind = KindArray
	case c == '{':
		r.i++
		r.space()
		if !r.eat('}') {
			for {
				r.space()
				if !r.str() {
					return Value{}, false
				}
				r.space()
				if !r.eat(':') {
					return Value{}, false
				}
				r.space()
				if _, ok := r.value(depth + 1); !ok {
					return Value{}, false
				}
				r.space()
				if r.eat(',') {
					continue
				}
				if r.eat('}') {
					break
				}
				return Value{}, false
			}
		}
		kind = KindObject
	default:
		return Value{}, false
	}
	return Value{Kind: kind, Raw: r.s[start:r.i]}, true
}

// number reads -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? (RFC 8259 §6).
func (r *reader) number() bool {
	r.eat('-')
	if r.eat('0') {
		// no leading zeros
	} else if !r.digits() {
		return false
	}
	if r.eat('.') && !r.digits() {
		return false
	}
	if r.i < len(r.s) && (r.s[r.i] == 'e' || r.s[r.i] == 'E') {
		r.i++
		if !r.eat('+') {
			r.eat('-')
		}
		if !r.digits() {
			return false
		}
	}
	return true
}

func (r *reader) digits() bool {
	start := r.i
	for r.i < len(r.s) && '0' <= r.s[r.i] && r.s[r.i] <= '9' {
		r.i++
	}
	return r.i > start
}
