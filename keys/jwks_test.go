package keys

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

// jwksServer serves m's key set as /.well-known/jwks.json does, for the
// tests that need a resource server's view (the real handler, with its
// caching headers, is oauth.JWKSHandler).
func jwksServer(m *Manager) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(m.JWKS().Body)
	})
}

// TestJWKSHasPublicMembersOnly covers docs/security.md, "Tokens and keys": no private member, ever,
// for every state a key can be in.
func TestJWKSHasPublicMembersOnly(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		m := e.open(t)
		e.clock.Advance(e.cfg.withDefaults().RotationPeriod)
		if err := m.Refresh(context.Background()); err != nil {
			t.Fatal(err)
		}
		body := m.JWKS().Body
		var doc struct {
			Keys []map[string]any `json:"keys"`
		}
		if err := json.Unmarshal(body, &doc); err != nil {
			t.Fatal(err)
		}
		if len(doc.Keys) != 3 {
			t.Fatalf("%d keys published, want next, active and retired", len(doc.Keys))
		}
		for _, k := range doc.Keys {
			var members []string
			for name := range k {
				members = append(members, name)
			}
			slices.Sort(members)
			if want := []string{"alg", "e", "kid", "kty", "n", "use"}; !slices.Equal(members, want) {
				t.Errorf("key members %v, want exactly %v", members, want)
			}
			if k["kty"] != "RSA" || k["use"] != "sig" || k["alg"] != "RS256" {
				t.Errorf("key %v", k)
			}
		}
		var set jose.JSONWebKeySet
		if err := json.Unmarshal(body, &set); err != nil {
			t.Fatal(err)
		}
		for _, k := range set.Keys {
			if !k.IsPublic() || !k.Valid() {
				t.Errorf("key %s is not a valid public key", k.KeyID)
			}
		}
	})
}

// The document's validators: a strong ETag that stays while the keys do and
// changes with a rotation, and a max-age shorter than the pre-publication
// window. oauth's TestJWKSHandler checks how they are served.
func TestJWKSValidators(t *testing.T) {
	m, clock := newMemManager(t)
	first := m.JWKS()
	etag := first.ETag
	if !strings.HasPrefix(etag, `"`) || !strings.HasSuffix(etag, `"`) || len(etag) < 10 {
		t.Fatalf("ETag %q is not a strong, quoted validator", etag)
	}
	if first.CacheControl != "public, max-age=900" {
		t.Errorf("Cache-Control %q", first.CacheControl)
	}
	if cfg := testConfig(clock).withDefaults(); cfg.JWKSMaxAge >= cfg.PrePublish {
		t.Errorf("max-age %s is not shorter than the pre-publication window %s", cfg.JWKSMaxAge, cfg.PrePublish)
	}
	// A reload without changes keeps the ETag; a rotation changes it.
	if err := m.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := m.JWKS().ETag; got != etag {
		t.Errorf("ETag changed without a key change: %s → %s", etag, got)
	}
	clock.Advance(testConfig(clock).withDefaults().RotationPeriod)
	if err := m.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := m.JWKS().ETag; got == etag {
		t.Errorf("after rotation the ETag is still %s", etag)
	}
}
