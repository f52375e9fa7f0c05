package verifier_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	puguh "github.com/arsaka/puguh/sdk/go"
	"github.com/arsaka/puguh/sdk/go/internal/puguhtest"
	"github.com/arsaka/puguh/sdk/go/verifier"
)

func TestMain(m *testing.M) {
	code := m.Run()
	puguhtest.RemoveBinary()
	os.Exit(code)
}

// TestRealPuguh: REST API tokens of a real Puguh verify with their claims;
// across two forced key rotations a pre-published key verifies from the
// cache, and a key created after the cache was filled is fetched for once
// the cooldown allows, and not before; introspection sees a logout.
func TestRealPuguh(t *testing.T) {
	ctx := context.Background()
	srv := puguhtest.StartT(t)
	user := srv.NewUser(t, "verify")
	api := srv.BaseURL + "/api"
	chain := user.RefreshToken
	fresh := func() string {
		var access string
		access, chain = srv.Refresh(t, chain)
		return access
	}

	fast, err := verifier.New(ctx, srv.BaseURL, verifier.Audience(api), verifier.Cooldown(0))
	if err != nil {
		t.Fatal(err)
	}
	slow, err := verifier.New(ctx, srv.BaseURL, verifier.Audience(api), verifier.Cooldown(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	first := fresh()
	claims, err := fast.Verify(ctx, first, "offline_access")
	if err != nil {
		t.Fatal(err)
	}
	if claims.Issuer != srv.BaseURL || claims.Subject != user.UserID || !claims.Audience.Contains(api) || claims.Kind != "user" ||
		claims.OrganizationID != user.OrganizationID || claims.ClientID != "puguh" {
		t.Fatalf("claims %+v", claims)
	}
	if _, err := slow.Verify(ctx, first); err != nil {
		t.Fatal(err)
	}
	if fast.KeySetFetches() != 1 || slow.KeySetFetches() != 1 {
		t.Fatal("New fetches the JWKS once")
	}
	other, _ := verifier.New(ctx, srv.BaseURL, verifier.Audience("some-other-client"))
	var te *puguh.TokenVerificationError
	if _, err := other.Verify(ctx, first); !errors.As(err, &te) || te.Code != puguh.InvalidToken {
		t.Fatalf("another audience: %v", err)
	}

	// Rotation 1: the next key, published since the start, signs.
	k1 := puguhtest.KeyID(t, first)
	srv.CLI(t, "keys", "rotate", "--force")
	srv.WaitUnpublished(t, k1)
	second := fresh()
	if puguhtest.KeyID(t, second) == k1 {
		t.Fatal("still signed with the old key")
	}
	for _, v := range []*verifier.Verifier{fast, slow} {
		if _, err := v.Verify(ctx, second); err != nil {
			t.Fatal(err)
		}
	}
	if fast.KeySetFetches() != 1 || slow.KeySetFetches() != 1 {
		t.Fatal("a pre-published key needed a fetch")
	}

	// Rotation 2: a key created after the caches were filled signs.
	k2 := puguhtest.KeyID(t, second)
	srv.CLI(t, "keys", "rotate", "--force")
	srv.WaitUnpublished(t, k2)
	third := fresh()
	if _, err := slow.Verify(ctx, third); !errors.As(err, &te) || te.Code != puguh.InvalidToken || slow.KeySetFetches() != 1 {
		t.Fatalf("within the cooldown: %v, %d fetches", err, slow.KeySetFetches())
	}
	if c, err := fast.Verify(ctx, third); err != nil || c.Subject != user.UserID || fast.KeySetFetches() != 2 {
		t.Fatalf("after the cooldown: %v, %d fetches", err, fast.KeySetFetches())
	}
	// The refetched set no longer holds the first key.
	if _, err := fast.Verify(ctx, first); !errors.As(err, &te) {
		t.Fatalf("a retired key: %v", err)
	}

	// Introspection, as an application of the user's organization.
	admin, _ := puguh.NewClient(puguh.WithBaseURL(srv.BaseURL), puguh.WithAccessToken(third, nil))
	app, err := admin.Applications.Create(ctx, puguh.ApplicationFields{Name: "Reports", RedirectURIs: []string{"http://127.0.0.1:9/cb"}})
	if err != nil {
		t.Fatal(err)
	}
	in, err := verifier.New(ctx, srv.BaseURL, verifier.Audience(api), verifier.Introspection(app.ClientID, app.ClientSecret))
	if err != nil {
		t.Fatal(err)
	}
	if r, err := in.Introspect(ctx, third); err != nil || !r.Active || r.Subject != user.UserID {
		t.Fatalf("%+v %v", r, err)
	}
	srv.Logout(t, third)
	if r, err := in.Introspect(ctx, third); err != nil || r.Active {
		t.Fatalf("after logout: %+v %v", r, err)
	}
	bad, _ := verifier.New(ctx, srv.BaseURL, verifier.Audience(api), verifier.Introspection(app.ClientID, "wrong"))
	var oe *puguh.OAuthError
	if _, err := bad.Introspect(ctx, third); !errors.As(err, &oe) || oe.Status != 401 {
		t.Fatalf("wrong client secret: %v", err)
	}
}
