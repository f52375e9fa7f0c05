package keys

import (
	"crypto"
	"fmt"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// SigningKey returns the active key as go-jose's signing key: RS256, with the
// kid set so every JWS header names the key (RFC 7515 §4.1.4). It reads the
// in-memory snapshot only: no database access, no decryption.
func (m *Manager) SigningKey() jose.SigningKey {
	k := m.set.Load().active
	return jose.SigningKey{
		Algorithm: jose.RS256,
		Key:       &jose.JSONWebKey{Key: k.priv, KeyID: k.kid, Algorithm: algRS256, Use: "sig"},
	}
}

// Signer returns the active key's kid and private key as a crypto.Signer, for
// code that builds JWS itself.
func (m *Manager) Signer() (kid string, signer crypto.Signer) {
	k := m.set.Load().active
	return k.kid, k.priv
}

// Sign serialises claims (a struct or map that encodes to a JSON object) as a
// compact JWT signed with the active key. typ is the "typ" header, which
// RFC 8725 §3.11 asks for so one kind of token cannot pass for another
// (for example "at+jwt" for access tokens, RFC 9068 §2.1); empty means "JWT".
func (m *Manager) Sign(claims any, typ string) (string, error) {
	if typ == "" {
		typ = "JWT"
	}
	opts := (&jose.SignerOptions{}).WithType(jose.ContentType(typ))
	signer, err := jose.NewSigner(m.SigningKey(), opts)
	if err != nil {
		return "", fmt.Errorf("keys: signer: %w", err)
	}
	token, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		return "", fmt.Errorf("keys: sign: %w", err)
	}
	return token, nil
}
