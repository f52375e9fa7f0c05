package rest_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
)

func connectionBody(domains ...string) map[string]any {
	return map[string]any{
		"name": "Acme IdP", "issuer": "https://idp.acme.example", "client_id": "puguh",
		"client_secret": "s3cret-value-never-returned", "domains": append([]string{}, domains...),
		"role_mapping": map[string]string{"eng-admins": "admin"},
	}
}

// TestFederationConnectionsAPI: owners and admins manage their organization's
// connections; the client secret goes in and never comes out; every bad
// input has its exact answer.
func TestFederationConnectionsAPI(t *testing.T) {
	t.Parallel()
	e := apptest.Start(t, apptest.Options{})
	owner := e.NewUser()
	base := "/api/v1/organizations/" + owner.OrganizationID + "/connections"

	r := e.Do(http.MethodPost, base, connectionBody("acme.example", "Corp.Acme.Example"), actingIn(owner)...)
	if r.Status != http.StatusCreated || strings.Contains(string(r.Body), "s3cret") {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	m := object(t, r, "id", "organization_id", "name", "protocol", "issuer", "client_id", "scopes", "email_claim",
		"name_claim", "groups_claim", "role_mapping", "default_role", "domains", "redirect_uri", "created_at", "updated_at")
	id := wantUUID(t, "id", m["id"])
	if m["redirect_uri"] != e.URL+"/federation/"+id+"/callback" || m["protocol"] != "oidc" || m["default_role"] != "member" {
		t.Fatalf("created %s", r.Body)
	}
	if d := m["domains"].([]any); len(d) != 2 || d[0] != "acme.example" || d[1] != "corp.acme.example" {
		t.Fatalf("domains %v", d)
	}
	for _, path := range []string{base, base + "/" + id} {
		if r := e.Do(http.MethodGet, path, nil, actingIn(owner)...); r.Status != 200 || strings.Contains(string(r.Body), "s3cret") || !strings.Contains(string(r.Body), id) {
			t.Fatalf("GET %s: %d %s", path, r.Status, r.Body)
		}
	}
	r = e.Do(http.MethodPatch, base+"/"+id, map[string]any{"name": "Renamed", "client_secret": "rotated-secret"}, actingIn(owner)...)
	if r.Status != 200 || !strings.Contains(string(r.Body), `"name":"Renamed"`) || strings.Contains(string(r.Body), "rotated") {
		t.Fatalf("patch: %d %s", r.Status, r.Body)
	}

	// Bad input, exactly.
	t.Run("bad input", func(t *testing.T) {
		e := at(t, e)
		want(t, e.Do(http.MethodPost, base, map[string]any{}, actingIn(owner)...), 422,
			`{"detail":[{"loc":["body","name"],"msg":"field required","type":"value_error.missing"},`+
				`{"loc":["body","issuer"],"msg":"field required","type":"value_error.missing"},`+
				`{"loc":["body","client_id"],"msg":"field required","type":"value_error.missing"},`+
				`{"loc":["body","client_secret"],"msg":"field required","type":"value_error.missing"},`+
				`{"loc":["body","domains"],"msg":"field required","type":"value_error.missing"}]}`)
		bad := connectionBody("not a domain")
		bad["issuer"], bad["scopes"], bad["default_role"] = "ftp://idp.example", []string{"email"}, "boss"
		want(t, e.Do(http.MethodPost, base, bad, actingIn(owner)...), 422,
			`{"detail":[{"loc":["body","issuer"],"msg":"must be an https URL without query or fragment (http only on localhost)","type":"value_error.url"},`+
				`{"loc":["body","scopes"],"msg":"must include openid","type":"value_error.scope"},`+
				`{"loc":["body","default_role"],"msg":"value is not a valid enumeration member; permitted: 'owner', 'admin', 'member', 'viewer'","type":"type_error.enum"},`+
				`{"loc":["body","domains",0],"msg":"not a valid domain name","type":"value_error.domain"}]}`)
		want(t, e.Do(http.MethodPost, base, connectionBody(), actingIn(owner)...), 422,
			`{"detail":[{"loc":["body","domains"],"msg":"ensure this value has at least 1 items","type":"value_error.list.min_items"}]}`)
		want(t, e.Do(http.MethodPost, base, map[string]any{"name": "x", "unknown": 1}, actingIn(owner)...), 422,
			`{"detail":[{"loc":["body","unknown"],"msg":"extra fields not permitted","type":"value_error.extra"}]}`)
		want(t, e.Do(http.MethodPost, base, connectionBody("acme.example"), actingIn(owner)...), 409,
			`{"detail":"Domain acme.example is already connected to another connection"}`)
		want(t, e.Do(http.MethodGet, base+"/not-a-uuid", nil, actingIn(owner)...), 422,
			`{"detail":[{"loc":["path","connection_id"],"msg":"value is not a valid uuid","type":"type_error.uuid"}]}`)
		want(t, e.Do(http.MethodGet, base+"/00000000-0000-4000-8000-000000000000", nil, actingIn(owner)...), 404,
			`{"detail":"Connection not found"}`)
		want(t, e.Do(http.MethodGet, base, nil), 401, bodyInvalidToken)
	})

	t.Run("who may", func(t *testing.T) {
		e := at(t, e)
		stranger := e.NewUser()
		want(t, e.Do(http.MethodGet, base, nil, stranger.Bearer()...), 403, bodyNotMember)
		want(t, e.Do(http.MethodGet, "/api/v1/organizations/"+stranger.OrganizationID+"/connections/"+id, nil, actingIn(stranger)...), 404,
			`{"detail":"Connection not found"}`)
		member := e.NewUser()
		if r := e.Do(http.MethodPost, "/api/v1/organizations/"+owner.OrganizationID+"/members",
			map[string]string{"email": member.Email, "role": "member"}, actingIn(owner)...); r.Status != 201 {
			t.Fatalf("add member: %d %s", r.Status, r.Body)
		}
		want(t, e.Do(http.MethodGet, base, nil, member.Bearer()...), 403, missingPermission("organization.update"))
		want(t, e.Do(http.MethodDelete, base+"/"+id, nil, member.Bearer()...), 403, missingPermission("organization.update"))
	})

	want(t, e.Do(http.MethodDelete, base+"/"+id, nil, actingIn(owner)...), 204, "")
	want(t, e.Do(http.MethodDelete, base+"/"+id, nil, actingIn(owner)...), 404, `{"detail":"Connection not found"}`)
}
