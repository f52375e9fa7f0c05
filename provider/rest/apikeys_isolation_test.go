package rest_test

import (
	"context"
	"net/http"
	"testing"

	"golang.org/x/oauth2/clientcredentials"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
)

// TestCrossOrganizationIsolation is docs/security.md, "Tenant isolation": a key, a user token
// and a service-account token of organization A can read or change nothing of
// organization B, whether they name B in X-Organization-ID or B's objects in
// the path. Every endpoint of this area and the organization, member and IAM
// endpoints are tried; then B's objects are checked to be intact.
func TestCrossOrganizationIsolation(t *testing.T) {
	t.Parallel()
	forEachBackend(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		a, b := roomyKeyUser(t, e), roomyKeyUser(t, e)
		aKey := newAPIKey(t, e, a, map[string]string{"name": "A's"})
		aSA := newServiceAccount(t, e, a, "A's robot", "admin")
		aSAToken := clientCredentialsToken(t, e, aSA)

		bKey := newAPIKey(t, e, b, map[string]string{"name": "B's"})
		bSA := newServiceAccount(t, e, b, "B's robot", "viewer")
		r := e.Do(http.MethodPost, "/api/v1/applications", map[string]any{"name": "B's app", "redirect_uris": []string{"https://b.example/cb"}}, actingIn(b)...)
		if r.Status != 201 {
			t.Fatalf("B's app: %d %s", r.Status, r.Body)
		}
		var bApp struct {
			ID string `json:"id"`
		}
		r.JSON(t, &bApp)

		type request struct {
			method, path string
			body         any
		}
		// Requests that act in the organization named by X-Organization-ID.
		inHeaderOrg := []request{
			{"GET", "/api/v1/health", nil},
			{"GET", "/api/v1/api-keys", nil},
			{"POST", "/api/v1/api-keys", map[string]string{"name": "x"}},
			{"DELETE", "/api/v1/api-keys/" + bKey.ID, nil},
			{"GET", "/api/v1/service-accounts", nil},
			{"POST", "/api/v1/service-accounts", map[string]string{"name": "x", "role": "viewer"}},
			{"GET", "/api/v1/service-accounts/" + bSA.ID, nil},
			{"DELETE", "/api/v1/service-accounts/" + bSA.ID, nil},
			{"POST", "/api/v1/service-accounts/" + bSA.ID + "/api-keys", map[string]string{"name": "x"}},
			{"GET", "/api/v1/applications", nil},
			{"POST", "/api/v1/applications", map[string]any{"name": "x", "grant_types": []string{"client_credentials"}}},
			{"GET", "/api/v1/applications/" + bApp.ID, nil},
			{"PATCH", "/api/v1/applications/" + bApp.ID, map[string]string{"name": "pwned"}},
			{"DELETE", "/api/v1/applications/" + bApp.ID, nil},
			{"POST", "/api/v1/applications/" + bApp.ID + "/secret", nil},
			{"GET", "/api/v1/organizations", nil},
			{"GET", "/api/v1/organizations/" + b.OrganizationID, nil},
			{"GET", "/api/v1/organizations/" + b.OrganizationID + "/members", nil},
			{"POST", "/api/v1/organizations/" + b.OrganizationID + "/members", map[string]string{"email": a.Email, "role": "owner"}},
			{"PATCH", "/api/v1/organizations/" + b.OrganizationID + "/members/" + b.ID, map[string]string{"role": "viewer"}},
			{"DELETE", "/api/v1/organizations/" + b.OrganizationID + "/members/" + b.ID, nil},
			{"GET", "/api/v1/iam/users", nil},
			{"GET", "/api/v1/iam/users/me", nil},
		}
		headerB := []string{"X-Organization-ID", b.OrganizationID}
		principals := []struct {
			name    string
			headers []string
			status  int
			body    string
		}{
			{"A's API key", []string{"X-API-Key", aKey.Key}, 401, bodyBadAPIKey},
			{"A's user token", a.Bearer(), 403, bodyNotMember},
			{"A's service-account token", bearer(aSAToken), 403, bodyNotMember},
		}
		for _, p := range principals {
			for _, req := range inHeaderOrg {
				t.Run("header B/"+p.name+"/"+req.method+" "+req.path, func(t *testing.T) {
					want(t, at(t, e).Do(req.method, req.path, req.body, append(p.headers, headerB...)...), p.status, p.body)
				})
			}
		}

		// A's own organization in the header, B's objects in the path: 404,
		// exactly as if they did not exist.
		inPath := []struct {
			request
			keyStatus  int
			keyBody    string
			userStatus int
			userBody   string
		}{
			{request{"DELETE", "/api/v1/api-keys/" + bKey.ID, nil}, 404, `{"detail":"API key not found"}`, 404, `{"detail":"API key not found"}`},
			{request{"GET", "/api/v1/service-accounts/" + bSA.ID, nil}, 404, `{"detail":"Service account not found"}`, 404, `{"detail":"Service account not found"}`},
			{request{"DELETE", "/api/v1/service-accounts/" + bSA.ID, nil}, 404, `{"detail":"Service account not found"}`, 404, `{"detail":"Service account not found"}`},
			{request{"POST", "/api/v1/service-accounts/" + bSA.ID + "/api-keys", map[string]string{"name": "x"}}, 404, `{"detail":"Service account not found"}`, 404, `{"detail":"Service account not found"}`},
			{request{"GET", "/api/v1/applications/" + bApp.ID, nil}, 404, `{"detail":"Application not found"}`, 404, `{"detail":"Application not found"}`},
			{request{"PATCH", "/api/v1/applications/" + bApp.ID, map[string]string{"name": "pwned"}}, 404, `{"detail":"Application not found"}`, 404, `{"detail":"Application not found"}`},
			{request{"DELETE", "/api/v1/applications/" + bApp.ID, nil}, 404, `{"detail":"Application not found"}`, 404, `{"detail":"Application not found"}`},
			{request{"POST", "/api/v1/applications/" + bApp.ID + "/secret", nil}, 404, `{"detail":"Application not found"}`, 404, `{"detail":"Application not found"}`},
			{request{"GET", "/api/v1/organizations/" + b.OrganizationID, nil}, 404, bodyOrgNotFound, 403, bodyNotMember},
			{request{"GET", "/api/v1/organizations/" + b.OrganizationID + "/members", nil}, 404, bodyOrgNotFound, 403, bodyNotMember},
			{request{"DELETE", "/api/v1/organizations/" + b.OrganizationID + "/members/" + b.ID, nil}, 404, bodyOrgNotFound, 403, bodyNotMember},
		}
		for _, req := range inPath {
			t.Run("path B/key/"+req.method+" "+req.path, func(t *testing.T) {
				want(t, at(t, e).Do(req.method, req.path, req.body, aKey.headers()...), req.keyStatus, req.keyBody)
			})
			t.Run("path B/user/"+req.method+" "+req.path, func(t *testing.T) {
				want(t, at(t, e).Do(req.method, req.path, req.body, actingIn(a)...), req.userStatus, req.userBody)
			})
			t.Run("path B/service account/"+req.method+" "+req.path, func(t *testing.T) {
				// A service account, like an API key, is no member of anything:
				// B's organization is not found for it.
				want(t, at(t, e).Do(req.method, req.path, req.body, bearer(aSAToken)...), req.keyStatus, req.keyBody)
			})
		}

		// B's things are all still there and unchanged.
		if r := e.Do(http.MethodGet, "/api/v1/health", nil, bKey.headers()...); r.Status != 200 {
			t.Fatalf("B's key: %d %s", r.Status, r.Body)
		}
		if r := e.Do(http.MethodGet, "/api/v1/service-accounts/"+bSA.ID, nil, actingIn(b)...); r.Status != 200 {
			t.Fatalf("B's service account: %d %s", r.Status, r.Body)
		}
		r = e.Do(http.MethodGet, "/api/v1/applications/"+bApp.ID, nil, actingIn(b)...)
		if m := object(t, r, applicationKeys...); m["name"] != "B's app" {
			t.Fatalf("B's application changed: %s", r.Body)
		}
		r = e.Do(http.MethodGet, "/api/v1/organizations/"+b.OrganizationID+"/members", nil, actingIn(b)...)
		var members struct {
			Items []struct {
				UserID string `json:"user_id"`
				Role   string `json:"role"`
			} `json:"items"`
		}
		r.JSON(t, &members)
		if len(members.Items) != 1 || members.Items[0].UserID != b.ID || members.Items[0].Role != "owner" {
			t.Fatalf("B's members changed: %s", r.Body)
		}
	})
}

// clientCredentialsToken gets an access token for a service account.
func clientCredentialsToken(t *testing.T, e *apptest.Env, sa serviceAccount) string {
	t.Helper()
	cc := clientcredentials.Config{ClientID: sa.ClientID, ClientSecret: sa.ClientSecret, TokenURL: e.URL + "/oauth/token"}
	tok, err := cc.Token(context.Background())
	if err != nil {
		t.Fatalf("client_credentials: %v", err)
	}
	return tok.AccessToken
}
