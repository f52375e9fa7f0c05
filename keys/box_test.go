package keys

import (
	"bytes"
	"errors"
	"testing"
)

func TestBoxSealsPerPurposeAndID(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	totp, err := NewBox(secret, "totp")
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := totp.Seal("user-1", []byte("JBSWY3DPEHPK3PXP"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("JBSWY3DPEHPK3PXP")) {
		t.Fatal("the sealed blob contains the plaintext")
	}
	got, err := totp.Open("user-1", sealed)
	if err != nil || string(got) != "JBSWY3DPEHPK3PXP" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	other, _ := NewBox(secret, "other")
	wrongSecret, _ := NewBox([]byte("another secret of 32 bytes......"), "totp")
	signing, _ := newSealer(secret)
	signingBlob, _ := signing.seal("user-1", []byte("x"))
	for name, open := range map[string]func() ([]byte, error){
		"another id":          func() ([]byte, error) { return totp.Open("user-2", sealed) },
		"another purpose":     func() ([]byte, error) { return other.Open("user-1", sealed) },
		"another secret":      func() ([]byte, error) { return wrongSecret.Open("user-1", sealed) },
		"a signing-key blob":  func() ([]byte, error) { return totp.Open("user-1", signingBlob) },
		"a truncated blob":    func() ([]byte, error) { return totp.Open("user-1", sealed[:10]) },
		"a flipped last byte": func() ([]byte, error) { b := bytes.Clone(sealed); b[len(b)-1] ^= 1; return totp.Open("user-1", b) },
	} {
		if _, err := open(); !errors.Is(err, ErrBoxOpen) {
			t.Errorf("%s: Open error = %v, want ErrBoxOpen", name, err)
		}
	}
	if _, err := NewBox(secret, "a/b"); err == nil {
		t.Error("NewBox accepted a purpose with a slash")
	}
	if _, err := NewBox([]byte("short"), "totp"); err == nil {
		t.Error("NewBox accepted a short secret")
	}
}
