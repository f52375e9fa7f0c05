package keys

import (
	"context"
	"net/http"
	"net/http/httptest"
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

func BenchmarkJWKS(b *testing.B) {
	m, _ := newMemManager(b)
	h := m.JWKSHandler()
	etag := serveJWKS(m, http.MethodGet).Header().Get("ETag")
	for _, bc := range []struct{ name, ifNoneMatch string }{{"200", ""}, {"304", etag}} {
		b.Run(bc.name, func(b *testing.B) {
			r := httptest.NewRequest(http.MethodGet, "/.well-known/jwks.json", nil)
			if bc.ifNoneMatch != "" {
				r.Header.Set("If-None-Match", bc.ifNoneMatch)
			}
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(httptest.NewRecorder(), r)
			}
		})
	}
}
