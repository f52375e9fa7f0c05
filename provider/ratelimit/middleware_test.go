package ratelimit

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestMiddlewarePerIP(t *testing.T) {
	c := newClock()
	m := NewMiddleware(NewMemory(c.Now), NewClientIP(nil), map[string]Policy{
		"POST /api/v1/auth/login": {Name: "signin", Limit: PerMinute(2)},
	}, c.Now)
	h := m.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	do := func(method, path, remote string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, path, nil)
		r.RemoteAddr = remote
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	for i := range 2 {
		if w := do(http.MethodPost, "/api/v1/auth/login", "192.0.2.1:1000"); w.Code != http.StatusNoContent || w.Header().Get(HeaderLimit) != "2" {
			t.Fatalf("attempt %d: %d %v", i+1, w.Code, w.Header())
		}
	}
	w := do(http.MethodPost, "/api/v1/auth/login", "192.0.2.1:1001")
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "30" ||
		w.Body.String() != `{"detail":"Rate limit exceeded. Retry after 30 seconds."}` {
		t.Fatalf("third attempt: %d %v %s", w.Code, w.Header(), w.Body)
	}
	if w := do(http.MethodPost, "/api/v1/auth/login", "192.0.2.2:1000"); w.Code != http.StatusNoContent {
		t.Fatalf("another IP: %d", w.Code)
	}
	if w := do(http.MethodGet, "/api/v1/auth/login", "192.0.2.1:1000"); w.Code != http.StatusNoContent || w.Header().Get(HeaderLimit) != "" {
		t.Fatalf("routes without a policy pass untouched: %d %v", w.Code, w.Header())
	}
}

// A policy with Refuse answers its 429 itself (a page for browsers), with the
// same Retry-After and X-RateLimit-* headers as the JSON refusal.
func TestMiddlewareCustomRefusal(t *testing.T) {
	c := newClock()
	var gotRetry int
	m := NewMiddleware(NewMemory(c.Now), NewClientIP(nil), map[string]Policy{
		"GET /oauth/authorize": {Name: "authorize", Limit: PerMinute(1), Refuse: func(w http.ResponseWriter, r *http.Request, retryAfter int) {
			gotRetry = retryAfter
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte("<p>slow down</p>"))
		}},
	}, c.Now)
	h := m.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusSeeOther) }))
	do := func() *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, "/oauth/authorize", nil)
		r.RemoteAddr = "192.0.2.1:1000"
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	if w := do(); w.Code != http.StatusSeeOther {
		t.Fatalf("first request: %d", w.Code)
	}
	w := do()
	if w.Code != http.StatusTooManyRequests || w.Body.String() != "<p>slow down</p>" || w.Header().Get("Retry-After") != "60" ||
		gotRetry != 60 || w.Header().Get(HeaderLimit) != "1" || w.Header().Get(HeaderRemaining) != "0" {
		t.Fatalf("refusal: %d %v %q (Refuse saw %d)", w.Code, w.Header(), w.Body, gotRetry)
	}
}
