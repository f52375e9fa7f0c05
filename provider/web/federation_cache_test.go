package web

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"

	"github.com/arsaka/puguh/provider/federation"
)

// countingIdP is an OpenID Connect provider's discovery document and key
// set, and a SAML metadata document, counting how often each is fetched.
type countingIdP struct {
	*httptest.Server
	discovery, jwks, metadata atomic.Int32
	mu                        sync.Mutex
	key                       *rsa.PrivateKey
	kid                       string
	cacheControl              string
}

func newCountingIdP(t *testing.T) *countingIdP {
	t.Helper()
	idp := &countingIdP{cacheControl: "public, max-age=600"}
	idp.rotate(t, "k1")
	md, err := os.ReadFile("../federation/testdata/idp-metadata.xml")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		idp.discovery.Add(1)
		w.Header().Set("Cache-Control", idp.cacheControl)
		_ = json.NewEncoder(w).Encode(map[string]any{"issuer": idp.URL, "jwks_uri": idp.URL + "/jwks",
			"authorization_endpoint": idp.URL + "/authorize", "token_endpoint": idp.URL + "/token",
			"id_token_signing_alg_values_supported": []string{"RS256"}})
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, r *http.Request) {
		idp.jwks.Add(1)
		idp.mu.Lock()
		defer idp.mu.Unlock()
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &idp.key.PublicKey, KeyID: idp.kid, Algorithm: "RS256", Use: "sig"}}})
	})
	mux.HandleFunc("/saml/metadata", func(w http.ResponseWriter, r *http.Request) {
		idp.metadata.Add(1)
		w.Header().Set("Cache-Control", "max-age=60") // below the floor: kept 5 minutes
		_, _ = w.Write(md)
	})
	idp.Server = httptest.NewServer(mux)
	t.Cleanup(idp.Close)
	return idp
}

// rotate replaces the signing key (and its kid).
func (idp *countingIdP) rotate(t *testing.T, kid string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	idp.mu.Lock()
	idp.key, idp.kid = key, kid
	idp.mu.Unlock()
}

func (idp *countingIdP) idToken(t *testing.T) string {
	t.Helper()
	idp.mu.Lock()
	defer idp.mu.Unlock()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: idp.key, KeyID: idp.kid}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	claims, _ := json.Marshal(map[string]any{"iss": idp.URL, "aud": "puguh", "sub": "s1", "iat": time.Now().Unix(), "exp": time.Now().Add(time.Minute).Unix()})
	jws, err := signer.Sign(claims)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestUpstreamCache: the discovery document is fetched once per max-age,
// the key set once and again for an unknown kid (a rotation upstream), and
// SAML metadata from a URL once per its (clamped) max-age.
func TestUpstreamCache(t *testing.T) {
	idp := newCountingIdP(t)
	now := time.Now()
	var clock sync.Mutex
	p := &Pages{federation: &federationDeps{client: &http.Client{Timeout: upstreamTimeout}}}
	p.federation.cache = newUpstreamCache(func() time.Time { clock.Lock(); defer clock.Unlock(); return now })
	advance := func(d time.Duration) { clock.Lock(); now = now.Add(d); clock.Unlock() }
	ctx := context.Background()

	verify := func() {
		t.Helper()
		provider, err := p.oidcProvider(ctx, idp.URL)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := provider.Verifier(&oidc.Config{ClientID: "puguh"}).Verify(ctx, idp.idToken(t)); err != nil {
			t.Fatalf("verify: %v", err)
		}
	}
	want := func(what string, discovery, jwks int32) {
		t.Helper()
		if d, j := idp.discovery.Load(), idp.jwks.Load(); d != discovery || j != jwks {
			t.Fatalf("%s: discovery fetched %d times, key set %d; want %d, %d", what, d, j, discovery, jwks)
		}
	}
	verify()
	verify()
	want("two sign-ins", 1, 1)
	idp.rotate(t, "k2")
	verify()
	want("a new kid", 1, 2)
	advance(9 * time.Minute)
	verify()
	want("within max-age", 1, 2)
	advance(2 * time.Minute)
	verify()
	want("after max-age", 2, 3)

	c := &federation.Connection{}
	c.SAMLMetadataURL = idp.URL + "/saml/metadata"
	for i := 0; i < 2; i++ {
		md, err := p.samlMetadata(ctx, c)
		if err != nil || md.EntityID != "https://idp.acme.example/saml" {
			t.Fatalf("metadata: %v %v", md, err)
		}
	}
	advance(4 * time.Minute)
	if _, err := p.samlMetadata(ctx, c); err != nil {
		t.Fatal(err)
	}
	if n := idp.metadata.Load(); n != 1 {
		t.Fatalf("metadata fetched %d times within 5 minutes", n)
	}
	advance(2 * time.Minute)
	if _, err := p.samlMetadata(ctx, c); err != nil || idp.metadata.Load() != 2 {
		t.Fatalf("metadata after 6 minutes: %d fetches, %v", idp.metadata.Load(), err)
	}
}

func TestCacheTTL(t *testing.T) {
	for _, tc := range []struct {
		header string
		want   time.Duration
	}{
		{"", time.Hour},
		{"public, max-age=7200", 2 * time.Hour},
		{"max-age=60", 5 * time.Minute},
		{"max-age=9999999", 24 * time.Hour},
		{"no-store", 5 * time.Minute},
		{"no-cache, max-age=7200", 5 * time.Minute},
		{"max-age=oops", time.Hour},
	} {
		h := http.Header{}
		if tc.header != "" {
			h.Set("Cache-Control", tc.header)
		}
		if got := cacheTTL(h); got != tc.want {
			t.Errorf("Cache-Control %q: %v, want %v", tc.header, got, tc.want)
		}
	}
}
