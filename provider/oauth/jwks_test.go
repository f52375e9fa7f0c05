package oauth

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/arsaka/puguh/keys"
)

// fixedJWKS is a key set that never changes.
type fixedJWKS keys.JWKSDocument

func (f fixedJWKS) JWKS() keys.JWKSDocument { return keys.JWKSDocument(f) }

var testJWKS = fixedJWKS{Body: []byte(`{"keys":[]}`), ETag: `"abc123def456"`, CacheControl: "public, max-age=900"}

func serveJWKS(method string, header ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, "/.well-known/jwks.json", nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	JWKSHandler(testJWKS).ServeHTTP(w, r)
	return w
}

// The JWKS is served with its caching headers and answers conditional
// requests with 304 (RFC 9110 §13.1.2), so resource servers refresh cheaply.
func TestJWKSHandler(t *testing.T) {
	etag := testJWKS.ETag
	first := serveJWKS(http.MethodGet)
	if first.Code != http.StatusOK || first.Body.String() != string(testJWKS.Body) {
		t.Fatalf("GET: %d %s", first.Code, first.Body)
	}
	for k, want := range map[string]string{"ETag": etag, "Cache-Control": "public, max-age=900", "Content-Type": "application/json"} {
		if got := first.Header().Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
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
				w = serveJWKS(tc.method, "If-None-Match", tc.ifNoneMatch)
			} else {
				w = serveJWKS(tc.method)
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
}

func BenchmarkJWKS(b *testing.B) {
	h := JWKSHandler(testJWKS)
	for _, bc := range []struct{ name, ifNoneMatch string }{{"200", ""}, {"304", testJWKS.ETag}} {
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
