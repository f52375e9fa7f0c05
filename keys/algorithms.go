package keys

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"math/big"
	"slices"
	"strings"
)

// The JWS algorithms (RFC 7518 §3.1, RFC 8037 §3.1) we sign with. RS256 is
// the default and always on; ES256 and EdDSA (Ed25519) are opt-in per
// application, each with its own chain of keys (next → active → retired)
// rotated on the same schedule as RS256.
const (
	AlgRS256 = "RS256"
	AlgES256 = "ES256"
	AlgEdDSA = "EdDSA"
)

// algRS256 is the default algorithm (kept for the code that predates the others).
const algRS256 = AlgRS256

// SupportedAlgorithms are the algorithms Config.Algorithms may name.
func SupportedAlgorithms() []string { return []string{AlgRS256, AlgES256, AlgEdDSA} }

// ValidAlgorithm reports whether alg is one we can sign with.
func ValidAlgorithm(alg string) bool { return slices.Contains(SupportedAlgorithms(), alg) }

// AlgorithmChoice is the algorithm a token endpoint request signs with, by
// kind of token. Empty fields mean RS256.
type AlgorithmChoice struct {
	// AccessToken signs JWTs whose "typ" is "at+jwt" (RFC 9068).
	AccessToken string
	// IDToken signs everything else (ID tokens).
	IDToken string
}

type choiceKey struct{}

// WithAlgorithms returns a context under which the fosite signer signs with
// the algorithms of choice: the token endpoint sets it from the client's
// registration once the client is authenticated.
func WithAlgorithms(ctx context.Context, c AlgorithmChoice) context.Context {
	return context.WithValue(ctx, choiceKey{}, c)
}

// algorithmFor picks the algorithm for a token of JWS type typ under ctx.
func algorithmFor(ctx context.Context, typ string) string {
	c, _ := ctx.Value(choiceKey{}).(AlgorithmChoice)
	alg := c.IDToken
	if normaliseType(typ) == "at+jwt" {
		alg = c.AccessToken
	}
	if alg == "" {
		return AlgRS256
	}
	return alg
}

// generateKey makes a new private key for alg; rsaBits is the RSA modulus size.
func generateKey(alg string, rsaBits int, generateRSA func(int) (*rsa.PrivateKey, error)) (crypto.Signer, error) {
	switch alg {
	case AlgRS256:
		return generateRSA(rsaBits)
	case AlgES256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case AlgEdDSA:
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		return priv, err
	}
	return nil, fmt.Errorf("keys: unsupported algorithm %q", alg)
}

// checkPublicKey reports whether pub is a key of alg (and of a size we accept).
func checkPublicKey(alg string, pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if alg == AlgRS256 {
			return nil
		}
	case *ecdsa.PublicKey:
		if alg == AlgES256 && k.Curve == elliptic.P256() {
			return nil
		}
	case ed25519.PublicKey:
		if alg == AlgEdDSA {
			return nil
		}
	}
	return fmt.Errorf("public key is %T, not a key for %s", pub, alg)
}

// publicJWK has exactly the public members of an RSA, EC or OKP JWK
// (RFC 7517 §4, RFC 7518 §6.2.1 and §6.3.1, RFC 8037 §2). Being a struct, not
// a map or a go-jose key, it cannot leak d, p, q, dp, dq or qi by construction.
type publicJWK struct {
	Kty string `json:"kty"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	Crv string `json:"crv,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
}

var b64 = base64.RawURLEncoding

// jwkOf is the public JWK of pub, without kid and use.
func jwkOf(pub crypto.PublicKey) publicJWK {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return publicJWK{Kty: "RSA", Alg: AlgRS256, N: b64.EncodeToString(k.N.Bytes()),
			E: b64.EncodeToString(big.NewInt(int64(k.E)).Bytes())}
	case *ecdsa.PublicKey:
		// RFC 7518 §6.2.1.2: coordinates are padded to the curve's size.
		x, y := make([]byte, 32), make([]byte, 32)
		pt, _ := k.Bytes() // 0x04 || X || Y for a valid P-256 key
		if len(pt) == 65 {
			copy(x, pt[1:33])
			copy(y, pt[33:])
		}
		return publicJWK{Kty: "EC", Alg: AlgES256, Crv: "P-256", X: b64.EncodeToString(x), Y: b64.EncodeToString(y)}
	case ed25519.PublicKey:
		return publicJWK{Kty: "OKP", Alg: AlgEdDSA, Crv: "Ed25519", X: b64.EncodeToString(k)}
	}
	return publicJWK{}
}

// thumbprint is the RFC 7638 JWK thumbprint (SHA-256, base64url): a kid that
// is derived from the key itself, unique and safe to put in a header.
func thumbprint(pub crypto.PublicKey) string {
	j := jwkOf(pub)
	// RFC 7638 §3.2: required members only, lexicographic order, no whitespace.
	var canon string
	switch j.Kty {
	case "RSA":
		canon = `{"e":"` + j.E + `","kty":"RSA","n":"` + j.N + `"}`
	case "EC":
		canon = `{"crv":"` + j.Crv + `","kty":"EC","x":"` + j.X + `","y":"` + j.Y + `"}`
	case "OKP":
		canon = `{"crv":"` + j.Crv + `","kty":"OKP","x":"` + j.X + `"}`
	}
	sum := sha256.Sum256([]byte(canon))
	return b64.EncodeToString(sum[:])
}

// signJWS signs a JWS signing input (RFC 7515 §5.1) with k and returns the
// signature as JWS encodes it: PKCS #1 v1.5 for RS256, R || S of 32 bytes
// each for ES256 (RFC 7518 §3.4, not ASN.1), Ed25519 over the whole input
// for EdDSA.
func signJWS(k *key, input []byte) ([]byte, error) {
	switch k.alg {
	case AlgRS256:
		digest := sha256.Sum256(input)
		return k.signer.Sign(rand.Reader, digest[:], crypto.SHA256)
	case AlgES256:
		priv, ok := k.signer.(*ecdsa.PrivateKey)
		if !ok {
			return nil, errors.New("keys: ES256 key is not an ECDSA key")
		}
		digest := sha256.Sum256(input)
		r, s, err := ecdsa.Sign(rand.Reader, priv, digest[:])
		if err != nil {
			return nil, err
		}
		sig := make([]byte, 64)
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
		return sig, nil
	case AlgEdDSA:
		return k.signer.Sign(rand.Reader, input, crypto.Hash(0))
	}
	return nil, fmt.Errorf("keys: cannot sign with %q", k.alg)
}

// signatureSize is the length of alg's signature with pub, for buffer sizing.
func signatureSize(pub crypto.PublicKey) int {
	if k, ok := pub.(*rsa.PublicKey); ok {
		return k.Size()
	}
	return 64
}

// tokenHash is the hash of OpenID Connect's at_hash and c_hash for alg
// (OIDC Core §3.1.3.6: the hash of the JWS algorithm; SHA-512 for Ed25519,
// as the OpenID Foundation's registry and go-oidc do).
func tokenHash(alg string) hash.Hash {
	if alg == AlgEdDSA {
		return sha512.New()
	}
	return sha256.New()
}

// ParseAlgorithms parses PUGUH_SIGNING_ALGORITHMS: a comma-separated list of
// SupportedAlgorithms that must include RS256.
func ParseAlgorithms(list string) ([]string, error) {
	var out []string
	for _, a := range strings.Split(list, ",") {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		if !ValidAlgorithm(a) {
			return nil, fmt.Errorf("unsupported signing algorithm %q (supported: %s)", a, strings.Join(SupportedAlgorithms(), ", "))
		}
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	if !slices.Contains(out, AlgRS256) {
		return nil, errors.New("RS256 must stay enabled: it is the default algorithm")
	}
	return out, nil
}
