package keys

import (
	"errors"
	"testing"
)

// SealCheck opens what was sealed under the same secret and kid, and
// nothing else.
func TestSealCheck(t *testing.T) {
	secret := []byte("the-first-secret-0123456789abcdef")
	s, err := newSealer(secret)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := s.seal("kid-1", []byte("private key"))
	if err != nil {
		t.Fatal(err)
	}
	same, err := SealCheck(secret)
	if err != nil {
		t.Fatal(err)
	}
	other, err := SealCheck([]byte("another-secret-0123456789abcdefgh"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		check  func(string, []byte) error
		kid    string
		sealed []byte
		ok     bool
	}{
		{"same secret", same, "kid-1", sealed, true},
		{"other secret", other, "kid-1", sealed, false},
		{"other kid", same, "kid-2", sealed, false},
		{"damaged", same, "kid-1", append(append([]byte{}, sealed[:len(sealed)-1]...), sealed[len(sealed)-1]^1), false},
		{"empty", same, "kid-1", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.check(tc.kid, tc.sealed)
			if tc.ok != (err == nil) || (!tc.ok && !errors.Is(err, ErrWrongSecret)) {
				t.Fatalf("check = %v, want ok %v (or ErrWrongSecret)", err, tc.ok)
			}
		})
	}
	if _, err := SealCheck([]byte("short")); err == nil {
		t.Fatal("SealCheck accepted a short secret")
	}
}
