package keys

// This file is the only one that imports go-jose v3: fosite v0.49's public
// types are built on it, the rest of Puguh uses v4.

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	josev3 "github.com/go-jose/go-jose/v3"
	fositejwt "github.com/ory/fosite/token/jwt"
)

// FositeSigner returns a fosite jwt.Signer that signs with the active key and
// puts its kid in every header. fosite's DefaultSigner knows a single key and
// validates with that key only (fosite#786), so tokens would stop validating
// at the first rotation; this adapter signs with the active key's
// crypto.Signer, reuses DefaultSigner for hashing, and validates against every
// published key, chosen by kid.
func (m *Manager) FositeSigner() fositejwt.Signer {
	return &fositeSigner{m: m, def: &fositejwt.DefaultSigner{GetPrivateKey: m.fositePrivateKey}}
}

var _ fositejwt.Signer = (*fositeSigner)(nil)

type fositeSigner struct {
	m   *Manager
	def *fositejwt.DefaultSigner
}

// fositePrivateKey feeds DefaultSigner: a v3 JWK carries the kid, which
// go-jose writes into the protected header.
func (m *Manager) fositePrivateKey(context.Context) (any, error) {
	k := m.set.Load().active
	return &josev3.JSONWebKey{Key: k.priv, KeyID: k.kid, Algorithm: algRS256, Use: "sig"}, nil
}

// Generate signs claims with the active key as a compact JWS (RFC 7515
// §7.1): header {"alg":"RS256","kid":…,"typ":"JWT"} overlaid with the
// caller's header (fosite sets typ at+jwt on access tokens), except "kid" and
// "alg", which the key decides (a stale kid would point verifiers at the
// wrong key). The SHA-256 digest is signed by the key's crypto.Signer:
// crypto/rsa, or OpenSSL in a -tags openssl build.
func (s *fositeSigner) Generate(_ context.Context, claims fositejwt.MapClaims, header fositejwt.Mapper) (string, string, error) {
	if claims == nil {
		return "", "", errors.New("keys: no claims to sign")
	}
	k := s.m.set.Load().active
	h := map[string]any{"alg": algRS256, "kid": k.kid, "typ": "JWT"}
	if header != nil {
		for name, v := range header.ToMap() {
			if name != "kid" && name != "alg" {
				h[name] = v
			}
		}
	}
	hb, err := json.Marshal(h)
	if err != nil {
		return "", "", fmt.Errorf("keys: encode header: %w", err)
	}
	cb, err := json.Marshal(map[string]any(claims))
	if err != nil {
		return "", "", fmt.Errorf("keys: encode claims: %w", err)
	}
	enc := base64.RawURLEncoding
	input := make([]byte, 0, enc.EncodedLen(len(hb))+1+enc.EncodedLen(len(cb))+1+enc.EncodedLen(k.pub.Size()))
	input = enc.AppendEncode(input, hb)
	input = append(input, '.')
	input = enc.AppendEncode(input, cb)
	digest := sha256.Sum256(input)
	sig, err := k.signer.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		return "", "", fmt.Errorf("keys: sign: %w", err)
	}
	input = append(input, '.')
	n := len(input)
	input = enc.AppendEncode(input, sig)
	return string(input), string(input[n:]), nil
}

// Validate checks the signature against the published keys and the time
// claims as fosite does, returning the signature part.
func (s *fositeSigner) Validate(ctx context.Context, token string) (string, error) {
	if _, err := s.Decode(ctx, token); err != nil {
		return "", err
	}
	return s.def.GetSignature(ctx, token)
}

// Decode parses and verifies a token. As with DefaultSigner, a token with bad
// claims (expired, say) is returned together with the error, so fosite can
// inspect an expired id_token_hint.
func (s *fositeSigner) Decode(ctx context.Context, token string) (*fositejwt.Token, error) {
	if len(token) > MaxTokenSize {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrInvalidToken, MaxTokenSize)
	}
	return fositejwt.ParseWithClaims(token, fositejwt.MapClaims{}, s.keyFunc)
}

// keyFunc picks the verification key by kid, for RS256 only (RFC 8725 §3.1):
// returning an RSA public key for an HS256 or "none" token would be the
// classic algorithm-confusion hole.
func (s *fositeSigner) keyFunc(t *fositejwt.Token) (any, error) {
	if t.Method != josev3.RS256 {
		return nil, fmt.Errorf("%w: algorithm is not RS256", ErrInvalidToken)
	}
	kid, _ := t.Header["kid"].(string)
	if !validKID(kid) {
		return nil, fmt.Errorf("%w: missing or malformed kid", ErrInvalidToken)
	}
	k, ok := s.m.set.Load().published[kid]
	if !ok {
		return nil, fmt.Errorf("%w: unknown kid", ErrInvalidToken)
	}
	return k.pub, nil
}

// Hash is fosite's SHA-256 (used for at_hash and c_hash).
func (s *fositeSigner) Hash(ctx context.Context, in []byte) ([]byte, error) {
	return s.def.Hash(ctx, in)
}

// GetSignature returns the third part of a compact JWS.
func (s *fositeSigner) GetSignature(ctx context.Context, token string) (string, error) {
	return s.def.GetSignature(ctx, token)
}

// GetSigningMethodLength is the SHA-256 size, matching RS256.
func (s *fositeSigner) GetSigningMethodLength(ctx context.Context) int {
	return s.def.GetSigningMethodLength(ctx)
}
