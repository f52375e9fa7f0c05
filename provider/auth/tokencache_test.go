package auth

import (
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/arsaka/puguh/keys"
)

func TestVerifiedTokensExpire(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	c := newVerifiedTokens(func() time.Time { return now })
	long := &keys.VerifiedToken{Claims: jwt.Claims{Expiry: jwt.NewNumericDate(now.Add(time.Hour))}}
	short := &keys.VerifiedToken{Claims: jwt.Claims{Expiry: jwt.NewNumericDate(now.Add(5 * time.Second))}}
	c.put("long", long, accessClaims{ID: "a"})
	c.put("short", short, accessClaims{ID: "b"})
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
			if _, ok := c.get(tc.token); ok != tc.hit {
				t.Fatalf("hit = %v, want %v", ok, tc.hit)
			}
		})
	}
}

func TestVerifiedTokensBounded(t *testing.T) {
	c := newVerifiedTokens(nil)
	c.max = 3
	vt := &keys.VerifiedToken{}
	for _, tok := range []string{"a", "b", "c", "d"} {
		c.put(tok, vt, accessClaims{})
	}
	if n := len(c.entries); n > 3 {
		t.Fatalf("cache holds %d entries, max 3", n)
	}
}
