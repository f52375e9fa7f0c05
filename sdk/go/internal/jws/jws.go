// Package jws parses and checks compact RS256 JSON Web Signatures (RFC 7515)
// as Puguh issues them. It is deliberately narrow: one serialization (compact),
// one algorithm (RS256, fixed by the caller, never chosen by the token, RFC 8725
// §3.1), keys looked up by a short kid only. The jku, x5u, jwk and x5c headers
// are never used to find a key (RFC 8725 §3.10), and a token naming any
// critical extension is refused (RFC 7515 §4.1.11: we understand none).
//
// It is hand-written rather than go-jose's general parser because it runs on
// every request of a resource server: this one decodes the header into a fixed
// struct and verifies with crypto/rsa directly, which keeps a verification at
// a handful of allocations.
package jws

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"strings"
)

// MaxTokenSize bounds a compact JWS before any parsing, as Puguh's own API does
// (its tokens are well under 2 KiB).
const MaxTokenSize = 16 << 10

// maxKIDLen bounds a kid; Puguh's are 43-character RFC 7638 thumbprints.
const maxKIDLen = 64

// Errors Parse and Verify return. Their text never echoes token content.
var (
	ErrMalformed    = errors.New("the token is not a well-formed JWS")
	ErrTooLarge     = errors.New("the token is too large")
	ErrAlgorithm    = errors.New("the token is not signed with RS256")
	ErrKeyID        = errors.New("the token has no usable kid")
	ErrCritical     = errors.New("the token names a critical extension")
	ErrSignature    = errors.New("the token's signature does not verify")
	ErrKeyTooSmall  = errors.New("the signing key is shorter than 2048 bits")
	errEmptyPayload = errors.New("the token has no payload")
)

// Header is the part of a JOSE header this package reads.
type Header struct {
	Alg string
	Kid string
	Typ string
}

// Token is a parsed, not yet verified, compact JWS.
type Token struct {
	Header Header
	// Payload is the decoded payload, as a string: what ScanObject reads, and
	// what the claims' strings are substrings of.
	Payload string
	// signed is the JWS Signing Input, BASE64URL(header) "." BASE64URL(payload),
	// as bytes for the hash.
	signed    []byte
	signature []byte
}

// Parse splits and decodes a compact JWS and checks its header: exactly
// three base64url (unpadded, canonical) parts, a JSON object header with alg
// RS256, a well-formed kid and no crit. It does not verify the signature.
// It allocates twice: one buffer for the signing input and the signature,
// one string for the decoded header and payload.
func Parse(token string) (Token, error) {
	if len(token) > MaxTokenSize {
		return Token{}, ErrTooLarge
	}
	h, rest, ok := strings.Cut(token, ".")
	if !ok {
		return Token{}, ErrMalformed
	}
	p, s, ok := strings.Cut(rest, ".")
	if !ok || strings.IndexByte(s, '.') >= 0 || h == "" || s == "" {
		return Token{}, ErrMalformed
	}
	if p == "" {
		return Token{}, errEmptyPayload
	}
	hn, pn, sn := decodedLen(len(h)), decodedLen(len(p)), decodedLen(len(s))
	if hn < 0 || pn < 0 || sn < 0 {
		return Token{}, ErrMalformed
	}
	signed := len(h) + 1 + len(p)
	buf := make([]byte, signed+hn+pn+sn)
	copy(buf, token[:signed])
	text := buf[signed : signed+hn+pn]
	if !decode(text[:hn], h) || !decode(text[hn:], p) || !decode(buf[signed+hn+pn:], s) {
		return Token{}, ErrMalformed
	}
	decoded := string(text)
	t := Token{Payload: decoded[hn:], signed: buf[:signed:signed], signature: buf[signed+hn+pn:]}
	crit := false
	err := ScanObject(decoded[:hn], func(key string, v Value) (err error) {
		switch key {
		case "alg":
			t.Header.Alg, err = v.Str()
		case "kid":
			t.Header.Kid, err = v.Str()
		case "typ":
			t.Header.Typ, err = v.Str()
		case "crit":
			crit = true
		}
		return err
	})
	if err != nil {
		return Token{}, ErrMalformed
	}
	if t.Header.Alg != "RS256" {
		return Token{}, ErrAlgorithm
	}
	if crit {
		return Token{}, ErrCritical
	}
	if !ValidKeyID(t.Header.Kid) {
		return Token{}, ErrKeyID
	}
	return t, nil
}

// Verify checks the RS256 signature (RSASSA-PKCS1-v1_5 with SHA-256, RFC 7518
// §3.3) with pub, which must be at least 2048 bits.
func (t *Token) Verify(pub *rsa.PublicKey) error {
	if pub == nil || pub.N == nil || pub.N.BitLen() < 2048 {
		return ErrKeyTooSmall
	}
	digest := sha256.Sum256(t.signed)
	if rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], t.signature) != nil {
		return ErrSignature
	}
	return nil
}

// ValidKeyID accepts a short base64url string. A kid is only ever a map key
// here, but refusing odd or huge values early keeps them out of logs and out
// of the key set's refetch logic.
func ValidKeyID(kid string) bool {
	if kid == "" || len(kid) > maxKIDLen {
		return false
	}
	for i := 0; i < len(kid); i++ {
		c := kid[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// TypeIs compares a typ header with a wanted media type as RFC 7515 §4.1.9
// asks: case-insensitively, with the "application/" prefix optional.
func TypeIs(typ, want string) bool {
	if len(typ) > len("application/") && strings.EqualFold(typ[:len("application/")], "application/") {
		typ = typ[len("application/"):]
	}
	return strings.EqualFold(typ, want)
}
