package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/arsaka/puguh/provider/ratelimit"
	"github.com/arsaka/puguh/storage"
)

func TestMiddlewarePerIP(t *testing.T) {
	c := newClock()
	m := NewIPLimits(ratelimit.NewMemory(c.Now), NewClientIP(nil), IPLimitsConfig{Routes: map[string]IPPolicy{
		"POST /api/v1/auth/login": {Name: "signin", Limit: ratelimit.PerMinute(2)},
	}, Now: c.Now})
	h := m.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	do := func(method, path, remote string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, path, nil)
		r.RemoteAddr = remote
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	for i := range 2 {
		if w := do(http.MethodPost, "/api/v1/auth/login", "192.0.2.1:1000"); w.Code != http.StatusNoContent || w.Header().Get(HeaderRateLimit) != "2" {
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
	if w := do(http.MethodGet, "/api/v1/auth/login", "192.0.2.1:1000"); w.Code != http.StatusNoContent || w.Header().Get(HeaderRateLimit) != "" {
		t.Fatalf("routes without a policy pass untouched: %d %v", w.Code, w.Header())
	}
}

// A policy with Refuse answers its 429 itself (a page for browsers), with the
// same Retry-After and X-RateLimit-* headers as the JSON refusal.
func TestMiddlewareCustomRefusal(t *testing.T) {
	c := newClock()
	var gotRetry int
	m := NewIPLimits(ratelimit.NewMemory(c.Now), NewClientIP(nil), IPLimitsConfig{Routes: map[string]IPPolicy{
		"GET /oauth/authorize": {Name: "authorize", Limit: ratelimit.PerMinute(1), Refuse: func(w http.ResponseWriter, r *http.Request, retryAfter int) {
			gotRetry = retryAfter
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte("<p>slow down</p>"))
		}},
	}, Now: c.Now})
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
		gotRetry != 60 || w.Header().Get(HeaderRateLimit) != "1" || w.Header().Get(HeaderRateRemaining) != "0" {
		t.Fatalf("refusal: %d %v %q (Refuse saw %d)", w.Code, w.Header(), w.Body, gotRetry)
	}
}

type fakeOrgs struct {
	mu    sync.Mutex
	orgs  map[string]storage.Organization
	reads int
	err   error
}

func (f *fakeOrgs) OrganizationByID(_ context.Context, id string) (*storage.Organization, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	if f.err != nil {
		return nil, f.err
	}
	o, ok := f.orgs[id]
	if !ok {
		return nil, storage.ErrNotFound
	}
	return &o, nil
}

func (f *fakeOrgs) set(id, plan string, limit int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.orgs[id] = storage.Organization{ID: id, Plan: plan, RateLimit: limit}
}

func limitOnce(t *testing.T, o *ratelimit.Organizations, orgID string, now time.Time) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "/api/v1/health", nil)
	if err := LimitOrganization(w, r, o, orgID, now); err != nil {
		WriteError(w, r, err)
	}
	return w
}

// The 61st request of a free organization within a minute is 429 with every
// header right; the values before it are monotone and Reset is in the future.
func TestOrganizationsFreePlan(t *testing.T) {
	c := newClock()
	orgs := &fakeOrgs{orgs: map[string]storage.Organization{}}
	orgs.set("o1", storage.PlanFree, 0)
	o := ratelimit.NewOrganizations(ratelimit.NewMemory(c.Now), ratelimit.NewPlans(orgs))
	now := c.Now().Unix()
	prevReset := int64(0)
	for i := range 60 {
		w := limitOnce(t, o, "o1", c.Now())
		h := w.Header()
		reset, _ := strconv.ParseInt(h.Get(HeaderRateReset), 10, 64)
		if w.Code != http.StatusOK || h.Get(HeaderRateLimit) != "60" || h.Get(HeaderRateRemaining) != strconv.Itoa(59-i) ||
			reset <= now || reset < prevReset || h.Get("Retry-After") != "" {
			t.Fatalf("request %d: %d %v", i+1, w.Code, h)
		}
		prevReset = reset
	}
	w := limitOnce(t, o, "o1", c.Now())
	h := w.Header()
	reset, _ := strconv.ParseInt(h.Get(HeaderRateReset), 10, 64)
	if w.Code != http.StatusTooManyRequests || h.Get(HeaderRateRemaining) != "0" || h.Get(HeaderRateLimit) != "60" ||
		h.Get("Retry-After") != "1" || reset != now+61 { // now is at .25 s: 60.25 s rounds up
		t.Fatalf("61st: %d %v", w.Code, h)
	}
	if got, want := w.Body.String(), `{"detail":"Rate limit exceeded. Retry after 1 seconds."}`; got != want {
		t.Fatalf("body %s, want %s", got, want)
	}
	// GCRA refills one request per second: the 62nd passes a second later.
	c.Advance(time.Second)
	if w := limitOnce(t, o, "o1", c.Now()); w.Code != http.StatusOK || w.Header().Get(HeaderRateRemaining) != "0" {
		t.Fatalf("a second later: %d %v", w.Code, w.Header())
	}
}

func TestOrganizationsRetryAfterMatchesBody(t *testing.T) {
	c := newClock()
	orgs := &fakeOrgs{orgs: map[string]storage.Organization{}}
	orgs.set("slow", storage.PlanEnterprise, 1) // one request a minute
	o := ratelimit.NewOrganizations(ratelimit.NewMemory(c.Now), ratelimit.NewPlans(orgs))
	if w := limitOnce(t, o, "slow", c.Now()); w.Code != http.StatusOK || w.Header().Get(HeaderRateLimit) != "1" {
		t.Fatalf("first: %d %v", w.Code, w.Header())
	}
	c.Advance(15 * time.Second)
	w := limitOnce(t, o, "slow", c.Now())
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "45" ||
		w.Body.String() != `{"detail":"Rate limit exceeded. Retry after 45 seconds."}` {
		t.Fatalf("second: %d %v %s", w.Code, w.Header(), w.Body)
	}
}

// clock is a fake clock that tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Unix(1_700_000_000, 250_000_000)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// LimitAnonymous charges an /api/v1 request's address once, sets the
// headers, refuses when the budget is spent, and does nothing elsewhere.
func TestLimitAnonymous(t *testing.T) {
	c := newClock()
	m := NewIPLimits(ratelimit.NewMemory(c.Now), NewClientIP(nil), IPLimitsConfig{
		Anonymous: IPPolicy{Name: "api", Limit: ratelimit.PerMinute(2)}, Now: c.Now})
	h := m.Wrap(HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		if err := LimitAnonymous(w, r); err != nil {
			return err
		}
		if err := LimitAnonymous(w, r); err != nil { // a second call takes nothing
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}))
	do := func(path string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		r.RemoteAddr = "192.0.2.1:1000"
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	for i := range 2 {
		if w := do("/api/v1/health"); w.Code != http.StatusNoContent || w.Header().Get(HeaderRateLimit) != "2" ||
			w.Header().Get(HeaderRateRemaining) != strconv.Itoa(1-i) {
			t.Fatalf("request %d: %d %v", i+1, w.Code, w.Header())
		}
	}
	if w := do("/api/v1/health"); w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "30" ||
		w.Body.String() != `{"detail":"Rate limit exceeded. Retry after 30 seconds."}` {
		t.Fatalf("third: %d %v %s", w.Code, w.Header(), w.Body)
	}
	for _, path := range []string{"/.well-known/jwks.json", "/login", "/api/v1x"} {
		if w := do(path); w.Code != http.StatusNoContent || w.Header().Get(HeaderRateLimit) != "" {
			t.Fatalf("%s: %d %v", path, w.Code, w.Header())
		}
	}
}

// ClientLimits keep one budget per client id and one per address.
func TestClientLimits(t *testing.T) {
	c := newClock()
	m := NewIPLimits(ratelimit.NewMemory(c.Now), NewClientIP(nil), IPLimitsConfig{Now: c.Now})
	cl := m.ClientLimits(IPPolicy{Name: "token", Limit: ratelimit.PerMinute(1)}, IPPolicy{Name: "token", Limit: ratelimit.PerMinute(2)})
	req := func(remote string) (*httptest.ResponseRecorder, *http.Request) {
		r := httptest.NewRequest(http.MethodPost, "/oauth/token", nil)
		r.RemoteAddr = remote
		return httptest.NewRecorder(), r
	}
	for i, remote := range []string{"192.0.2.1:1", "198.51.100.1:1"} {
		w, r := req(remote)
		if err := cl.LimitClient(w, r, "a"); err != nil || w.Header().Get(HeaderRateRemaining) != strconv.Itoa(1-i) {
			t.Fatalf("client a from %s: %v %v", remote, err, w.Header())
		}
	}
	w, r := req("203.0.113.9:1")
	if err := cl.LimitClient(w, r, "a"); err == nil {
		t.Fatal("client a's third request passed")
	}
	if err := cl.LimitClient(w, r, "b"); err != nil {
		t.Fatalf("client b shares a's budget: %v", err)
	}
	if err := cl.LimitAddress(w, r); err != nil || w.Header().Get(HeaderRateLimit) != "1" {
		t.Fatalf("the address's budget: %v %v", err, w.Header())
	}
	if err := cl.LimitAddress(w, r); err == nil {
		t.Fatal("the address's second request passed")
	}
}
