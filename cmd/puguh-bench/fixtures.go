package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
)

// fixtures is the data the scenarios use, made through the public API.
type fixtures struct {
	base     string
	users    []benchUser
	password string

	// Filled when the server supports them; a scenario without its fixture is skipped.
	apiKey, apiKeyOrg    string
	saClientID, saSecret string
	skipAPIKey, skipCC   string
	// ccClientID and ccSecret ask for client_credentials tokens: the
	// service account, or an application (-token-alg).
	ccClientID, ccSecret string
	appID, appSecret     string
	appRedirect, skipApp string
	operatorAccess       string // a platform operator's access token
}

type benchUser struct {
	Email, OrgID, Access, Refresh string
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func postJSON(ctx context.Context, c *http.Client, url string, body any, want int, headers ...string) ([]byte, error) {
	buf, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(buf))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	_, b, err := expect(c, req, want)
	return b, err
}

// prepare registers and logs in users (in parallel: registration hashes a
// password), then creates what the credential scenarios need.
func prepare(ctx context.Context, base string, users, concurrency int) (*fixtures, error) {
	fx := &fixtures{base: base, password: "bench password " + randomHex(4)}
	c := newClient(concurrency)
	fx.users = make([]benchUser, users)
	var wg sync.WaitGroup
	errs := make(chan error, users)
	sem := make(chan struct{}, 8)
	for i := range fx.users {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			email := fmt.Sprintf("bench-%d-%s@example.com", i, randomHex(4))
			b, err := postJSON(ctx, c, base+"/api/v1/auth/register", map[string]string{"email": email, "password": fx.password, "full_name": "Bench User"}, http.StatusCreated)
			if err != nil {
				errs <- err
				return
			}
			var reg struct {
				OrgID string `json:"organization_id"`
			}
			_ = json.Unmarshal(b, &reg)
			b, err = postJSON(ctx, c, base+"/api/v1/auth/login", map[string]string{"email": email, "password": fx.password}, http.StatusOK)
			if err != nil {
				errs <- err
				return
			}
			var tok struct {
				Access  string `json:"access_token"`
				Refresh string `json:"refresh_token"`
			}
			_ = json.Unmarshal(b, &tok)
			fx.users[i] = benchUser{Email: email, OrgID: reg.OrgID, Access: tok.Access, Refresh: tok.Refresh}
		}(i)
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	owner := fx.users[0]
	auth := []string{"Authorization", "Bearer " + owner.Access}
	if err := fx.raisePlans(ctx, c, concurrency); err != nil {
		return nil, err
	}

	if b, err := postJSON(ctx, c, base+"/api/v1/api-keys", map[string]any{"name": "bench"}, http.StatusCreated, auth...); err != nil {
		fx.skipAPIKey = "cannot create an API key: " + err.Error()
	} else {
		var k struct {
			Key string `json:"key"`
		}
		_ = json.Unmarshal(b, &k)
		fx.apiKey, fx.apiKeyOrg = k.Key, owner.OrgID
	}
	if b, err := postJSON(ctx, c, base+"/api/v1/service-accounts", map[string]any{"name": "bench", "role": "member"}, http.StatusCreated, auth...); err != nil {
		fx.skipCC = "cannot create a service account: " + err.Error()
	} else {
		var sa struct {
			ClientID     string `json:"client_id"`
			ClientSecret string `json:"client_secret"`
		}
		_ = json.Unmarshal(b, &sa)
		fx.saClientID, fx.saSecret = sa.ClientID, sa.ClientSecret
		fx.ccClientID, fx.ccSecret = sa.ClientID, sa.ClientSecret
	}
	fx.appRedirect = "http://127.0.0.1:9/callback"
	if b, err := postJSON(ctx, c, base+"/api/v1/applications", map[string]any{
		"name": "bench app", "redirect_uris": []string{fx.appRedirect}, "grant_types": []string{"authorization_code", "refresh_token"},
		"response_types": []string{"code"}, "scopes": []string{"openid", "profile", "email"}, "token_endpoint_auth_method": "client_secret_basic",
		"trusted": true, // only a platform operator may register a trusted (consent-free) application
	}, http.StatusCreated, "Authorization", "Bearer "+fx.operatorAccess); err != nil {
		fx.skipApp = "cannot create an application: " + err.Error()
	} else {
		var app struct {
			ID           string `json:"id"`
			ClientID     string `json:"client_id"`
			ClientSecret string `json:"client_secret"`
		}
		_ = json.Unmarshal(b, &app)
		fx.appID, fx.appSecret = app.ClientID, app.ClientSecret
		if fx.appID == "" {
			fx.appID = app.ID
		}
	}
	return fx, nil
}

// operatorEmail is the platform operator the harness signs in as to lift the
// organizations it loads onto the enterprise plan, so scenarios measure the
// server and not a free plan's 60 requests per minute.
const operatorEmail = "bench-operator@example.com"

func (fx *fixtures) raisePlans(ctx context.Context, c *http.Client, concurrency int) error {
	// A second run against the same -target finds the operator registered,
	// with the previous run's password: use a fresh operator address then.
	_, err := postJSON(ctx, c, fx.base+"/api/v1/auth/register", map[string]string{"email": operatorEmail, "password": fx.password, "full_name": "Bench Operator"}, http.StatusCreated)
	if err != nil {
		return fmt.Errorf("register operator %s (run each -target once, or start it with PUGUH_PLATFORM_OPERATORS naming it): %w", operatorEmail, err)
	}
	b, err := postJSON(ctx, c, fx.base+"/api/v1/auth/login", map[string]string{"email": operatorEmail, "password": fx.password}, http.StatusOK)
	if err != nil {
		return fmt.Errorf("operator login: %w", err)
	}
	var tok struct {
		Access string `json:"access_token"`
	}
	_ = json.Unmarshal(b, &tok)
	fx.operatorAccess = tok.Access
	n := min(concurrency, len(fx.users))
	for _, u := range fx.users[:n] {
		body, _ := json.Marshal(map[string]any{"plan": "enterprise", "rate_limit": 1_000_000})
		req, _ := http.NewRequestWithContext(ctx, http.MethodPatch, fx.base+"/api/v1/organizations/"+u.OrgID+"/plan", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok.Access)
		if _, _, err := expect(c, req, http.StatusOK); err != nil {
			return fmt.Errorf("raise plan: %w", err)
		}
	}
	return nil
}
