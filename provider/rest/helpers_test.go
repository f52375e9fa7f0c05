package rest_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
	"github.com/arsaka/puguh/storage/sqlstore/sqltest"
)

// Exact bodies of the guide's "Error Responses" and of the identity API.
const (
	bodyInvalidToken   = `{"detail":"Invalid or expired token"}`
	bodyBadCredentials = `{"detail":"Invalid email or password"}`
	bodyBadRefresh     = `{"detail":"Invalid or expired refresh token"}`
	bodyNotMember      = `{"detail":"Not a member of this organization"}`
	bodyOrgNotFound    = `{"detail":"Organization not found"}`
	bodyLastOwner      = `{"detail":"An organization must keep at least one owner"}`
	bodyInvalidCursor  = `{"detail":"Invalid cursor"}`
	body415            = `{"detail":"Unsupported Media Type: send Content-Type: application/json"}`
	bodyJSONDecode     = `{"detail":[{"loc":["body"],"msg":"JSON decode error","type":"value_error.jsondecode"}]}`
)

// missingPermission is the guide's 403 body for perm.
func missingPermission(perm string) string {
	return `{"detail":"Missing permission: ` + perm + `"}`
}

// invalid is a 422 body with one issue.
func invalid(msg, typ string, loc ...any) string {
	b, _ := json.Marshal(map[string]any{"detail": []map[string]any{{"loc": loc, "msg": msg, "type": typ}}})
	return string(b)
}

// at is e acting for subtest t: failures are reported on (and stop) t, so
// subtests can share one running Puguh.
func at(t *testing.T, e *apptest.Env) *apptest.Env {
	t.Helper()
	c := *e
	c.T = t
	return &c
}

// forEachBackend is apptest.ForEachBackend with options, on start.
func forEachBackend(t *testing.T, opts apptest.Options, fn func(t *testing.T, e *apptest.Env)) {
	t.Helper()
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			o := opts
			o.Backend = b
			fn(t, start(t, o))
		})
	}
}

// forEachDeployment runs fn on SQLite alone and on PostgreSQL + Redis, with
// options, on start.
func forEachDeployment(t *testing.T, opts apptest.Options, fn func(t *testing.T, e *apptest.Env)) {
	t.Helper()
	for _, d := range apptest.Deployments() {
		t.Run(d.Name, func(t *testing.T) {
			o := opts
			o.Backend, o.Redis = d.Options.Backend, d.Options.Redis
			fn(t, start(t, o))
		})
	}
}

// start starts Puguh for tests that send more sign-ins and sign-ups than one
// client IP may (60 a minute, package ratelimit): 127.0.0.1 is a trusted
// proxy and every request carries a random X-Forwarded-For, so the per-IP
// limits do not bind. The per-account and per-organization limits still do:
// tests stay under them, or move a busy organization to a larger plan (roomy).
func start(t *testing.T, opts apptest.Options) *apptest.Env {
	t.Helper()
	env := map[string]string{"PUGUH_TRUSTED_PROXIES": "127.0.0.1/32"}
	for k, v := range opts.Env {
		env[k] = v
	}
	opts.Env = env
	e := apptest.Start(t, opts)
	e.Client.Transport = spreadClientIPs{next: e.Client.Transport}
	return e
}

// spreadClientIPs sends every request as if from a different client IP.
type spreadClientIPs struct{ next http.RoundTripper }

func (s spreadClientIPs) RoundTrip(r *http.Request) (*http.Response, error) {
	next := s.next
	if next == nil {
		next = http.DefaultTransport
	}
	if r.Header.Get("X-Forwarded-For") != "" {
		return next.RoundTrip(r)
	}
	var b [3]byte
	_, _ = rand.Read(b[:])
	c := r.Clone(r.Context())
	c.Header.Set("X-Forwarded-For", fmt.Sprintf("10.%d.%d.%d", b[0], b[1], b[2]))
	return next.RoundTrip(c)
}

// roomy moves an organization to the business plan (1000 requests a minute),
// for tests that send more than the free plan's 60 in one organization. Call
// it before the organization's first authenticated request: plans are cached.
func roomy(t *testing.T, e *apptest.Env, orgID string) {
	t.Helper()
	exec(t, e, "UPDATE organizations SET plan = 'business' WHERE id = ?", orgID)
}

// want checks the status and that the body is exactly the JSON wantBody
// (compared as JSON values, so key order does not matter, but every key does).
func want(t *testing.T, r *apptest.Response, status int, wantBody string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d; body %s", r.Status, status, r.Body)
	}
	if wantBody == "" {
		if len(r.Body) != 0 {
			t.Fatalf("body %q, want none", r.Body)
		}
		return
	}
	var got, exp any
	if err := json.Unmarshal(r.Body, &got); err != nil {
		t.Fatalf("body is not JSON (%v): %s", err, r.Body)
	}
	if err := json.Unmarshal([]byte(wantBody), &exp); err != nil {
		t.Fatalf("bad expectation %s: %v", wantBody, err)
	}
	if !reflect.DeepEqual(got, exp) {
		t.Fatalf("body\n  %s\nwant\n  %s", r.Body, wantBody)
	}
}

// want401 checks the guide's 401: exact body and a Bearer challenge.
func want401(t *testing.T, r *apptest.Response) {
	t.Helper()
	want(t, r, http.StatusUnauthorized, bodyInvalidToken)
	if h := r.Header.Get("WWW-Authenticate"); !strings.HasPrefix(h, "Bearer ") {
		t.Fatalf("WWW-Authenticate = %q, want a Bearer challenge", h)
	}
}

// object decodes a JSON object body and checks it has exactly keys.
func object(t *testing.T, r *apptest.Response, keys ...string) map[string]any {
	t.Helper()
	var m map[string]any
	r.JSON(t, &m)
	got := make([]string, 0, len(m))
	for k := range m {
		got = append(got, k)
	}
	slices.Sort(got)
	keys = slices.Clone(keys)
	slices.Sort(keys)
	if !slices.Equal(got, keys) {
		t.Fatalf("keys %v, want exactly %v; body %s", got, keys, r.Body)
	}
	return m
}

// tokenPair checks a login or refresh response: exactly the four keys, token
// type Bearer, expires_in 3600, no caching.
type tokenPair struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
}

func pairOf(t *testing.T, r *apptest.Response) tokenPair {
	t.Helper()
	if r.Status != http.StatusOK {
		t.Fatalf("status %d, want 200; body %s", r.Status, r.Body)
	}
	m := object(t, r, "access_token", "token_type", "expires_in", "refresh_token")
	if m["token_type"] != "Bearer" || m["expires_in"] != float64(3600) {
		t.Fatalf("token_type %v, expires_in %v; want Bearer, 3600", m["token_type"], m["expires_in"])
	}
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("Cache-Control %q, want no-store (RFC 6749 §5.1)", cc)
	}
	var p tokenPair
	r.JSON(t, &p)
	if p.AccessToken == "" || p.RefreshToken == "" {
		t.Fatalf("empty token in %s", r.Body)
	}
	return p
}

func bearer(token string) []string { return []string{"Authorization", "Bearer " + token} }

// refresh posts a refresh token.
func refresh(e *apptest.Env, rt string) *apptest.Response {
	return e.Do(http.MethodPost, "/api/v1/auth/refresh", map[string]string{"refresh_token": rt})
}

// me calls GET /api/v1/iam/users/me with token.
func me(e *apptest.Env, token string, headers ...string) *apptest.Response {
	return e.Do(http.MethodGet, "/api/v1/iam/users/me", nil, append(bearer(token), headers...)...)
}

// claims decodes a JWT's payload without verifying it (the tests that verify
// signatures do so separately).
func claims(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWS: %q", token)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("payload: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("payload: %v", err)
	}
	return m
}

func wantUUID(t *testing.T, what string, v any) string {
	t.Helper()
	s, _ := v.(string)
	if _, err := uuid.Parse(s); err != nil || len(s) != 36 {
		t.Fatalf("%s = %v, want a UUID", what, v)
	}
	return s
}

// exec runs SQL on the app's database (written with ? placeholders).
func exec(t *testing.T, e *apptest.Env, query string, args ...any) {
	t.Helper()
	db := e.App.Store().DB()
	if _, err := db.ExecContext(context.Background(), db.Rebind(query), args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// eventually polls cond every interval until it holds or the deadline passes.
func eventually(t *testing.T, within, interval time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(interval)
	}
}
