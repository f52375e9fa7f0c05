package auth

import (
	"crypto/sha256"
	"sync"
	"time"

	"github.com/arsaka/puguh/keys"
)

// verifiedTokens remembers tokens whose signature and claims checked out, so
// a client sending the same Bearer token again costs a SHA-256 and a map
// read instead of an RSA verification. Only a byte-identical token hits.
// What can change about a verified token is checked on every request anyway:
// the denylist (logout, revocation), membership and role. What cannot be
// re-checked from the cache is a key removed by a forced rotation; entries
// live at most verifiedTokenTTL, which bounds that.
type verifiedTokens struct {
	now func() time.Time
	max int

	mu      sync.RWMutex
	entries map[[32]byte]verifiedToken
}

// verifiedTokenTTL bounds how long a forced key removal takes to reach
// tokens already verified on this replica.
const verifiedTokenTTL = 30 * time.Second

type verifiedToken struct {
	vt     *keys.VerifiedToken
	claims accessClaims
	until  time.Time // the earlier of the token's exp and verifiedTokenTTL
}

func newVerifiedTokens(now func() time.Time) *verifiedTokens {
	if now == nil {
		now = time.Now
	}
	return &verifiedTokens{now: now, max: 50_000, entries: make(map[[32]byte]verifiedToken)}
}

func (c *verifiedTokens) get(token string) (verifiedToken, bool) {
	k := sha256.Sum256([]byte(token))
	c.mu.RLock()
	e, ok := c.entries[k]
	c.mu.RUnlock()
	if !ok || !c.now().Before(e.until) {
		return verifiedToken{}, false
	}
	return e, true
}

func (c *verifiedTokens) put(token string, vt *keys.VerifiedToken, claims accessClaims) {
	until := c.now().Add(verifiedTokenTTL)
	if vt.Claims.Expiry != nil && vt.Claims.Expiry.Time().Before(until) {
		until = vt.Claims.Expiry.Time()
	}
	k := sha256.Sum256([]byte(token))
	c.mu.Lock()
	if len(c.entries) >= c.max {
		clear(c.entries) // bounded; a cold cache only costs verifications
	}
	c.entries[k] = verifiedToken{vt: vt, claims: claims, until: until}
	c.mu.Unlock()
}
