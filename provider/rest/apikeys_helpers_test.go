package rest_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
)

// bodyBadAPIKey is the one answer to every bad X-API-Key: which check failed
// (wrong organization, revoked, expired, malformed, bad checksum) is not said.
const bodyBadAPIKey = `{"detail":"Invalid API key"}`

// bodyMissingOrgHeader is the 422 for an API key without X-Organization-ID.
var bodyMissingOrgHeader = invalid("field required", "value_error.missing", "header", "X-Organization-ID")

// apiKey is a created key and its organization.
type apiKey struct {
	ID, Key, OrgID string
}

// headers are the guide's two API-key headers.
func (k apiKey) headers() []string {
	return []string{"X-API-Key", k.Key, "X-Organization-ID", k.OrgID}
}

// apiKeyFields are the keys of an API key's JSON.
var apiKeyFields = []string{"id", "name", "prefix", "permissions", "role", "created_by", "service_account_id", "created_at",
	"last_used_at", "expires_at", "replaced_by", "rotation_ends_at", "age_days", "rotation_due"}

// newAPIKey has u create a key with body (a map or JSON string) and checks the 201.
func newAPIKey(t *testing.T, e *apptest.Env, u *apptest.User, body any) apiKey {
	t.Helper()
	r := e.Do(http.MethodPost, "/api/v1/api-keys", body, append(u.Bearer(), "X-Organization-ID", u.OrganizationID)...)
	if r.Status != http.StatusCreated {
		t.Fatalf("create API key: %d %s", r.Status, r.Body)
	}
	m := object(t, r, append(apiKeyFields, "key")...)
	key, _ := m["key"].(string)
	if !strings.HasPrefix(key, "pgh_") || len(key) != 53 || m["prefix"] != key[:12] {
		t.Fatalf("key %q, prefix %v: want pgh_ + 49 characters, prefix its first 12", key, m["prefix"])
	}
	return apiKey{ID: wantUUID(t, "id", m["id"]), Key: key, OrgID: u.OrganizationID}
}

// want401Key checks the API-key 401: exact body and an APIKey challenge.
func want401Key(t *testing.T, r *apptest.Response) {
	t.Helper()
	want(t, r, http.StatusUnauthorized, bodyBadAPIKey)
	if h := r.Header.Get("WWW-Authenticate"); h == "" {
		t.Fatal("401 without WWW-Authenticate")
	}
}

// roomyKeyUser is a new user whose personal organization is on a large plan, for
// tests that send more than the free plan's 60 requests a minute.
func roomyKeyUser(t *testing.T, e *apptest.Env) *apptest.User {
	t.Helper()
	u := e.NewUser()
	roomy(t, e, u.OrganizationID)
	return u
}

// joinAs adds a fresh user to owner's organization with role and logs it in.
func joinAs(t *testing.T, e *apptest.Env, owner *apptest.User, role string) *apptest.User {
	t.Helper()
	m := e.NewUser()
	r := e.Do(http.MethodPost, "/api/v1/organizations/"+owner.OrganizationID+"/members",
		map[string]string{"email": m.Email, "role": role}, owner.Bearer()...)
	if r.Status != http.StatusCreated {
		t.Fatalf("add member: %d %s", r.Status, r.Body)
	}
	m.OrganizationID = owner.OrganizationID // acts in the owner's organization from now on
	return m
}

// actingIn is u's Bearer header acting in u.OrganizationID.
func actingIn(u *apptest.User) []string {
	return append(u.Bearer(), "X-Organization-ID", u.OrganizationID)
}
