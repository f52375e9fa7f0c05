package auth

import (
	"crypto/sha256"
	"time"

	"github.com/arsaka/puguh/keys"
	"github.com/arsaka/puguh/storage/cache"
)

// The verified-token cache remembers tokens whose signature and claims
// checked out, so a client sending the same Bearer token again costs a
// SHA-256 and a map read instead of an RSA verification. Only a
// byte-identical token hits. What can change about a verified token is
// checked on every request anyway: the denylist (logout, revocation),
// membership, role, a disabled user. What cannot be re-checked from the cache
// is a key removed by a forced rotation; entries live at most
// verifiedTokenTTL, which bounds that.

// verifiedTokenTTL bounds how long a forced key removal takes to reach
// tokens already verified on this replica.
const verifiedTokenTTL = 30 * time.Second

type verifiedToken struct {
	vt     *keys.VerifiedToken
	claims accessClaims
}

func newVerifiedTokens(now func() time.Time) *cache.Cache[verifiedToken] {
	return cache.New[verifiedToken](cache.Config{Name: "verified-tokens", TTL: verifiedTokenTTL, MaxEntries: 50_000, Now: now})
}

// tokenKey is the cache key of a token: its SHA-256, so the cache holds no token.
func tokenKey(token string) string {
	sum := sha256.Sum256([]byte(token))
	return string(sum[:])
}
