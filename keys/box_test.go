package keys

import (
	"bytes"
	"errors"
	"testing"
)

func TestBoxSealsPerPurposeAndID(t *testing.T) {
	secret := bytes.Repeat([]byte("s"), 32)
	a, err := NewBox(secret, "federation-client-secret")
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := a.Seal("conn-1", []byte("hunter2"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("hunter2")) {
		t.Fatal("sealed blob holds the plaintext")
	}
	got, err := a.Open("conn-1", sealed)
	if err != nil || string(got) != "hunter2" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	other, _ := NewBox(secret, "another-purpose")
	otherSecret, _ := NewBox(bytes.Repeat([]byte("t"), 32), "federation-client-secret")
	for name, open := range map[string]func() ([]byte, error){
		"another id":      func() ([]byte, error) { return a.Open("conn-2", sealed) },
		"another purpose": func() ([]byte, error) { return other.Open("conn-1", sealed) },
		"another secret":  func() ([]byte, error) { return otherSecret.Open("conn-1", sealed) },
		"truncated":       func() ([]byte, error) { return a.Open("conn-1", sealed[:10]) },
	} {
		if _, err := open(); !errors.Is(err, ErrSealed) {
			t.Errorf("%s: err = %v, want ErrSealed", name, err)
		}
	}
	// A signing-key sealer under the same secret does not open it either.
	s, _ := newSealer(secret)
	if _, err := s.open("conn-1", sealed); err == nil {
		t.Error("a signing-key sealer opened a federation secret")
	}
	if _, err := NewBox(secret, "Bad Purpose"); err == nil {
		t.Error("NewBox accepted a purpose with spaces")
	}
	if _, err := NewBox([]byte("short"), "x"); err == nil {
		t.Error("NewBox accepted a short secret")
	}
}
