package rest_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
)

// serviceAccount is a created account with its credentials.
type serviceAccount struct {
	ID, ClientID, ClientSecret string
}

func newServiceAccount(t *testing.T, e *apptest.Env, u *apptest.User, name, role string) serviceAccount {
	t.Helper()
	r := e.Do(http.MethodPost, "/api/v1/service-accounts", map[string]string{"name": name, "role": role}, actingIn(u)...)
	if r.Status != http.StatusCreated {
		t.Fatalf("create service account: %d %s", r.Status, r.Body)
	}
	m := object(t, r, "id", "name", "role", "client_id", "client_secret", "created_by", "created_at", "secret_created_at",
		"previous_secret_ends_at", "rotation_due")
	if m["role"] != role || m["created_by"] != u.ID || !strings.HasPrefix(m["client_secret"].(string), "pghs_") {
		t.Fatalf("created %s", r.Body)
	}
	return serviceAccount{ID: wantUUID(t, "id", m["id"]), ClientID: m["client_id"].(string), ClientSecret: m["client_secret"].(string)}
}

// TestServiceAccountLifecycle: "create a service account for production use",
// get a client_credentials token from /oauth/token with x/oauth2, verify it
// offline against the JWKS with go-oidc as a resource server would, use it
// and a key of the account on the REST API; deleting the account stops the
// token, the key and the client at once on this replica.
func TestServiceAccountLifecycle(t *testing.T) {
	t.Parallel()
	forEachBackend(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		owner := roomyKeyUser(t, e)
		sa := newServiceAccount(t, e, owner, "CI deployer", "admin")

		r := e.Do(http.MethodGet, "/api/v1/service-accounts", nil, actingIn(owner)...)
		if r.Status != 200 || strings.Contains(string(r.Body), sa.ClientSecret) || strings.Contains(string(r.Body), `"client_secret"`) || strings.Contains(string(r.Body), "pghs_") {
			t.Fatalf("list: %d %s", r.Status, r.Body)
		}

		ctx := context.Background()
		cc := clientcredentials.Config{ClientID: sa.ClientID, ClientSecret: sa.ClientSecret, TokenURL: e.URL + "/oauth/token"}
		tok, err := cc.Token(ctx)
		if err != nil {
			t.Fatalf("client_credentials: %v", err)
		}
		verifier := oidc.NewVerifier(e.URL, oidc.NewRemoteKeySet(ctx, e.URL+"/.well-known/jwks.json"),
			&oidc.Config{ClientID: e.URL + "/api", SupportedSigningAlgs: []string{oidc.RS256}})
		verified, err := verifier.Verify(ctx, tok.AccessToken)
		if err != nil {
			t.Fatalf("go-oidc rejects the service account's token: %v", err)
		}
		if verified.Subject != sa.ID {
			t.Fatalf("sub = %q, want the service account %s", verified.Subject, sa.ID)
		}
		if c := claims(t, tok.AccessToken); c["kind"] != "service_account" || c["org_id"] != owner.OrganizationID {
			t.Fatalf("claims %v", c)
		}

		want(t, e.Do(http.MethodGet, "/api/v1/health", nil, bearer(tok.AccessToken)...), 200, `{"status":"ok","database":"ok","redis":"disabled",`+
			`"principal":{"type":"service_account","id":"`+sa.ID+`","organization_id":"`+owner.OrganizationID+`"}}`)
		if r := e.Do(http.MethodGet, "/api/v1/applications", nil, bearer(tok.AccessToken)...); r.Status != 200 {
			t.Fatalf("service account lists applications: %d %s", r.Status, r.Body)
		}

		// A key that acts as the account, narrowed to what the account holds.
		r = e.Do(http.MethodPost, "/api/v1/service-accounts/"+sa.ID+"/api-keys", map[string]string{"name": "deploy key"}, actingIn(owner)...)
		if r.Status != http.StatusCreated {
			t.Fatalf("create account key: %d %s", r.Status, r.Body)
		}
		var created struct {
			ID               string `json:"id"`
			Key              string `json:"key"`
			ServiceAccountID string `json:"service_account_id"`
		}
		r.JSON(t, &created)
		if created.ServiceAccountID != sa.ID {
			t.Fatalf("service_account_id = %q", created.ServiceAccountID)
		}
		key := apiKey{ID: created.ID, Key: created.Key, OrgID: owner.OrganizationID}
		if r := e.Do(http.MethodGet, "/api/v1/applications", nil, key.headers()...); r.Status != 200 {
			t.Fatalf("account key: %d %s", r.Status, r.Body)
		}

		want(t, e.Do(http.MethodDelete, "/api/v1/service-accounts/"+sa.ID, nil, actingIn(owner)...), 204, "")
		want401(t, e.Do(http.MethodGet, "/api/v1/health", nil, bearer(tok.AccessToken)...))
		want401Key(t, e.Do(http.MethodGet, "/api/v1/health", nil, key.headers()...))
		if _, err := cc.Token(ctx); err == nil || !strings.Contains(err.Error(), "invalid_client") {
			t.Fatalf("deleted account still gets tokens: %v", err)
		}
		want(t, e.Do(http.MethodDelete, "/api/v1/service-accounts/"+sa.ID, nil, actingIn(owner)...), 404, `{"detail":"Service account not found"}`)

		for _, secret := range []string{sa.ClientSecret, created.Key, tok.AccessToken} {
			if strings.Contains(e.Logs(), secret) {
				t.Fatal("a credential reached the server logs")
			}
		}
	})
}

// TestServiceAccountRoles: creating, deleting and keying an account takes
// rank over its role, like managing a member.
func TestServiceAccountRoles(t *testing.T) {
	t.Parallel()
	e := start(t, apptest.Options{})
	owner := roomyKeyUser(t, e)
	admin := joinAs(t, e, owner, "admin")
	member := joinAs(t, e, owner, "member")
	ownerSA := newServiceAccount(t, e, owner, "root robot", "owner")
	viewerSA := newServiceAccount(t, e, admin, "reader", "viewer")
	cases := []struct {
		name         string
		as           *apptest.User
		method, path string
		body         any
		status       int
		want         string
	}{
		{"admin creates an owner account", admin, "POST", "/api/v1/service-accounts", map[string]string{"name": "x", "role": "owner"}, 403, `{"detail":"Cannot manage the owner role"}`},
		{"member creates an account", member, "POST", "/api/v1/service-accounts", map[string]string{"name": "x", "role": "viewer"}, 403, missingPermission("service_accounts.create")},
		{"unknown role", owner, "POST", "/api/v1/service-accounts", map[string]string{"name": "x", "role": "god"}, 422,
			invalid("value is not a valid enumeration member; permitted: 'owner', 'admin', 'member', 'viewer'", "type_error.enum", "body", "role")},
		{"admin deletes an owner account", admin, "DELETE", "/api/v1/service-accounts/" + ownerSA.ID, nil, 403, `{"detail":"Cannot manage the owner role"}`},
		{"admin keys an owner account", admin, "POST", "/api/v1/service-accounts/" + ownerSA.ID + "/api-keys", map[string]string{"name": "k"}, 403, `{"detail":"Cannot manage the owner role"}`},
		{"key beyond the account's role", owner, "POST", "/api/v1/service-accounts/" + viewerSA.ID + "/api-keys",
			map[string]any{"name": "k", "permissions": []string{"applications.create"}}, 403, missingPermission("applications.create")},
		{"member deletes an account", member, "DELETE", "/api/v1/service-accounts/" + viewerSA.ID, nil, 403, missingPermission("service_accounts.delete")},
		{"unknown account", owner, "GET", "/api/v1/service-accounts/00000000-0000-4000-8000-000000000000", nil, 404, `{"detail":"Service account not found"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want(t, at(t, e).Do(tc.method, tc.path, tc.body, actingIn(tc.as)...), tc.status, tc.want)
		})
	}
}
