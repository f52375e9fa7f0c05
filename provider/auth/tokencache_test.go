package auth

import (
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/arsaka/puguh/keys"
)

// A verified token is remembered until the earlier of its own expiry and
// verifiedTokenTTL, and only the very same token hits.
func TestVerifiedTokensExpire(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	c := newVerifiedTokens(func() time.Time { return now })
	long := &keys.VerifiedToken{Claims: jwt.Claims{Expiry: jwt.NewNumericDate(now.Add(time.Hour))}}
	short := &keys.VerifiedToken{Claims: jwt.Claims{Expiry: jwt.NewNumericDate(now.Add(5 * time.Second))}}
	c.Put(tokenKey("long"), verifiedToken{vt: long, claims: accessClaims{ID: "a"}}, long.Claims.Expiry.Time())
	c.Put(tokenKey("short"), verifiedToken{vt: short, claims: accessClaims{ID: "b"}}, short.Claims.Expiry.Time())
	for _, tc := range []struct {
		name  string
		after time.Duration
		token string
		hit   bool
	}{
		{"fresh", 0, "long", true},
		{"other token", 0, "longer", false},
		{"at its exp", 5 * time.Second, "short", false},
		{"before ttl", verifiedTokenTTL - time.Second, "long", true},
		{"after ttl, before exp", verifiedTokenTTL, "long", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now = time.Unix(1_000_000, 0).Add(tc.after)
			if _, ok := c.Peek(tokenKey(tc.token)); ok != tc.hit {
				t.Fatalf("hit = %v, want %v", ok, tc.hit)
			}
		})
	}
}
