package keys

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

func serveJWKS(m *Manager, method string, header ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, "/.well-known/jwks.json", nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	m.JWKSHandler().ServeHTTP(w, r)
	return w
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
		w := serveJWKS(m, http.MethodGet)
		if w.Code != http.StatusOK {
			t.Fatalf("status %d", w.Code)
		}
		var doc struct {
			Keys []map[string]any `json:"keys"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil {
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
		if err := json.Unmarshal(w.Body.Bytes(), &set); err != nil {
			t.Fatal(err)
		}
		for _, k := range set.Keys {
			if !k.IsPublic() || !k.Valid() {
				t.Errorf("key %s is not a valid public key", k.KeyID)
			}
		}
	})
}

func TestJWKSCachingHeaders(t *testing.T) {
	m, clock := newMemManager(t)
	first := serveJWKS(m, http.MethodGet)
	etag := first.Header().Get("ETag")
	if first.Code != http.StatusOK {
		t.Fatalf("status %d", first.Code)
	}
	if !strings.HasPrefix(etag, `"`) || !strings.HasSuffix(etag, `"`) || len(etag) < 10 {
		t.Fatalf("ETag %q is not a strong, quoted validator", etag)
	}
	if got := first.Header().Get("Cache-Control"); got != "public, max-age=900" {
		t.Errorf("Cache-Control %q", got)
	}
	if cfg := testConfig(clock).withDefaults(); cfg.JWKSMaxAge >= cfg.PrePublish {
		t.Errorf("max-age %s is not shorter than the pre-publication window %s", cfg.JWKSMaxAge, cfg.PrePublish)
	}
	if got := first.Header().Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type %q", got)
	}

	for _, tc := range []struct {
		name, method, ifNoneMatch string
		code                      int
		body                      bool
	}{
		{"matching ETag", http.MethodGet, etag, http.StatusNotModified, false},
		{"weak form of the ETag", http.MethodGet, "W/" + etag, http.StatusNotModified, false},
		{"ETag in a list", http.MethodGet, `"other", ` + etag, http.StatusNotModified, false},
		{"star", http.MethodGet, "*", http.StatusNotModified, false},
		{"stale ETag", http.MethodGet, `"stale"`, http.StatusOK, true},
		{"HEAD", http.MethodHead, "", http.StatusOK, false},
		{"POST", http.MethodPost, "", http.StatusMethodNotAllowed, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var w *httptest.ResponseRecorder
			if tc.ifNoneMatch != "" {
				w = serveJWKS(m, tc.method, "If-None-Match", tc.ifNoneMatch)
			} else {
				w = serveJWKS(m, tc.method)
			}
			if w.Code != tc.code {
				t.Fatalf("status %d, want %d", w.Code, tc.code)
			}
			if (w.Body.Len() > 0) != tc.body {
				t.Errorf("body %q", w.Body.String())
			}
			if tc.code == http.StatusNotModified && (w.Header().Get("ETag") != etag || w.Header().Get("Cache-Control") == "") {
				t.Errorf("304 without ETag/Cache-Control: %v", w.Header())
			}
		})
	}

	// A reload without changes keeps the ETag; a rotation changes it.
	if err := m.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := serveJWKS(m, http.MethodGet).Header().Get("ETag"); got != etag {
		t.Errorf("ETag changed without a key change: %s → %s", etag, got)
	}
	clock.Advance(testConfig(clock).withDefaults().RotationPeriod)
	if err := m.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	w := serveJWKS(m, http.MethodGet, "If-None-Match", etag)
	if w.Code != http.StatusOK || w.Header().Get("ETag") == etag {
		t.Errorf("after rotation: status %d, ETag %s (old %s)", w.Code, w.Header().Get("ETag"), etag)
	}
}
