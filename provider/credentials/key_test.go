package credentials

import (
	"bytes"
	"crypto/sha256"
	"strings"
	"testing"
)

func TestGenerateShape(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		s, err := Generate()
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Key) != KeyLen || !strings.HasPrefix(s.Key, "pgh_") {
			t.Fatalf("key %q: want %d characters starting pgh_", s.Key, KeyLen)
		}
		if err := Parse(s.Key); err != nil {
			t.Fatalf("Parse(Generate()) = %v", err)
		}
		if s.Display != s.Key[:12] || DisplayPrefix(s.Key) != s.Display {
			t.Fatalf("display %q is not the key's first 12 characters", s.Display)
		}
		if want := sha256.Sum256([]byte(s.Key)); !bytes.Equal(s.Hash, want[:]) {
			t.Fatal("hash is not SHA-256 of the key")
		}
		if seen[s.Key] {
			t.Fatal("duplicate key")
		}
		seen[s.Key] = true
	}
}

func TestParseRejects(t *testing.T) {
	s, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	k := s.Key
	// flip changes one character of the random part to another base62 digit.
	flip := func(i int) string {
		c := byte('a')
		if k[i] == 'a' {
			c = 'b'
		}
		return k[:i] + string(c) + k[i+1:]
	}
	cases := []struct{ name, key string }{
		{"empty", ""},
		{"prefix only", "pgh_"},
		{"truncated", k[:len(k)-1]},
		{"extra character", k + "0"},
		{"wrong prefix", "ghp_" + k[4:]},
		{"upper-case prefix", "PGH_" + k[4:]},
		{"typo in the random part", flip(10)},
		{"typo in the checksum", flip(len(k) - 1)},
		{"swapped neighbours", k[:20] + string(k[21]) + string(k[20]) + k[22:]},
		{"non-base62 character", k[:15] + "-" + k[16:]},
		{"NUL", k[:15] + "\x00" + k[16:]},
		{"whitespace", " " + k[:len(k)-1]},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.key == k {
				t.Skip("the mutation produced the same key")
			}
			if err := Parse(tc.key); err != ErrMalformed {
				t.Fatalf("Parse(%q) = %v, want ErrMalformed", tc.key, err)
			}
		})
	}
}

// FuzzParse checks that Parse never panics and accepts only well-formed keys.
func FuzzParse(f *testing.F) {
	s, _ := Generate()
	f.Add(s.Key)
	f.Add("pgh_")
	f.Add(strings.Repeat("z", KeyLen))
	f.Fuzz(func(t *testing.T, key string) {
		if Parse(key) != nil {
			return
		}
		if len(key) != KeyLen || !strings.HasPrefix(key, Prefix) || checksum(key[:checksumInput]) != key[checksumInput:] {
			t.Fatalf("Parse accepted %q", key)
		}
	})
}
