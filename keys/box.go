package keys

import (
	"errors"
	"fmt"
	"strings"
)

// Box seals small secrets other than signing keys at rest (such as TOTP
// secrets), with the same AES-256-GCM construction as the signing keys
// under a key of its own, derived from the master secret for its purpose.
// A blob opens only in a Box of the same purpose and only under the id it
// was sealed for, so rows cannot swap secrets.
type Box struct{ s *sealer }

// ErrBoxOpen means a sealed secret did not open: PUGUH_SECRET differs from
// the one it was sealed under, or the row was altered.
var ErrBoxOpen = errors.New("keys: secret cannot be decrypted: PUGUH_SECRET differs from the secret it was encrypted with, or the row was altered")

// NewBox returns the Box of purpose (a short lowercase name, such as
// "totp"), keyed from secret.
func NewBox(secret []byte, purpose string) (*Box, error) {
	if purpose == "" || strings.ContainsAny(purpose, "/ \x00") {
		return nil, fmt.Errorf("keys: box purpose %q is not a plain name", purpose)
	}
	s, err := newSealerFor(secret, "puguh "+purpose+" encryption v1", "puguh/"+purpose+"/v1/")
	if err != nil {
		return nil, err
	}
	return &Box{s: s}, nil
}

// Seal encrypts plaintext for id.
func (b *Box) Seal(id string, plaintext []byte) ([]byte, error) {
	return b.s.seal(id, plaintext)
}

// Open decrypts what Seal returned for id; ErrBoxOpen on any failure.
func (b *Box) Open(id string, sealed []byte) ([]byte, error) {
	p, err := b.s.open(id, sealed)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", id, ErrBoxOpen)
	}
	return p, nil
}
