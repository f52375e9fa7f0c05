package keys

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// ErrInvalidToken is wrapped by every verification failure. The wrapped text
// names the reason for logs; it never echoes attacker-supplied header values.
var ErrInvalidToken = errors.New("keys: invalid token")

// Limits on untrusted input, checked before any parsing.
const (
	// MaxTokenSize bounds a compact JWS; ours are well under 2 KiB.
	MaxTokenSize = 16 << 10
	// maxKIDLen bounds a kid; ours are 43-character RFC 7638 thumbprints.
	maxKIDLen = 64
)

// Verifier checks JWTs signed by this issuer: RS256, ES256 or EdDSA, and
// exactly the algorithm of the key the kid names (RFC 8725 §3.1, which also
// rules out "none" and HS256 keyed with our public key), exactly the
// published keys looked up by kid. The jku, x5u, jwk and x5c headers are never
// used to find a key and never fetched (RFC 8725 §3.10). It reads the
// in-memory snapshot, so it follows rotations and never touches the database.
type Verifier struct {
	m *Manager
}

// Verifier returns a Verifier over this Manager's published keys.
func (m *Manager) Verifier() *Verifier { return &Verifier{m: m} }

// VerifiedToken is a token whose signature checked out.
type VerifiedToken struct {
	KeyID   string
	Type    string // the "typ" header, as sent
	Payload []byte
	Claims  jwt.Claims // set by VerifyJWT only
}

// Verify checks the signature and returns the payload. It does not look at
// claims: use VerifyJWT, or check them yourself.
func (v *Verifier) Verify(token string) (*VerifiedToken, error) {
	if len(token) > MaxTokenSize {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrInvalidToken, MaxTokenSize)
	}
	// RFC 8725 §3.1: the allowed algorithm list is fixed by us, not the
	// token, and the key found by kid must be of the token's algorithm.
	jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.EdDSA})
	if err != nil {
		return nil, fmt.Errorf("%w: malformed or disallowed algorithm", ErrInvalidToken)
	}
	if len(jws.Signatures) != 1 {
		return nil, fmt.Errorf("%w: want exactly one signature", ErrInvalidToken)
	}
	h := jws.Signatures[0].Protected
	if !validKID(h.KeyID) {
		return nil, fmt.Errorf("%w: missing or malformed kid", ErrInvalidToken)
	}
	k, ok := v.m.set.Load().published[h.KeyID]
	if !ok {
		return nil, fmt.Errorf("%w: unknown kid", ErrInvalidToken)
	}
	if h.Algorithm != k.alg {
		return nil, fmt.Errorf("%w: algorithm is not the key's", ErrInvalidToken)
	}
	payload, err := jws.Verify(k.pub)
	if err != nil {
		return nil, fmt.Errorf("%w: bad signature", ErrInvalidToken)
	}
	typ, _ := h.ExtraHeaders[jose.HeaderType].(string)
	return &VerifiedToken{KeyID: h.KeyID, Type: typ, Payload: payload}, nil
}

// validKID accepts a short base64url string: a kid is only ever a map key
// here, but refusing path-like or huge values early keeps them out of logs
// and out of any future code that might be tempted to use them as a path.
func validKID(kid string) bool {
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

// Expected is what VerifyJWT requires of a token's claims.
type Expected struct {
	Issuer   string // required: "iss" must equal it
	Audience string // required unless AnyAudience: "aud" must contain it
	// AnyAudience accepts the token whatever its audience, for endpoints that
	// answer about every client's tokens (introspection, userinfo). It must
	// be asked for explicitly: an empty Audience alone is a mistake.
	AnyAudience bool
	// Type, if set, must match the "typ" header, compared as RFC 7515 §4.1.9
	// says (case-insensitively, "application/" optional): "at+jwt" for
	// access tokens (RFC 9068), so an ID token cannot pass for one.
	Type string
	// Leeway is the clock skew allowed on exp, nbf and iat.
	Leeway time.Duration
}

// VerifyJWT verifies the signature, then the registered claims (RFC 7519
// §4.1): iss and aud must match, exp must be present and not passed, nbf and
// iat must not be in the future, each with want.Leeway, by the Manager's clock.
func (v *Verifier) VerifyJWT(token string, want Expected) (*VerifiedToken, error) {
	if want.Issuer == "" || (want.Audience == "") == !want.AnyAudience {
		return nil, errors.New("keys: VerifyJWT needs an issuer and either an audience or AnyAudience")
	}
	vt, err := v.Verify(token)
	if err != nil {
		return nil, err
	}
	if want.Type != "" && normaliseType(vt.Type) != normaliseType(want.Type) {
		return nil, fmt.Errorf("%w: wrong typ", ErrInvalidToken)
	}
	if err := json.Unmarshal(vt.Payload, &vt.Claims); err != nil {
		return nil, fmt.Errorf("%w: claims are not a JSON object", ErrInvalidToken)
	}
	if vt.Claims.Expiry == nil {
		return nil, fmt.Errorf("%w: no exp", ErrInvalidToken)
	}
	expected := jwt.Expected{Issuer: want.Issuer, Time: v.m.cfg.Now()}
	if !want.AnyAudience {
		expected.AnyAudience = jwt.Audience{want.Audience}
	}
	err = vt.Claims.ValidateWithLeeway(expected, want.Leeway)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	return vt, nil
}

func normaliseType(t string) string {
	t = strings.ToLower(t)
	return strings.TrimPrefix(t, "application/")
}
