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
