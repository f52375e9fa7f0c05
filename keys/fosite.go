package keys

// This file is the only one that imports go-jose v3: fosite v0.49's public
// types are built on it, the rest of Puguh uses v4.

import (
	"context"
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
// wrong key). An RS256 digest is signed by the key's crypto.Signer:
// crypto/rsa, or OpenSSL in a -tags openssl build.
//
// The algorithm is RS256 unless the context says otherwise (WithAlgorithms,
// from the client's registration): the access token's for "typ" at+jwt, the
// ID token's for the rest.
func (s *fositeSigner) Generate(ctx context.Context, claims fositejwt.MapClaims, header fositejwt.Mapper) (string, string, error) {
	if claims == nil {
		return "", "", errors.New("keys: no claims to sign")
	}
	h := map[string]any{"typ": "JWT"}
	if header != nil {
		for name, v := range header.ToMap() {
			if name != "kid" && name != "alg" {
				h[name] = v
			}
		}
	}
	typ, _ := h["typ"].(string)
	alg := algorithmFor(ctx, typ)
	k := s.m.set.Load().byAlg[alg]
	if k == nil {
		return "", "", fmt.Errorf("keys: no active %s key (is it in PUGUH_SIGNING_ALGORITHMS?)", alg)
	}
	h["alg"], h["kid"] = k.alg, k.kid
	hb, err := json.Marshal(h)
	if err != nil {
		return "", "", fmt.Errorf("keys: encode header: %w", err)
	}
	cb, err := json.Marshal(map[string]any(claims))
	if err != nil {
		return "", "", fmt.Errorf("keys: encode claims: %w", err)
	}
	enc := base64.RawURLEncoding
	input := make([]byte, 0, enc.EncodedLen(len(hb))+1+enc.EncodedLen(len(cb))+1+enc.EncodedLen(signatureSize(k.pub)))
	input = enc.AppendEncode(input, hb)
	input = append(input, '.')
	input = enc.AppendEncode(input, cb)
	sig, err := signJWS(k, input)
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

// keyFunc picks the verification key by kid, and only for the algorithm of
// that key (RFC 8725 §3.1): returning an RSA public key for an HS256 or
// "none" token would be the classic algorithm-confusion hole.
func (s *fositeSigner) keyFunc(t *fositejwt.Token) (any, error) {
	kid, _ := t.Header["kid"].(string)
	if !validKID(kid) {
		return nil, fmt.Errorf("%w: missing or malformed kid", ErrInvalidToken)
	}
	k, ok := s.m.set.Load().published[kid]
	if !ok {
		return nil, fmt.Errorf("%w: unknown kid", ErrInvalidToken)
	}
	if string(t.Method) != k.alg {
		return nil, fmt.Errorf("%w: algorithm is not the key's", ErrInvalidToken)
	}
	// A JWK, not the bare key: fosite takes a pointer to a key that is not
	// one, and go-jose knows no *ed25519.PublicKey.
	return &josev3.JSONWebKey{Key: k.pub, KeyID: k.kid, Algorithm: k.alg, Use: "sig"}, nil
}

// Hash is the hash of at_hash and c_hash for the ID token's algorithm under
// ctx: SHA-256, or SHA-512 for EdDSA.
func (s *fositeSigner) Hash(ctx context.Context, in []byte) ([]byte, error) {
	h := tokenHash(algorithmFor(ctx, ""))
	h.Write(in)
	return h.Sum(nil), nil
}

// GetSignature returns the third part of a compact JWS.
func (s *fositeSigner) GetSignature(ctx context.Context, token string) (string, error) {
	return s.def.GetSignature(ctx, token)
}

// GetSigningMethodLength is the size of Hash's output under ctx.
func (s *fositeSigner) GetSigningMethodLength(ctx context.Context) int {
	return tokenHash(algorithmFor(ctx, "")).Size()
}
