package verifier

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	puguh "github.com/arsaka/puguh/sdk/go"
)

func tokenError(t *testing.T, err error, code puguh.TokenErrorCode) *puguh.TokenVerificationError {
	t.Helper()
	var te *puguh.TokenVerificationError
	if !errors.As(err, &te) || te.Code != code {
		t.Fatalf("error %v, want a %s refusal", err, code)
	}
	return te
}

func TestVerifyClaims(t *testing.T) {
	ti := newTestIssuer(t)
	now := time.Unix(1_800_000_000, 0)
	v := newVerifier(t, ti, Clock(func() time.Time { return now }))
	ctx := context.Background()

	claims, err := v.Verify(ctx, ti.accessToken(t, now, "app-1", nil), "read:resources")
	if err != nil {
		t.Fatal(err)
	}
	want := &Claims{Issuer: ti.srv.URL, Subject: "user-1", Audience: Audiences{"app-1"}, Expiry: NumericDate(now.Add(time.Hour).Unix()),
		IssuedAt: NumericDate(now.Unix()), ID: claims.ID, ClientID: "app-1", Scope: "openid read:resources", OrganizationID: "org-1", SessionID: "sid-1"}
	if !reflect.DeepEqual(claims, want) {
		t.Fatalf("claims\n %+v\nwant\n %+v", claims, want)
	}

	refused := []struct {
		name   string
		token  string
		reason string
	}{
		{"another audience", ti.accessToken(t, now, "app-2", nil), "audience"},
		{"another issuer", ti.accessToken(t, now, "app-1", map[string]any{"iss": "https://impostor.example.com"}), "issuer"},
		{"expired beyond the leeway", ti.accessToken(t, now, "app-1", map[string]any{"exp": now.Add(-31 * time.Second).Unix()}), "expired"},
		{"not valid yet", ti.accessToken(t, now, "app-1", map[string]any{"nbf": now.Add(31 * time.Second).Unix()}), "nbf"},
		{"issued in the future", ti.accessToken(t, now, "app-1", map[string]any{"iat": now.Add(time.Minute).Unix()}), "iat"},
		{"no exp", ti.accessToken(t, now, "app-1", map[string]any{"exp": nil}), "lacks"},
		{"no sub", ti.accessToken(t, now, "app-1", map[string]any{"sub": nil}), "lacks"},
		{"no jti", ti.accessToken(t, now, "app-1", map[string]any{"jti": nil}), "lacks"},
		{"no iat", ti.accessToken(t, now, "app-1", map[string]any{"iat": nil}), "lacks"},
		{"aud of the wrong type", ti.accessToken(t, now, "app-1", map[string]any{"aud": 7}), "JSON"},
		{"upper-case claim", ti.accessToken(t, now, "app-1", map[string]any{"SUB": "admin"}), "JSON"},
		{"an ID token (typ JWT)", ti.sign(t, map[string]any{"alg": "RS256", "typ": "JWT"}, map[string]any{"iss": ti.srv.URL, "aud": "app-1", "sub": "u", "exp": now.Add(time.Hour).Unix(), "iat": now.Unix(), "jti": "j"}), "typ"},
		{"no typ", ti.sign(t, map[string]any{"alg": "RS256"}, map[string]any{"iss": ti.srv.URL, "aud": "app-1", "sub": "u", "exp": now.Add(time.Hour).Unix(), "iat": now.Unix(), "jti": "j"}), "typ"},
		{"an unknown kid", ti.sign(t, map[string]any{"alg": "RS256", "typ": "at+jwt", "kid": "unknown"}, map[string]any{}), "not signed by a key"},
		{"alg none", "eyJhbGciOiJub25lIiwia2lkIjoiayJ9.e30.AA", "RS256"},
		{"not a JWT", "pgh_not_a_jwt", "well-formed"},
		{"oversized", strings.Repeat("a", 17000), "too large"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.Verify(ctx, tt.token)
			te := tokenError(t, err, puguh.InvalidToken)
			if !strings.Contains(te.Description, tt.reason) {
				t.Fatalf("description %q, want it to mention %q", te.Description, tt.reason)
			}
			if te.Status() != 401 || te.WWWAuthenticate("api") != `Bearer realm="api", error="invalid_token"` {
				t.Fatalf("status %d, challenge %q", te.Status(), te.WWWAuthenticate("api"))
			}
		})
	}

	t.Run("tampered payload", func(t *testing.T) {
		parts := strings.Split(ti.accessToken(t, now, "app-1", nil), ".")
		other := strings.Split(ti.accessToken(t, now, "app-1", map[string]any{"sub": "admin"}), ".")
		_, err := v.Verify(ctx, parts[0]+"."+other[1]+"."+parts[2])
		if te := tokenError(t, err, puguh.InvalidToken); !strings.Contains(te.Description, "signature") {
			t.Fatal(te)
		}
	})
	t.Run("leeway: 29 s past exp passes, 31 s does not; a stricter leeway", func(t *testing.T) {
		tok := ti.accessToken(t, now, "app-1", map[string]any{"exp": now.Add(-29 * time.Second).Unix()})
		if _, err := v.Verify(ctx, tok); err != nil {
			t.Fatal(err)
		}
		strict := newVerifier(t, ti, Clock(func() time.Time { return now }), Leeway(0))
		tokenError(t, func() error { _, err := strict.Verify(ctx, tok); return err }(), puguh.InvalidToken)
	})
	t.Run("insufficient_scope: 403 naming the scopes", func(t *testing.T) {
		_, err := v.Verify(ctx, ti.accessToken(t, now, "app-1", nil), "read:resources", "write:resources")
		te := tokenError(t, err, puguh.InsufficientScope)
		if te.Status() != 403 || te.WWWAuthenticate("reports") != `Bearer realm="reports", error="insufficient_scope", scope="read:resources write:resources"` {
			t.Fatalf("%d %q", te.Status(), te.WWWAuthenticate("reports"))
		}
	})
	t.Run("one of several audiences", func(t *testing.T) {
		multi := newVerifier(t, ti, Clock(func() time.Time { return now }), Audience("app-2"))
		if _, err := multi.Verify(ctx, ti.accessToken(t, now, "app-2", nil)); err != nil {
			t.Fatal(err)
		}
		if _, err := multi.Verify(ctx, ti.accessToken(t, now, "app-1", map[string]any{"aud": "app-1"})); err != nil {
			t.Fatal(err) // a single-string aud
		}
	})
	t.Run("typ application/at+jwt", func(t *testing.T) {
		tok := ti.sign(t, map[string]any{"alg": "RS256", "typ": "application/AT+JWT"}, map[string]any{"iss": ti.srv.URL, "aud": "app-1", "sub": "u", "exp": now.Add(time.Hour).Unix(), "iat": now.Unix(), "jti": "j"})
		if _, err := v.Verify(ctx, tok); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("missing token", func(t *testing.T) {
		_, err := v.Verify(ctx, "")
		if te := tokenError(t, err, puguh.MissingToken); te.WWWAuthenticate("api") != `Bearer realm="api"` {
			t.Fatal(te.WWWAuthenticate("api"))
		}
	})
}

func TestNewRefusesMisconfiguration(t *testing.T) {
	ti := newTestIssuer(t)
	ctx := context.Background()
	if _, err := New(ctx, ti.srv.URL); err == nil || !strings.Contains(err.Error(), "Audience") {
		t.Fatalf("no audience: %v", err)
	}
	// The discovery document must name the issuer we were given.
	if _, err := New(ctx, ti.srv.URL+"/other", Audience("a")); err == nil {
		t.Fatal("a discovery document of another issuer was accepted")
	}
	var ce *puguh.ConnectionError
	if _, err := New(ctx, "http://127.0.0.1:1", Audience("a")); !errors.As(err, &ce) {
		t.Fatalf("an unreachable issuer: %v", err)
	}
	// A trailing slash is tolerated.
	if _, err := New(ctx, ti.srv.URL+"/", Audience("a")); err != nil {
		t.Fatal(err)
	}
}

// TestJWKSUnavailable: a token whose key cannot be fetched is not a bad
// token: the error is a ConnectionError and the middleware answers 503.
func TestJWKSUnavailable(t *testing.T) {
	ti := newTestIssuer(t)
	now := time.Unix(1_800_000_000, 0)
	clock := &fakeClock{now: now}
	v := newVerifier(t, ti, Clock(clock.Now))
	ti.failJWKS.Store(true)
	kid := ti.addKey(t, true) // a rotation the verifier has not seen, while the JWKS is down
	_ = kid
	clock.Advance(31 * time.Second)
	_, err := v.Verify(context.Background(), ti.accessToken(t, clock.Now(), "app-1", nil))
	var ce *puguh.ConnectionError
	if !errors.As(err, &ce) {
		t.Fatalf("%v, want a ConnectionError", err)
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Authorization", "Bearer "+ti.accessToken(t, clock.Now(), "app-1", nil))
	v.Require()(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Fatal("let through") })).ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("WWW-Authenticate") != "" {
		t.Fatalf("%d %v", rec.Code, rec.Header())
	}
}

// TestVerifyForgedKidFlood: verifications of tokens with forged kids, all at
// once, cost the issuer no JWKS request within the cooldown, then one.
func TestVerifyForgedKidFlood(t *testing.T) {
	ti := newTestIssuer(t)
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	v := newVerifier(t, ti, Clock(clock.Now))
	forged := make([]string, 200)
	for i := range forged {
		forged[i] = ti.sign(t, map[string]any{"alg": "RS256", "typ": "at+jwt", "kid": "forged" + strings.Repeat("x", i%40) + string(rune('a'+i%26))}, map[string]any{"sub": "x"})
	}
	flood := func() {
		done := make(chan error, len(forged))
		for _, tok := range forged {
			go func() {
				_, err := v.Verify(context.Background(), tok)
				done <- err
			}()
		}
		for range forged {
			if err := <-done; err == nil {
				t.Error("a forged kid verified")
			}
		}
	}
	flood()
	if n := ti.fetches.Load(); n != 1 {
		t.Fatalf("%d JWKS requests, want 1 (New's)", n)
	}
	clock.Advance(DefaultCooldown)
	flood()
	if n := ti.fetches.Load(); n != 2 {
		t.Fatalf("%d JWKS requests, want 2", n)
	}
}

func TestMiddlewareAnswers(t *testing.T) {
	ti := newTestIssuer(t)
	now := time.Now()
	v := newVerifier(t, ti, Realm("my-api"))
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, found := ClaimsFromContext(r.Context())
		if !found {
			t.Error("no claims in the context")
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"sub": c.Subject})
	})
	h := v.Require("read:resources")(ok)
	token := ti.accessToken(t, now, "app-1", nil)
	tests := []struct {
		name          string
		authorization []string
		status        int
		challenge     string
		detail        string
	}{
		{"valid", []string{"Bearer " + token}, 200, "", ""},
		{"lower-case scheme", []string{"bearer " + token}, 200, "", ""},
		{"none", nil, 401, `Bearer realm="my-api"`, "Not authenticated"},
		{"empty", []string{""}, 401, `Bearer realm="my-api"`, "Not authenticated"},
		{"basic", []string{"Basic dXNlcjpwYXNz"}, 400, `Bearer realm="my-api", error="invalid_request"`, `the Authorization header is not "Bearer <token>"`},
		{"two headers", []string{"Bearer " + token, "Bearer " + token}, 400, `Bearer realm="my-api", error="invalid_request"`, "exactly one Authorization header is required"},
		{"not a token68", []string{"Bearer a b"}, 400, `Bearer realm="my-api", error="invalid_request"`, `the Authorization header is not "Bearer <token>"`},
		{"garbage token", []string{"Bearer not.a.token"}, 401, `Bearer realm="my-api", error="invalid_token"`, "Invalid or expired token"},
		{"scope missing", []string{"Bearer " + ti.accessToken(t, now, "app-1", map[string]any{"scope": "openid"})}, 403,
			`Bearer realm="my-api", error="insufficient_scope", scope="read:resources"`, "the token lacks the scope read:resources"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/reports", nil)
			for _, a := range tt.authorization {
				req.Header.Add("Authorization", a)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.status || rec.Header().Get("WWW-Authenticate") != tt.challenge {
				t.Fatalf("%d %q, want %d %q", rec.Code, rec.Header().Get("WWW-Authenticate"), tt.status, tt.challenge)
			}
			if tt.status == 200 {
				if rec.Body.String() != `{"sub":"user-1"}`+"\n" {
					t.Fatalf("body %s", rec.Body)
				}
				return
			}
			var body map[string]string
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body["detail"] != tt.detail || len(body) != 1 {
				t.Fatalf("body %s, want detail %q", rec.Body, tt.detail)
			}
		})
	}
}

// FuzzVerify: whatever the token, Verify neither panics nor accepts anything
// but a token signed by the issuer's key.
func FuzzVerify(f *testing.F) {
	ti := newTestIssuer(f)
	now := time.Unix(1_800_000_000, 0)
	v, err := New(context.Background(), ti.srv.URL, Audience("app-1"), Clock(func() time.Time { return now }), Cooldown(time.Hour))
	if err != nil {
		f.Fatal(err)
	}
	good := ti.accessToken(f, now, "app-1", nil)
	f.Add(good)
	f.Add(good[:len(good)-2])
	f.Add(strings.Replace(good, ".", "..", 1))
	f.Add("eyJhbGciOiJSUzI1NiIsImtpZCI6IngifQ.e30.AA")
	f.Fuzz(func(t *testing.T, token string) {
		c, err := v.Verify(context.Background(), token)
		if err == nil && (token != good || c.Subject != "user-1") {
			t.Fatalf("accepted %q", token)
		}
	})
}

// FuzzDecodeClaims: decodeClaims accepts nothing encoding/json refuses, and
// what it accepts it reads as encoding/json does.
func FuzzDecodeClaims(f *testing.F) {
	for _, s := range []string{
		`{"iss":"http://127.0.0.1:8080","sub":"u","aud":["http://127.0.0.1:8080/api"],"exp":1795783600,"iat":1795780000,"jti":"j","client_id":"puguh","scope":"offline_access","org_id":"o","sid":"s","kind":"user"}`,
		`{"aud":"a","exp":1.5e9,"nbf":null,"extra":{"nested":[1,2,{"x":null}]}}`,
		`{"sub":"\u00e9\ud83d\ude00","aud":[]}`,
		`{"Sub":"x"}`, `{"sub":1}`, `{"aud":[1]}`, `{"exp":"1"}`, `{"exp":-1}`, `{"sub":"a","sub":"b"}`, `[]`, `{"exp":1e400}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, payload string) {
		var ours Claims
		if decodeClaims(payload, &ours) != nil {
			return
		}
		var std Claims
		if err := json.Unmarshal([]byte(payload), &std); err != nil {
			t.Fatalf("decodeClaims accepted %q, encoding/json: %v", payload, err)
		}
		if !reflect.DeepEqual(ours, std) {
			t.Fatalf("%q:\n ours %+v\n std  %+v", payload, ours, std)
		}
	})
}
