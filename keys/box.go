package keys

import (
	"errors"
	"fmt"
	"regexp"
)

// Box encrypts other secrets Puguh must read back (an organization's client
// secret at its identity provider) exactly as signing keys are encrypted at
// rest: AES-256-GCM under a key derived from the master secret with
// HKDF-SHA256, a random nonce per blob, and the blob bound to the id of the
// row it belongs to through the GCM additional data. Each purpose derives its
// own key, so a blob of one purpose never opens as another.
type Box struct{ s *sealer }

// ErrSealed is what Open answers for any blob that does not open: sealed
// under another master secret, for another id, or altered.
var ErrSealed = errors.New("keys: sealed secret cannot be decrypted: PUGUH_SECRET differs from the secret it was encrypted with, or the row was altered")

var purposeName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)

// NewBox derives the box of purpose (lower-case letters, digits and dashes,
// such as "federation-client-secret") from the master secret.
func NewBox(secret []byte, purpose string) (*Box, error) {
	if !purposeName.MatchString(purpose) {
		return nil, fmt.Errorf("keys: box purpose %q is not a lower-case name", purpose)
	}
	s, err := newSealerFor(secret, "puguh "+purpose+" encryption v1", "puguh/"+purpose+"/v1/")
	if err != nil {
		return nil, err
	}
	return &Box{s: s}, nil
}

// Seal encrypts plaintext for the row id.
func (b *Box) Seal(id string, plaintext []byte) ([]byte, error) { return b.s.seal(id, plaintext) }

// Open decrypts a blob sealed for id; any failure is ErrSealed.
func (b *Box) Open(id string, sealed []byte) ([]byte, error) {
	plain, err := b.s.open(id, sealed)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", id, ErrSealed)
	}
	return plain, nil
}
