package keys

import (
	"context"
	"testing"
	"time"

	fositejwt "github.com/ory/fosite/token/jwt"
)

// BenchmarkSignAccessToken signs a typical access-token claim set, through
// our own minting and through the fosite adapter.
func BenchmarkSignAccessToken(b *testing.B) {
	m, clock := newMemManager(b)
	claims := accessTokenClaims(clock.Now(), time.Hour)
	b.Run("jose", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := m.Sign(claims, "at+jwt"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("fosite", func(b *testing.B) {
		fs := m.FositeSigner()
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := fs.Generate(ctx, fositejwt.MapClaims(claims), fositejwt.NewHeaders()); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkVerify(b *testing.B) {
	m, clock := newMemManager(b)
	token := signAccessToken(b, m, clock.Now(), time.Hour)
	v := m.Verifier()
	want := Expected{Issuer: testIssuer, Audience: testAudience, Type: "at+jwt"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.VerifyJWT(token, want); err != nil {
			b.Fatal(err)
		}
	}
}
