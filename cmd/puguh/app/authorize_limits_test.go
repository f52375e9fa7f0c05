package app_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
	"github.com/arsaka/puguh/provider/web"
	"github.com/arsaka/puguh/storage/sqlstore/sqltest"
)

// eachStack runs fn on SQLite with the in-process limiter, and on PostgreSQL
// with Redis (skipped, saying so, without PUGUH_TEST_DATABASE_URL or
// PUGUH_TEST_REDIS_URL).
func eachStack(t *testing.T, env map[string]string, fn func(t *testing.T, e *apptest.Env)) {
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			opts := limitOptions(b.Name == "postgres", env)
			opts.Backend = b
			fn(t, apptest.Start(t, opts))
		})
	}
}

// challengeRows counts the stored login challenges.
func challengeRows(t *testing.T, e *apptest.Env) int {
	t.Helper()
	var n int
	if err := e.App.Store().DB().GetContext(context.Background(), &n, "SELECT COUNT(*) FROM login_challenges"); err != nil {
		t.Fatal(err)
	}
	return n
}

var retryInPage = regexp.MustCompile(`Try again in (\d+) seconds\.`)

// TestAuthorizeRateLimitPerIP: anonymous requests to /oauth/authorize store a
// pending request each (a client without cookies is a new browser every
// time), so they have a per-IP budget of 300 a minute, GET and POST together.
// 500 requests store at most the budget (plus GCRA's refill while the loop
// ran); the refusal is the HTML error page with Retry-After, not JSON.
func TestAuthorizeRateLimitPerIP(t *testing.T) {
	eachStack(t, map[string]string{"PUGUH_TRUSTED_PROXIES": "127.0.0.1/32"}, func(t *testing.T, e *apptest.Env) {
		app := registerApp(t, e, e.NewUser(), appOptions{})
		path := "/oauth/authorize?" + codeQuery(app, "read:user").Encode()
		start := time.Now()
		allowed := 0
		var refusal *apptest.Response
		for i := range 500 {
			r := e.Do(http.MethodGet, path, nil) // no cookie jar: a new browser every time
			switch r.Status {
			case http.StatusSeeOther:
				allowed++
			case http.StatusTooManyRequests:
				if refusal == nil {
					refusal = r
				}
			default:
				t.Fatalf("request %d: %d %.300s", i+1, r.Status, r.Body)
			}
		}
		took := time.Since(start)
		if max := 300 + int(took.Seconds()*5) + 1; allowed < 300 || allowed > max {
			t.Fatalf("%d of 500 requests allowed in %s, want 300 (plus 5 a second elapsed, at most %d)", allowed, took, max)
		}
		if n := challengeRows(t, e); n != allowed {
			t.Fatalf("%d challenges stored for %d allowed requests", n, allowed)
		}

		// The refusal is the error page, with the same N in Retry-After and in words.
		if refusal == nil {
			t.Fatal("no refusal")
		}
		retry := intHeader(t, refusal, "Retry-After")
		m := retryInPage.FindStringSubmatch(string(refusal.Body))
		if retry < 1 || m == nil || m[1] != strconv.FormatInt(retry, 10) {
			t.Fatalf("refusal body does not say Retry-After %d:\n%s", retry, refusal.Body)
		}
		if ct := refusal.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" || !strings.Contains(string(refusal.Body), "<h1>Too many requests</h1>") ||
			refusal.Header.Get("Location") != "" || refusal.Header.Get("X-RateLimit-Limit") != "300" || refusal.Header.Get("X-RateLimit-Remaining") != "0" {
			t.Fatalf("refusal: %v\n%s", refusal.Header, refusal.Body)
		}

		// POST draws on the same budget; another client address has its own.
		form := codeQuery(app, "read:user").Encode()
		if r := e.Do(http.MethodPost, "/oauth/authorize", form, "Content-Type", "application/x-www-form-urlencoded"); r.Status != http.StatusTooManyRequests {
			t.Fatalf("POST after the budget is spent: %d", r.Status)
		}
		if r := e.Do(http.MethodGet, path, nil, "X-Forwarded-For", "192.0.2.7"); r.Status != http.StatusSeeOther {
			t.Fatalf("another client address: %d %.300s", r.Status, r.Body)
		}
	})
}

// TestAuthorizeChallengesPerBrowser: one browser keeps at most
// web.MaxChallengesPerBrowser pending requests, whatever it sends and from
// however many addresses; the newest work, older ones are gone, and repeating
// the identical request reuses its challenge instead of storing another.
func TestAuthorizeChallengesPerBrowser(t *testing.T) {
	eachStack(t, map[string]string{"PUGUH_TRUSTED_PROXIES": "127.0.0.1/32"}, func(t *testing.T, e *apptest.Env) {
		user := e.NewUser()
		app := registerApp(t, e, user, appOptions{Trusted: true})
		b := newBrowser(t, e)
		// Each request from another address, so that the per-IP budget is not
		// what bounds the rows.
		send := func(i int, state string) *page {
			t.Helper()
			q := codeQuery(app, "read:user")
			q.Set("state", state)
			req, _ := http.NewRequest(http.MethodGet, e.URL+"/oauth/authorize?"+q.Encode(), nil)
			req.Header.Set("X-Forwarded-For", fmt.Sprintf("10.1.%d.%d", i/250, i%250))
			p := b.do(req)
			if p.Status != http.StatusSeeOther || p.Location == nil || p.Location.Path != "/login" {
				t.Fatalf("request %d: %d %v %.300s", i+1, p.Status, p.Location, p.Body)
			}
			return p
		}
		var first, last *page
		for i := range 500 {
			p := send(i, fmt.Sprintf("state-%08d", i))
			if i == 0 {
				first = p
			}
			last = p
		}
		if n := challengeRows(t, e); n != web.MaxChallengesPerBrowser {
			t.Fatalf("one browser left %d challenges after 500 requests, want %d", n, web.MaxChallengesPerBrowser)
		}
		// The oldest is gone: its sign-in page says so.
		if p := b.get(first.Location.String()); p.Status != http.StatusBadRequest || !strings.Contains(p.Body, "Sign-in request expired") {
			t.Fatalf("oldest challenge: %d %.300s", p.Status, p.Body)
		}

		// The identical request again and again: one challenge, the same URL.
		for i := range 50 {
			if p := send(1000+i, "state-00000499"); p.Location.String() != last.Location.String() {
				t.Fatalf("repeat %d went to %s, want the pending %s", i+1, p.Location, last.Location)
			}
		}
		if n := challengeRows(t, e); n != web.MaxChallengesPerBrowser {
			t.Fatalf("%d challenges after repeating one request, want %d", n, web.MaxChallengesPerBrowser)
		}

		// The newest still completes: sign in and get the code with its state.
		form := b.get(last.Location.String())
		if form.Status != http.StatusOK {
			t.Fatalf("newest challenge: %d %.300s", form.Status, form.Body)
		}
		fields := formFields(t, form.Body)
		fields.Set("email", user.Email)
		fields.Set("password", user.Password)
		p := b.post("/login", fields)
		for hop := 0; hop < 4 && p.Status == http.StatusSeeOther && p.Location.Host == strings.TrimPrefix(e.URL, "http://"); hop++ {
			p = b.get(p.Location.String())
		}
		if p.Status != http.StatusSeeOther || p.Location.Query().Get("code") == "" || p.Location.Query().Get("state") != "state-00000499" {
			t.Fatalf("newest challenge did not end with a code: %d %v", p.Status, p.Location)
		}
		if n := challengeRows(t, e); n != web.MaxChallengesPerBrowser-1 {
			t.Fatalf("%d challenges after one completed, want %d", n, web.MaxChallengesPerBrowser-1)
		}
	})
}
