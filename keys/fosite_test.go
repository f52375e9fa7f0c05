package keys

import (
	"context"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	fositejwt "github.com/ory/fosite/token/jwt"
)

// headerKID reads the kid from a compact JWS with go-jose v4, as a resource server would.
func headerKID(t *testing.T, token string) string {
	t.Helper()
	jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return jws.Signatures[0].Protected.KeyID
}

// TestFositeSignerUsesActiveKID proves that tokens fosite mints through the
// adapter carry the active kid, before and after a rotation, and that the
// adapter still validates tokens of the retired key (fosite#786).
func TestFositeSignerUsesActiveKID(t *testing.T) {
	ctx := context.Background()
	m, clock := newMemManager(t)
	fs := m.FositeSigner()
	// fosite checks iat and exp against the wall clock, not ours.
	claims := func() fositejwt.MapClaims {
		now := time.Now()
		return fositejwt.MapClaims{"iss": testIssuer, "sub": "usr_1", "aud": []string{"app_1"},
			"iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	}
	// A stale kid in the caller's header must not survive.
	header := &fositejwt.Headers{Extra: map[string]any{"kid": "stale", "typ": "JWT"}}

	before, sig, err := fs.Generate(ctx, claims(), header)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	if got := headerKID(t, before); got != m.ActiveKID() {
		t.Fatalf("kid %q, want the active key %q", got, m.ActiveKID())
	}
	if got, err := fs.Validate(ctx, before); err != nil || got != sig {
		t.Fatalf("Validate = %q, %v; want the signature", got, err)
	}

	old := m.ActiveKID()
	clock.Advance(testConfig(clock).withDefaults().RotationPeriod)
	if err := m.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	after, _, err := fs.Generate(ctx, claims(), fositejwt.NewHeaders())
	if err != nil {
		t.Fatal(err)
	}
	if got := headerKID(t, after); got != m.ActiveKID() || got == old {
		t.Fatalf("kid after rotation %q, want the new active key %q", got, m.ActiveKID())
	}
	for name, token := range map[string]string{"before": before, "after": after} {
		if _, err := fs.Validate(ctx, token); err != nil {
			t.Errorf("token minted %s the rotation does not validate: %v", name, err)
		}
		if _, err := m.Verifier().Verify(token); err != nil {
			t.Errorf("our Verifier rejects the fosite token minted %s the rotation: %v", name, err)
		}
	}
	if n := fs.GetSigningMethodLength(ctx); n != 32 {
		t.Errorf("GetSigningMethodLength = %d", n)
	}
}
