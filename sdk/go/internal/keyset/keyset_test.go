package keyset

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// jwksServer serves a JWKS of keys with a Cache-Control and an ETag, and
// counts the requests, as Puguh's /.well-known/jwks.json does.
type jwksServer struct {
	srv          *httptest.Server
	mu           sync.Mutex
	keys         map[string]*rsa.PublicKey
	cacheControl string
	etag         string
	status       int
	requests     atomic.Int64
	notModified  atomic.Int64
}

var (
	keyOnce sync.Once
	pubs    []*rsa.PublicKey
)

func testKeys(t *testing.T) []*rsa.PublicKey {
	keyOnce.Do(func() {
		for i := 0; i < 3; i++ {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			pubs = append(pubs, &k.PublicKey)
		}
	})
	return pubs
}

func newJWKSServer(t *testing.T, kids ...string) *jwksServer {
	s := &jwksServer{keys: map[string]*rsa.PublicKey{}, cacheControl: "public, max-age=900", status: 200}
	for i, kid := range kids {
		s.keys[kid] = testKeys(t)[i]
	}
	s.etag = `"v1"`
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.status != 200 {
			w.WriteHeader(s.status)
			return
		}
		w.Header().Set("Cache-Control", s.cacheControl)
		w.Header().Set("ETag", s.etag)
		if r.Header.Get("If-None-Match") == s.etag {
			s.notModified.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		var out []map[string]string
		for kid, k := range s.keys {
			out = append(out, map[string]string{"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
				"n": base64.RawURLEncoding.EncodeToString(k.N.Bytes()),
				"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.E)).Bytes())})
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": out})
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// publish replaces the served keys (a rotation) and changes the ETag.
func (s *jwksServer) publish(t *testing.T, kids ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = map[string]*rsa.PublicKey{}
	for i, kid := range kids {
		s.keys[kid] = testKeys(t)[i]
	}
	s.etag = `"` + kids[0] + `"`
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

func newSet(s *jwksServer, c *clock, cooldown time.Duration) *Set {
	return New(Options{URL: s.srv.URL, Cooldown: cooldown, Now: c.Now})
}

func TestCachedKeyNeedsNoFetch(t *testing.T) {
	srv := newJWKSServer(t, "k1", "k2")
	set := newSet(srv, &clock{now: time.Unix(1e9, 0)}, 0)
	ctx := context.Background()
	for i := 0; i < 50; i++ {
		for _, kid := range []string{"k1", "k2"} {
			if _, err := set.Key(ctx, kid); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n := srv.requests.Load(); n != 1 {
		t.Fatalf("%d fetches, want 1", n)
	}
}

// TestUnknownKidCooldown: an unknown kid fetches the set again only when the
// cooldown has passed since the last fetch; within it, it is refused with no
// request at all.
func TestUnknownKidCooldown(t *testing.T) {
	srv := newJWKSServer(t, "k1")
	c := &clock{now: time.Unix(1e9, 0)}
	set := newSet(srv, c, 30*time.Second)
	ctx := context.Background()
	if _, err := set.Key(ctx, "k1"); err != nil {
		t.Fatal(err)
	}
	srv.publish(t, "k1", "k2") // the issuer rotates: k2 appears

	c.Advance(29 * time.Second)
	if _, err := set.Key(ctx, "k2"); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("within the cooldown: %v, want ErrUnknownKey", err)
	}
	if n := srv.requests.Load(); n != 1 {
		t.Fatalf("within the cooldown %d fetches, want 1", n)
	}

	c.Advance(time.Second)
	if _, err := set.Key(ctx, "k2"); err != nil {
		t.Fatalf("after the cooldown: %v", err)
	}
	if n := srv.requests.Load(); n != 2 {
		t.Fatalf("after the cooldown %d fetches, want 2", n)
	}
	// A kid still unknown after that fetch waits for the next cooldown.
	if _, err := set.Key(ctx, "k3"); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("k3: %v", err)
	}
	if n := srv.requests.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2", n)
	}
}

// TestForgedKidFlood: a thousand concurrent requests with forged kids cost
// the issuer at most one fetch per cooldown, and none while it lasts.
func TestForgedKidFlood(t *testing.T) {
	srv := newJWKSServer(t, "k1")
	c := &clock{now: time.Unix(1e9, 0)}
	set := newSet(srv, c, 30*time.Second)
	ctx := context.Background()
	if _, err := set.Key(ctx, "k1"); err != nil {
		t.Fatal(err)
	}
	flood := func() {
		var wg sync.WaitGroup
		for i := 0; i < 1000; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				kid := base64.RawURLEncoding.EncodeToString(big.NewInt(int64(i)).Bytes()) + "forged"
				if _, err := set.Key(ctx, kid); !errors.Is(err, ErrUnknownKey) {
					t.Errorf("forged kid %s: %v", kid, err)
				}
			}(i)
		}
		wg.Wait()
	}
	flood()
	if n := srv.requests.Load(); n != 1 {
		t.Fatalf("a flood within the cooldown made %d fetches in all, want 1 (the first)", n)
	}
	c.Advance(31 * time.Second)
	flood()
	if n := srv.requests.Load(); n != 2 {
		t.Fatalf("a flood after the cooldown made %d fetches in all, want 2", n)
	}
	// The real key kept working throughout.
	if _, err := set.Key(ctx, "k1"); err != nil {
		t.Fatal(err)
	}
}

// TestMaxAgeAndRevalidation: the set is kept as long as max-age (less Age)
// says, then revalidated with If-None-Match; a 304 keeps it another max-age.
func TestMaxAgeAndRevalidation(t *testing.T) {
	srv := newJWKSServer(t, "k1")
	c := &clock{now: time.Unix(1e9, 0)}
	set := newSet(srv, c, 30*time.Second)
	ctx := context.Background()
	if _, err := set.Key(ctx, "k1"); err != nil {
		t.Fatal(err)
	}
	c.Advance(899 * time.Second)
	if _, err := set.Key(ctx, "k1"); err != nil || srv.requests.Load() != 1 {
		t.Fatalf("at 899 s: %v, %d fetches", err, srv.requests.Load())
	}
	c.Advance(time.Second)
	if _, err := set.Key(ctx, "k1"); err != nil || srv.requests.Load() != 2 || srv.notModified.Load() != 1 {
		t.Fatalf("at 900 s: %v, %d fetches, %d not modified", err, srv.requests.Load(), srv.notModified.Load())
	}
	c.Advance(899 * time.Second)
	if _, err := set.Key(ctx, "k1"); err != nil || srv.requests.Load() != 2 {
		t.Fatalf("899 s after the 304: %v, %d fetches", err, srv.requests.Load())
	}
}

func TestLifetime(t *testing.T) {
	set := New(Options{URL: "http://127.0.0.1:1", Cooldown: 30 * time.Second})
	tests := []struct {
		name         string
		cacheControl string
		age          string
		want         time.Duration
	}{
		{"Puguh's", "public, max-age=900", "", 900 * time.Second},
		{"less Age", "public, max-age=900", "100", 800 * time.Second},
		{"none", "", "", DefaultMaxAge},
		{"no-store: the cooldown", "no-store", "", 30 * time.Second},
		{"no-cache: the cooldown", "no-cache, max-age=900", "", 30 * time.Second},
		{"max-age=0: the cooldown", "max-age=0", "", 30 * time.Second},
		{"a year: capped", "max-age=31536000", "", MaxMaxAge},
		{"malformed: the default", "max-age=soon", "", DefaultMaxAge},
		{"quoted", `max-age="60"`, "", 60 * time.Second},
		{"upper case", "MAX-AGE=120", "", 120 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.cacheControl != "" {
				h.Set("Cache-Control", tt.cacheControl)
			}
			if tt.age != "" {
				h.Set("Age", tt.age)
			}
			if got := set.lifetime(h); got != tt.want {
				t.Fatalf("lifetime = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestOutage: while the issuer cannot answer, a stale set keeps serving the
// keys it has (for up to MaxStale), fetches wait for the cooldown, and a set
// that was never fetched is an error, not an unknown key.
func TestOutage(t *testing.T) {
	srv := newJWKSServer(t, "k1")
	c := &clock{now: time.Unix(1e9, 0)}
	set := newSet(srv, c, 30*time.Second)
	ctx := context.Background()
	if _, err := set.Key(ctx, "k1"); err != nil {
		t.Fatal(err)
	}
	srv.mu.Lock()
	srv.status = http.StatusServiceUnavailable
	srv.mu.Unlock()
	c.Advance(901 * time.Second)
	for i := 0; i < 10; i++ {
		if _, err := set.Key(ctx, "k1"); err != nil {
			t.Fatalf("stale key during an outage: %v", err)
		}
	}
	if n := srv.requests.Load(); n != 2 {
		t.Fatalf("%d fetches during the outage, want 2 (one failed try per cooldown)", n)
	}
	var fe *FetchError
	if _, err := set.Key(ctx, "k2"); !errors.As(err, &fe) {
		t.Fatalf("an unknown kid during an outage: %v, want a FetchError (it may be a new key)", err)
	}
	c.Advance(MaxStale)
	if _, err := set.Key(ctx, "k1"); !errors.As(err, &fe) {
		t.Fatalf("after MaxStale: %v, want a FetchError", err)
	}

	never := newSet(srv, c, 30*time.Second)
	if _, err := never.Key(ctx, "k1"); !errors.As(err, &fe) {
		t.Fatalf("never fetched: %v", err)
	}
}

func TestParse(t *testing.T) {
	k := testKeys(t)[0]
	n := base64.RawURLEncoding.EncodeToString(k.N.Bytes())
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	sn := base64.RawURLEncoding.EncodeToString(small.N.Bytes())
	body := `{"keys":[
		{"kty":"RSA","kid":"good","n":"` + n + `","e":"AQAB","use":"sig","alg":"RS256"},
		{"kty":"RSA","kid":"noalg","n":"` + n + `","e":"AQAB"},
		{"kty":"RSA","kid":"enc","n":"` + n + `","e":"AQAB","use":"enc"},
		{"kty":"RSA","kid":"ps256","n":"` + n + `","e":"AQAB","alg":"PS256"},
		{"kty":"RSA","kid":"small","n":"` + sn + `","e":"AQAB"},
		{"kty":"RSA","kid":"../bad","n":"` + n + `","e":"AQAB"},
		{"kty":"RSA","kid":"dup","n":"` + n + `","e":"AQAB"},
		{"kty":"RSA","kid":"dup","n":"` + n + `","e":"AQAB"},
		{"kty":"OKP","kid":"ed","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
		{"kty":"nonsense"}
	]}`
	keys, err := Parse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys["good"] == nil || keys["noalg"] == nil {
		t.Fatalf("kept %v", keys)
	}
	if _, err := Parse([]byte(`{"keys":[]}`)); err == nil {
		t.Fatal("an empty set parsed")
	}
	if _, err := Parse([]byte(`[]`)); err == nil {
		t.Fatal("an array parsed")
	}
}
