package keys

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/hkdf"
)

// ErrWrongSecret means a sealed private key did not open: the master secret is
// not the one the key was sealed under, or the row was altered (for example a
// sealed blob copied to another kid). Open fails with it rather than signing
// tokens nobody can verify.
var ErrWrongSecret = errors.New("keys: signing key cannot be decrypted: PUGUH_SECRET differs from the secret the keys were encrypted with, or the key row was altered")

// MinSecretLen is the shortest master secret accepted: 128 bits (docs/security.md, "Tokens and keys").
const MinSecretLen = 16

const (
	// hkdfInfo separates this use of the master secret from every other key
	// derived from it (RFC 5869 §3.2), and versions the format.
	hkdfInfo = "puguh signing-key encryption v1"
	// sealVersion prefixes every sealed blob so the format can change later.
	sealVersion = 1
	// aadPrefix plus the kid is the GCM additional data: a blob only opens
	// under the kid it was sealed for, so rows cannot swap private keys.
	aadPrefix = "puguh/signing-key/v1/"
)

// sealer encrypts private keys at rest with AES-256-GCM. aad prefixes the
// GCM additional data (the id of what is sealed follows it).
type sealer struct {
	aead cipher.AEAD
	aad  string
}

// newSealer derives the encryption key from the master secret with HKDF-SHA256.
func newSealer(secret []byte) (*sealer, error) {
	return newSealerFor(secret, hkdfInfo, aadPrefix)
}

// newSealerFor is newSealer for another use of the master secret: info
// separates the derived key from every other (RFC 5869 §3.2), aad binds each
// blob to its use and id.
func newSealerFor(secret []byte, info, aad string) (*sealer, error) {
	if len(secret) < MinSecretLen {
		return nil, fmt.Errorf("keys: master secret is %d bytes; at least %d are required", len(secret), MinSecretLen)
	}
	key := make([]byte, 32)
	if _, err := io.ReadFull(hkdf.New(sha256.New, secret, nil, []byte(info)), key); err != nil {
		return nil, fmt.Errorf("keys: derive encryption key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	return &sealer{aead: aead, aad: aad}, nil
}

// seal returns version || nonce || ciphertext. Nonces are random: 96 bits is
// safe for the handful of keys a deployment ever seals (NIST SP 800-38D §8.3).
func (s *sealer) seal(kid string, plaintext []byte) ([]byte, error) {
	out := make([]byte, 1+s.aead.NonceSize(), 1+s.aead.NonceSize()+len(plaintext)+s.aead.Overhead())
	out[0] = sealVersion
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, fmt.Errorf("keys: nonce: %w", err)
	}
	return s.aead.Seal(out, out[1:], plaintext, []byte(s.aad+kid)), nil
}

// open reverses seal; any failure is ErrWrongSecret.
func (s *sealer) open(kid string, sealed []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < 1+n+s.aead.Overhead() || sealed[0] != sealVersion {
		return nil, fmt.Errorf("key %s: unknown sealed format: %w", kid, ErrWrongSecret)
	}
	plain, err := s.aead.Open(nil, sealed[1:1+n], sealed[1+n:], []byte(s.aad+kid))
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", kid, ErrWrongSecret)
	}
	return plain, nil
}

// SealCheck returns a check that a sealed private key opens under secret,
// for imports (`puguh import`): a key sealed under another master secret is
// refused before it is written, with ErrWrongSecret, rather than found
// unusable when the server starts.
func SealCheck(secret []byte) (func(kid string, sealed []byte) error, error) {
	s, err := newSealer(secret)
	if err != nil {
		return nil, err
	}
	return func(kid string, sealed []byte) error {
		_, err := s.open(kid, sealed)
		return err
	}, nil
}
