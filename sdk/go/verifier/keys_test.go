package verifier

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testIssuer is a stand-in issuer for unit tests: a discovery document and a
// JWKS served by httptest on 127.0.0.1, RSA keys made here, and tokens signed
// with them. The end-to-end tests use a real Puguh instead.
type testIssuer struct {
	srv      *httptest.Server
	mu       sync.Mutex
	keys     map[string]*rsa.PrivateKey
	active   string
	maxAge   string // Cache-Control value
	fetches  atomic.Int64
	failJWKS atomic.Bool
}

// testKeys are made once per test binary: RSA key generation is slow,
// especially under the race detector.
var (
	testKeys = sync.OnceValue(func() []*rsa.PrivateKey {
		keys := make([]*rsa.PrivateKey, 4)
		for i := range keys {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			keys[i] = k
		}
		return keys
	})
	nextKey atomic.Int64
)

func newKey(testing.TB, int) *rsa.PrivateKey {
	keys := testKeys()
	return keys[int(nextKey.Add(1))%len(keys)]
}

func newTestIssuer(t testing.TB) *testIssuer {
	t.Helper()
	ti := &testIssuer{keys: map[string]*rsa.PrivateKey{}, maxAge: "public, max-age=900"}
	ti.addKey(t, true)
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{
			"issuer": ti.srv.URL, "jwks_uri": ti.srv.URL + "/.well-known/jwks.json",
			"introspection_endpoint": ti.srv.URL + "/oauth/introspect",
		})
	})
	mux.HandleFunc("/.well-known/jwks.json", func(w http.ResponseWriter, r *http.Request) {
		ti.fetches.Add(1)
		if ti.failJWKS.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		ti.mu.Lock()
		defer ti.mu.Unlock()
		var keys []map[string]string
		for kid, k := range ti.keys {
			keys = append(keys, map[string]string{
				"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
				"n": base64.RawURLEncoding.EncodeToString(k.N.Bytes()),
				"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.E)).Bytes()),
			})
		}
		w.Header().Set("Cache-Control", ti.maxAge)
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": keys})
	})
	ti.srv = httptest.NewServer(mux)
	t.Cleanup(ti.srv.Close)
	return ti
}

func (ti *testIssuer) addKey(t testing.TB, activate bool) string {
	k := newKey(t, 2048)
	kid := base64.RawURLEncoding.EncodeToString(sha256.New().Sum(k.N.Bytes())[:32])
	ti.mu.Lock()
	ti.keys[kid] = k
	if activate {
		ti.active = kid
	}
	ti.mu.Unlock()
	return kid
}

// sign makes a compact RS256 JWS of header and claims with the active key
// (or with kid's key when given).
func (ti *testIssuer) sign(t testing.TB, header map[string]any, claims any) string {
	t.Helper()
	ti.mu.Lock()
	kid, _ := header["kid"].(string)
	if kid == "" {
		kid = ti.active
		header["kid"] = kid
	}
	k := ti.keys[kid]
	ti.mu.Unlock()
	if k == nil {
		k = newKey(t, 2048)
	}
	return signWith(t, k, header, claims)
}

func signWith(t testing.TB, k *rsa.PrivateKey, header map[string]any, claims any) string {
	t.Helper()
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	input := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	digest := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// accessToken is a valid access token for aud, issued at now.
func (ti *testIssuer) accessToken(t testing.TB, now time.Time, aud string, extra map[string]any) string {
	claims := map[string]any{
		"iss": ti.srv.URL, "sub": "user-1", "aud": []string{aud},
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "jti": fmt.Sprintf("jti-%d", now.UnixNano()),
		"client_id": "app-1", "scope": "openid read:resources", "org_id": "org-1", "sid": "sid-1",
	}
	for k, v := range extra {
		if v == nil {
			delete(claims, k)
		} else {
			claims[k] = v
		}
	}
	return ti.sign(t, map[string]any{"alg": "RS256", "typ": "at+jwt"}, claims)
}

// fakeClock is a settable clock for the cache and cooldown tests.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func newVerifier(t testing.TB, ti *testIssuer, opts ...Option) *Verifier {
	t.Helper()
	v, err := New(context.Background(), ti.srv.URL, append([]Option{Audience("app-1")}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
