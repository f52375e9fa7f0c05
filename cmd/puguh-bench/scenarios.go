package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// scenarios lists every scenario in the order they run.
func scenarios(fx *fixtures) []scenario {
	get := func(name, path string, headers func(id int) []string) scenario {
		return scenario{name: name, newWorker: func(id int) func(context.Context, *http.Client) error {
			h := []string(nil)
			if headers != nil {
				h = headers(id)
			}
			return func(ctx context.Context, c *http.Client) error {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fx.base+path, nil)
				for i := 0; i+1 < len(h); i += 2 {
					req.Header.Set(h[i], h[i+1])
				}
				_, _, err := expect(c, req, http.StatusOK)
				return err
			}
		}}
	}
	list := []scenario{
		get("jwks", "/.well-known/jwks.json", nil),
		get("discovery", "/.well-known/openid-configuration", nil),
		get("bearer_iam_users_me", "/api/v1/iam/users/me", func(id int) []string {
			// Workers use the users whose organizations raisePlans lifted.
			return []string{"Authorization", "Bearer " + fx.users[id%min(len(fx.users), 32)].Access}
		}),
	}
	apiKey := get("apikey_health", "/api/v1/health", func(int) []string {
		return []string{"X-API-Key", fx.apiKey, "X-Organization-ID", fx.apiKeyOrg}
	})
	apiKey.skip = fx.skipAPIKey
	list = append(list, apiKey, fx.clientCredentials(), fx.introspect(), fx.refresh(), fx.authorizationCode(), fx.login(), fx.loginWithAPIKeys())
	return list
}

func form(ctx context.Context, base, path string, v url.Values, user, pass string) *http.Request {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+path, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(url.QueryEscape(user), url.QueryEscape(pass))
	}
	return req
}

func (fx *fixtures) clientCredentials() scenario {
	return scenario{name: "client_credentials", skip: fx.skipCC, newWorker: func(int) func(context.Context, *http.Client) error {
		return func(ctx context.Context, c *http.Client) error {
			req := form(ctx, fx.base, "/oauth/token", url.Values{"grant_type": {"client_credentials"}}, fx.ccClientID, fx.ccSecret)
			_, _, err := expect(c, req, http.StatusOK)
			return err
		}
	}}
}

// introspect asks about a user's JWT access token as the service account of
// the same organization (introspection answers only for its own tenant).
func (fx *fixtures) introspect() scenario {
	return scenario{name: "introspection", skip: fx.skipCC, newWorker: func(id int) func(context.Context, *http.Client) error {
		token := fx.users[0].Access
		return func(ctx context.Context, c *http.Client) error {
			req := form(ctx, fx.base, "/oauth/introspect", url.Values{"token": {token}}, fx.saClientID, fx.saSecret)
			_, body, err := expect(c, req, http.StatusOK)
			if err == nil && !strings.Contains(string(body), `"active":true`) {
				return fmt.Errorf("introspection: token not active: %s", truncate(string(body), 100))
			}
			return err
		}
	}}
}

// refresh: each worker follows its own rotation chain.
func (fx *fixtures) refresh() scenario {
	return scenario{name: "refresh", newWorker: func(id int) func(context.Context, *http.Client) error {
		rt := fx.users[id%len(fx.users)].Refresh
		return func(ctx context.Context, c *http.Client) error {
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, fx.base+"/api/v1/auth/refresh",
				strings.NewReader(`{"refresh_token":"`+rt+`"}`))
			req.Header.Set("Content-Type", "application/json")
			_, body, err := expect(c, req, http.StatusOK)
			if err != nil {
				return err
			}
			var tok struct {
				Refresh string `json:"refresh_token"`
			}
			if err := json.Unmarshal(body, &tok); err != nil || tok.Refresh == "" {
				return fmt.Errorf("refresh: no refresh token in %s", truncate(string(body), 100))
			}
			rt = tok.Refresh
			return nil
		}
	}}
}

func (fx *fixtures) login() scenario {
	return scenario{name: "rest_login", newWorker: func(id int) func(context.Context, *http.Client) error {
		// Each worker walks through the accounts (worker id, then every
		// concurrency-th one) so that no account exceeds its sign-in
		// throttle (10 at once, then 1 a minute): the run measures argon2id.
		next := id
		return func(ctx context.Context, c *http.Client) error {
			u := fx.users[next%len(fx.users)]
			next += 64
			body := `{"email":"` + u.Email + `","password":"` + fx.password + `"}`
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, fx.base+"/api/v1/auth/login", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			_, _, err := expect(c, req, http.StatusOK)
			return err
		}
	}, measureRaw: true}
}
