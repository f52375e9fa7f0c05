package app_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
)

// budget is the X-RateLimit-* triple of a response; Limit "" when absent.
type budget struct {
	Limit     string
	Remaining int64
}

func budgetOf(t *testing.T, r *apptest.Response) budget {
	t.Helper()
	if r.Header.Get("X-RateLimit-Limit") == "" {
		if r.Header.Get("X-RateLimit-Remaining") != "" || r.Header.Get("X-RateLimit-Reset") != "" {
			t.Fatalf("partial rate-limit headers: %v", r.Header)
		}
		return budget{}
	}
	intHeader(t, r, "X-RateLimit-Reset")
	return budget{Limit: r.Header.Get("X-RateLimit-Limit"), Remaining: intHeader(t, r, "X-RateLimit-Remaining")}
}

// The guide's "Rate limit headers included in every response", for every
// kind of REST request: authenticated ones show their organization's budget,
// unauthenticated ones the per-IP budget that applies to them (sign-in,
// sign-up, or the anonymous budget every other unauthenticated /api/v1
// request shares), and the anonymous budget refuses like any other. JWKS,
// discovery, userinfo and the pages carry none.
func TestRateLimitHeadersOnEveryRESTResponse(t *testing.T) {
	eachLimiter(t, func(t *testing.T, withRedis bool) {
		// A small anonymous budget: 30 a minute refills one every 2 s, so the
		// count below is exact.
		e := apptest.Start(t, limitOptions(withRedis, map[string]string{"PUGUH_RATE_LIMIT_ANONYMOUS_PER_IP": "30"}))
		u := e.NewUser()
		key := newKey(t, e, u)
		const orgBudget, anonymous = "60", "30"

		// Each request's expected status, exact body ("" for any) and budget.
		var prevAnonymous int64 = 31
		for _, tc := range []struct {
			name   string
			send   func() *apptest.Response
			status int
			body   string
			limit  string
		}{
			// curl -X GET …/api/v1/organizations -H "X-API-Key: …" -H "X-Organization-ID: …"
			{"API key", func() *apptest.Response {
				return e.Do(http.MethodGet, "/api/v1/organizations", nil, "X-API-Key", key, "X-Organization-ID", u.OrganizationID)
			}, http.StatusOK, "", orgBudget},
			// curl -X GET …/api/v1/organizations -H "Authorization: Bearer …"
			{"JWT", func() *apptest.Response { return e.Do(http.MethodGet, "/api/v1/organizations", nil, u.Bearer()...) }, http.StatusOK, "", orgBudget},
			// "Test API Key": curl -X GET …/api/v1/health -H "X-API-Key: …" -H "X-Organization-ID: …"
			{"health with an API key", func() *apptest.Response {
				return e.Do(http.MethodGet, "/api/v1/health", nil, "X-API-Key", key, "X-Organization-ID", u.OrganizationID)
			}, http.StatusOK, "", orgBudget},
			{"a handler's 404 after authentication", func() *apptest.Response {
				return e.Do(http.MethodGet, "/api/v1/organizations/6f9619ff-8b86-d011-b42d-00cf4fc964ff", nil, u.Bearer()...)
			}, http.StatusNotFound, `{"detail":"Organization not found"}`, orgBudget},

			{"health without credentials", func() *apptest.Response { return e.Do(http.MethodGet, "/api/v1/health", nil) },
				http.StatusOK, `{"status":"ok","database":"ok","redis":"` + map[bool]string{false: "disabled", true: "ok"}[withRedis] + `"}`, anonymous},
			{"invalid token", func() *apptest.Response {
				return e.Do(http.MethodGet, "/api/v1/organizations", nil, "Authorization", "Bearer eyJhbGciOiJSUzI1NiIs...")
			}, http.StatusUnauthorized, `{"detail":"Invalid or expired token"}`, anonymous},
			// "Test JWT Token" step 2 without its token.
			{"no credentials", func() *apptest.Response { return e.Do(http.MethodGet, "/api/v1/iam/users", nil) },
				http.StatusUnauthorized, `{"detail":"Invalid or expired token"}`, anonymous},
			{"invalid API key", func() *apptest.Response {
				return e.Do(http.MethodGet, "/api/v1/organizations", nil, "X-API-Key", "YOUR_API_KEY", "X-Organization-ID", u.OrganizationID)
			}, http.StatusUnauthorized, `{"detail":"Invalid API key"}`, anonymous},
			{"API key without X-Organization-ID", func() *apptest.Response {
				return e.Do(http.MethodGet, "/api/v1/organizations", nil, "X-API-Key", key)
			}, http.StatusUnprocessableEntity, `{"detail":[{"loc":["header","X-Organization-ID"],"msg":"field required","type":"value_error.missing"}]}`, anonymous},
			{"unknown path", func() *apptest.Response { return e.Do(http.MethodGet, "/api/v1/nothing-here", nil, u.Bearer()...) },
				http.StatusNotFound, `{"detail":"Not Found"}`, anonymous},
			{"wrong method", func() *apptest.Response { return e.Do(http.MethodDelete, "/api/v1/health", nil) },
				http.StatusMethodNotAllowed, `{"detail":"Method Not Allowed"}`, anonymous},
			{"refresh with a bad token", func() *apptest.Response {
				return e.Do(http.MethodPost, "/api/v1/auth/refresh", `{"refresh_token": "dGhpcyBpcyBhIHJlZnJl..."}`)
			}, http.StatusUnauthorized, `{"detail":"Invalid or expired refresh token"}`, anonymous},
			{"logout without a token", func() *apptest.Response { return e.Do(http.MethodPost, "/api/v1/auth/logout", nil) },
				http.StatusUnauthorized, `{"detail":"Invalid or expired token"}`, anonymous},

			{"login", func() *apptest.Response {
				return e.Do(http.MethodPost, "/api/v1/auth/login", `{"email": "`+u.Email+`", "password": "`+u.Password+`"}`)
			}, http.StatusOK, "", "60"},
			{"login with a wrong password", func() *apptest.Response {
				return e.Do(http.MethodPost, "/api/v1/auth/login", `{"email": "`+u.Email+`", "password": "your_password"}`)
			}, http.StatusUnauthorized, `{"detail":"Invalid email or password"}`, "60"},
			{"register", func() *apptest.Response {
				return e.Do(http.MethodPost, "/api/v1/auth/register", `{"email": "newuser-`+randomHex(4)+`@example.com", "password": "secure_password", "full_name": "Jane Doe"}`)
			}, http.StatusCreated, "", "60"},

			{"JWKS", func() *apptest.Response { return e.Do(http.MethodGet, "/.well-known/jwks.json", nil) }, http.StatusOK, "", ""},
			{"discovery", func() *apptest.Response { return e.Do(http.MethodGet, "/.well-known/openid-configuration", nil) }, http.StatusOK, "", ""},
			{"userinfo", func() *apptest.Response {
				return e.Do(http.MethodGet, "/oauth/userinfo", nil, "Authorization", "Bearer x")
			}, http.StatusUnauthorized, "", ""},
			{"sign-in page", func() *apptest.Response { return e.Do(http.MethodGet, "/login", nil) }, http.StatusOK, "", ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := tc.send()
				if r.Status != tc.status || (tc.body != "" && string(r.Body) != tc.body) {
					t.Fatalf("got %d %s, want %d %s", r.Status, r.Body, tc.status, tc.body)
				}
				b := budgetOf(t, r)
				if b.Limit != tc.limit {
					t.Fatalf("X-RateLimit-Limit %q, want %q: %v", b.Limit, tc.limit, r.Header)
				}
				if tc.limit == anonymous {
					// One budget for every anonymous request of this address.
					if b.Remaining >= prevAnonymous {
						t.Fatalf("anonymous Remaining %d after %d: not one shared budget", b.Remaining, prevAnonymous)
					}
					prevAnonymous = b.Remaining
				}
			})
		}

		// The anonymous budget refuses like every other, Retry-After included,
		// while authenticated requests draw on their organization's.
		for i := 0; ; i++ {
			r := e.Do(http.MethodGet, "/api/v1/health", nil)
			if r.Status == http.StatusTooManyRequests {
				checkRefusal(t, r, anonymous)
				break
			}
			if r.Status != http.StatusOK || i == 40 {
				t.Fatalf("health probe %d: %d %s", i+1, r.Status, r.Body)
			}
		}
		checkRefusal(t, e.Do(http.MethodGet, "/api/v1/organizations", nil, "Authorization", "Bearer eyJhbGciOiJSUzI1NiIs..."), anonymous)
		if r := e.Do(http.MethodGet, "/api/v1/organizations", nil, u.Bearer()...); r.Status != http.StatusOK || budgetOf(t, r).Limit != orgBudget {
			t.Fatalf("an authenticated request while the address's anonymous budget is spent: %d %v", r.Status, r.Header)
		}
	})
}

// newKey creates an API key for u (the guide's "Create New Key").
func newKey(t *testing.T, e *apptest.Env, u *apptest.User) string {
	t.Helper()
	r := e.Do(http.MethodPost, "/api/v1/api-keys", map[string]string{"name": "Production key"}, u.Bearer()...)
	if r.Status != http.StatusCreated {
		t.Fatalf("create key: %d %s", r.Status, r.Body)
	}
	var k struct {
		Key string `json:"key"`
	}
	r.JSON(t, &k)
	return k.Key
}

// The per-IP budgets are configurable (PUGUH_RATE_LIMIT_*_PER_IP).
func TestRateLimitsConfigurable(t *testing.T) {
	e := apptest.Start(t, limitOptions(false, map[string]string{
		"PUGUH_RATE_LIMIT_SIGNIN_PER_IP": "4", "PUGUH_RATE_LIMIT_REGISTER_PER_IP": "3", "PUGUH_RATE_LIMIT_TOKEN_PER_IP": "2",
		"PUGUH_MAX_BODY_BYTES": "1024",
	}))
	for _, tc := range []struct {
		name  string
		limit string
		send  func(i int) *apptest.Response
	}{
		{"sign-in", "4", func(i int) *apptest.Response {
			return e.Do(http.MethodPost, "/api/v1/auth/login", `{"email": "user`+strconv.Itoa(i)+`@example.com", "password": "your_password"}`)
		}},
		{"register", "3", func(int) *apptest.Response {
			return e.Do(http.MethodPost, "/api/v1/auth/register", `{"email": "newuser-`+randomHex(4)+`@example.com", "password": "secure_password", "full_name": "Jane Doe"}`)
		}},
		{"token without a client", "2", func(int) *apptest.Response {
			return tokenRequest(e, url.Values{"grant_type": {"client_credentials"}})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, _ := strconv.Atoi(tc.limit)
			for i := range n {
				if r := tc.send(i); r.Status == http.StatusTooManyRequests || budgetOf(t, r).Limit != tc.limit {
					t.Fatalf("request %d: %d %v %s", i+1, r.Status, r.Header, r.Body)
				}
			}
			checkRefusal(t, tc.send(n), tc.limit)
		})
	}
	// A token request refused for its size (before any client could
	// authenticate) is its address's too.
	big := url.Values{"grant_type": {"client_credentials"}, "scope": {strings.Repeat("a", 2048)}}
	checkRefusal(t, tokenRequest(e, big), "2")
}

// At the token endpoint a confidential client that authenticates draws on
// its own budget, wherever it calls from; requests that do not authenticate
// one (a wrong secret, a public client, no client) draw on their address's,
// so they can neither spend a client's budget nor hide from the per-IP one.
func TestTokenRateLimitPerClient(t *testing.T) {
	eachLimiter(t, func(t *testing.T, withRedis bool) {
		e := apptest.Start(t, limitOptions(withRedis, map[string]string{
			"PUGUH_RATE_LIMIT_TOKEN_PER_CLIENT": "5", "PUGUH_RATE_LIMIT_TOKEN_PER_IP": "3", "PUGUH_TRUSTED_PROXIES": "127.0.0.1/32",
		}))
		owner := e.NewUser()
		a := registerApp(t, e, owner, appOptions{})
		b := registerApp(t, e, owner, appOptions{})
		public := registerApp(t, e, owner, appOptions{Public: true})
		cc := func(app *testApp, secret, from string) *apptest.Response {
			// The guide's form post, with the client_credentials grant.
			form := url.Values{"grant_type": {"client_credentials"}, "client_id": {app.ID}, "client_secret": {secret}}
			return e.Do(http.MethodPost, "/oauth/token", form.Encode(),
				"Content-Type", "application/x-www-form-urlencoded", "X-Forwarded-For", from)
		}
		office := randomIP()

		// Wrong secrets naming client a: the office's address pays, not a.
		for i := range 3 {
			r := cc(a, "pghs_wrong", office)
			if r.Status != http.StatusUnauthorized || budgetOf(t, r) != (budget{Limit: "3", Remaining: int64(2 - i)}) {
				t.Fatalf("wrong secret %d: %d %v %s", i+1, r.Status, r.Header, r.Body)
			}
		}
		checkRefusal(t, cc(a, "pghs_wrong", office), "3")
		// A public client (anyone may send its id) pays from its address too.
		if r := tokenRequest(e, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}, "client_id": {public.ID}}); r.Status != http.StatusBadRequest ||
			budgetOf(t, r).Limit != "3" {
			t.Fatalf("public client: %d %v %s", r.Status, r.Header, r.Body)
		}

		// Client a, from the spent office address and from four others: one
		// budget of 5, the same wherever it calls from.
		for i := range 5 {
			from := office
			if i > 0 {
				from = randomIP()
			}
			r := cc(a, a.Secret, from)
			if r.Status != http.StatusOK || budgetOf(t, r) != (budget{Limit: "5", Remaining: int64(4 - i)}) {
				t.Fatalf("client a, request %d: %d %v %s", i+1, r.Status, r.Header, r.Body)
			}
		}
		checkRefusal(t, cc(a, a.Secret, randomIP()), "5")
		// Client b behind the same address has a budget of its own.
		if r := cc(b, b.Secret, office); r.Status != http.StatusOK || budgetOf(t, r) != (budget{Limit: "5", Remaining: 4}) {
			t.Fatalf("client b: %d %v %s", r.Status, r.Header, r.Body)
		}
	})
}
