package rest_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/oauth2/clientcredentials"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
)

var applicationKeys = []string{"id", "client_id", "name", "redirect_uris", "post_logout_redirect_uris", "grant_types",
	"response_types", "scopes", "token_endpoint_auth_method", "public", "trusted", "created_at", "updated_at",
	"id_token_signed_response_alg", "access_token_signed_response_alg"}

// TestApplicationLifecycle: create (secret once), read, list, patch, rotate
// (the old secret stops at /oauth/token at once), delete.
func TestApplicationLifecycle(t *testing.T) {
	t.Parallel()
	forEachBackend(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		owner := roomyKeyUser(t, e)
		r := e.Do(http.MethodPost, "/api/v1/applications", map[string]any{
			"name": "Intranet", "redirect_uris": []string{"https://intranet.example.com/callback", "http://127.0.0.1:8765/cb"},
			"grant_types": []string{"authorization_code", "refresh_token", "client_credentials"},
			"scopes":      []string{"openid", "profile", "read:user", "read:resources"},
		}, actingIn(owner)...)
		if r.Status != http.StatusCreated {
			t.Fatalf("create: %d %s", r.Status, r.Body)
		}
		m := object(t, r, append(applicationKeys, "client_secret")...)
		id := wantUUID(t, "id", m["id"])
		secret, _ := m["client_secret"].(string)
		if m["client_id"] != id || m["token_endpoint_auth_method"] != "client_secret_post" || m["public"] != false ||
			m["trusted"] != false || !strings.HasPrefix(secret, "pghs_") {
			t.Fatalf("created %s", r.Body)
		}
		if got := m["response_types"].([]any); len(got) != 1 || got[0] != "code" {
			t.Fatalf("response_types default = %v, want [code]", got)
		}

		r = e.Do(http.MethodGet, "/api/v1/applications/"+id, nil, actingIn(owner)...)
		object(t, r, applicationKeys...)
		r = e.Do(http.MethodGet, "/api/v1/applications", nil, actingIn(owner)...)
		if r.Status != 200 || strings.Contains(string(r.Body), secret) || strings.Contains(string(r.Body), `"client_secret":`) ||
			r.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("list: %d %s", r.Status, r.Body)
		}

		ctx := context.Background()
		cc := clientcredentials.Config{ClientID: id, ClientSecret: secret, TokenURL: e.URL + "/oauth/token"}
		if _, err := cc.Token(ctx); err != nil {
			t.Fatalf("client_credentials with the first secret: %v", err)
		}
		r = e.Do(http.MethodPost, "/api/v1/applications/"+id+"/secret", nil, actingIn(owner)...)
		rotated := object(t, r, "client_id", "client_secret")
		if _, err := cc.Token(ctx); err == nil {
			t.Fatal("the rotated-out secret still works")
		}
		cc.ClientSecret = rotated["client_secret"].(string)
		if _, err := cc.Token(ctx); err != nil {
			t.Fatalf("client_credentials with the new secret: %v", err)
		}

		// PATCH changes only what is sent; going public drops the secret and
		// the client_credentials grant must go first.
		r = e.Do(http.MethodPatch, "/api/v1/applications/"+id, map[string]any{"name": "Intranet 2", "public": true}, actingIn(owner)...)
		want(t, r, 422, invalid("public clients cannot use the client_credentials grant", "value_error.grant_types", "body", "public"))
		r = e.Do(http.MethodPatch, "/api/v1/applications/"+id, map[string]any{"public": true,
			"grant_types": []string{"authorization_code", "refresh_token"}}, actingIn(owner)...)
		m = object(t, r, applicationKeys...)
		if m["public"] != true || m["token_endpoint_auth_method"] != "none" || m["name"] != "Intranet" {
			t.Fatalf("patched %s", r.Body)
		}
		want(t, e.Do(http.MethodPost, "/api/v1/applications/"+id+"/secret", nil, actingIn(owner)...), 409, `{"detail":"Public applications have no client secret"}`)
		r = e.Do(http.MethodPatch, "/api/v1/applications/"+id, map[string]any{"token_endpoint_auth_method": "client_secret_post"}, actingIn(owner)...)
		m = object(t, r, append(applicationKeys, "client_secret")...) // confidential again: a new secret, shown once
		if m["public"] != false {
			t.Fatalf("patched %s", r.Body)
		}

		want(t, e.Do(http.MethodDelete, "/api/v1/applications/"+id, nil, actingIn(owner)...), 204, "")
		want(t, e.Do(http.MethodGet, "/api/v1/applications/"+id, nil, actingIn(owner)...), 404, `{"detail":"Application not found"}`)
		if strings.Contains(e.Logs(), secret) || strings.Contains(e.Logs(), cc.ClientSecret) {
			t.Fatal("a client secret reached the logs")
		}
	})
}

// TestApplicationValidation: each refused field, with the index of the bad
// item in loc (docs/security.md, "Authorization endpoint" for redirect URIs).
func TestApplicationValidation(t *testing.T) {
	t.Parallel()
	e := start(t, apptest.Options{})
	owner := roomyKeyUser(t, e)
	const scheme = "URL scheme must be https (http only for 127.0.0.1, [::1] or localhost)"
	good := "https://app.example.com/cb"
	cases := []struct {
		name string
		body string
		want string
	}{
		{"no name", `{"redirect_uris":["` + good + `"]}`, invalid("field required", "value_error.missing", "body", "name")},
		{"http on a public host", `{"name":"a","redirect_uris":["` + good + `","http://app.example.com/cb"]}`, invalid(scheme, "value_error.url.scheme", "body", "redirect_uris", 1)},
		{"http on 127.0.0.2", `{"name":"a","redirect_uris":["http://127.0.0.2/cb"]}`, invalid(scheme, "value_error.url.scheme", "body", "redirect_uris", 0)},
		{"custom scheme", `{"name":"a","redirect_uris":["com.example.app:/cb"]}`, invalid(scheme, "value_error.url.scheme", "body", "redirect_uris", 0)},
		{"relative", `{"name":"a","redirect_uris":["/cb"]}`, invalid("invalid or missing URL scheme", "value_error.url.scheme", "body", "redirect_uris", 0)},
		{"fragment", `{"name":"a","redirect_uris":["https://app.example.com/cb#x"]}`, invalid("URL must not contain a fragment", "value_error.url.fragment", "body", "redirect_uris", 0)},
		{"empty fragment", `{"name":"a","redirect_uris":["https://app.example.com/cb#"]}`, invalid("URL must not contain a fragment", "value_error.url.fragment", "body", "redirect_uris", 0)},
		{"userinfo", `{"name":"a","redirect_uris":["https://app.example.com@evil.example/cb"]}`, invalid("URL must not contain userinfo", "value_error.url.userinfo", "body", "redirect_uris", 0)},
		{"no host", `{"name":"a","redirect_uris":["https:///cb"]}`, invalid("URL host invalid", "value_error.url.host", "body", "redirect_uris", 0)},
		{"duplicate", `{"name":"a","redirect_uris":["` + good + `","` + good + `"]}`, invalid("duplicate item", "value_error.list.unique_items", "body", "redirect_uris", 1)},
		{"no redirect URI for the code flow", `{"name":"a"}`, invalid("the authorization_code grant needs at least one redirect URI", "value_error.list.min_items", "body", "redirect_uris")},
		{"post-logout URI over http", `{"name":"a","redirect_uris":["` + good + `"],"post_logout_redirect_uris":["http://app.example.com/bye"]}`,
			invalid(scheme, "value_error.url.scheme", "body", "post_logout_redirect_uris", 0)},
		{"password grant", `{"name":"a","redirect_uris":["` + good + `"],"grant_types":["authorization_code","password"]}`,
			invalid("value is not a valid enumeration member; permitted: 'authorization_code', 'refresh_token', 'client_credentials'", "type_error.enum", "body", "grant_types", 1)},
		{"implicit response type", `{"name":"a","redirect_uris":["` + good + `"],"response_types":["code","token"]}`,
			invalid("value is not a valid enumeration member; permitted: 'code'", "type_error.enum", "body", "response_types", 1)},
		{"bad scope", `{"name":"a","redirect_uris":["` + good + `"],"scopes":["openid","Read User"]}`,
			invalid(`string does not match regex "^[a-z][a-z0-9_.:-]{0,63}$"`, "value_error.str.regex", "body", "scopes", 1)},
		{"unknown auth method", `{"name":"a","redirect_uris":["` + good + `"],"token_endpoint_auth_method":"private_key_jwt"}`,
			invalid("value is not a valid enumeration member; permitted: 'client_secret_basic', 'client_secret_post', 'none'", "type_error.enum", "body", "token_endpoint_auth_method")},
		{"public with a secret method", `{"name":"a","redirect_uris":["` + good + `"],"public":true,"token_endpoint_auth_method":"client_secret_basic"}`,
			invalid("public clients use token_endpoint_auth_method none, and only they do", "value_error.public", "body", "token_endpoint_auth_method")},
		{"public client_credentials", `{"name":"a","public":true,"grant_types":["client_credentials"]}`,
			invalid("public clients cannot use the client_credentials grant", "value_error.grant_types", "body", "grant_types")},
		{"no grant types", `{"name":"a","grant_types":[]}`, invalid("ensure this value has at least 1 items", "value_error.list.min_items", "body", "grant_types")},
		{"refresh without code", `{"name":"a","grant_types":["client_credentials","refresh_token"]}`,
			invalid("refresh_token needs the authorization_code grant", "value_error.grant_types", "body", "grant_types")},
		{"unknown field", `{"name":"a","client_secret":"mine"}`, invalid("extra fields not permitted", "value_error.extra", "body", "client_secret")},
		{"wrong type", `{"name":"a","public":"yes"}`, invalid("value could not be parsed to a boolean", "type_error.bool", "body", "public")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want(t, at(t, e).Do(http.MethodPost, "/api/v1/applications", tc.body, actingIn(owner)...), 422, tc.want)
		})
	}
	t.Run("loopback and public are accepted", func(t *testing.T) {
		r := at(t, e).Do(http.MethodPost, "/api/v1/applications", `{"name":"CLI","public":true,"redirect_uris":`+
			`["http://127.0.0.1/cb","http://[::1]:8080/cb","http://localhost:9000/cb?x=1"]}`, actingIn(owner)...)
		m := object(t, r, applicationKeys...) // no client_secret for a public client
		if r.Status != 201 || m["token_endpoint_auth_method"] != "none" {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
	})
	t.Run("permissions", func(t *testing.T) {
		member := joinAs(t, at(t, e), owner, "member")
		want(t, at(t, e).Do(http.MethodPost, "/api/v1/applications", `{"name":"a","grant_types":["client_credentials"]}`, actingIn(member)...),
			403, missingPermission("applications.create"))
	})
}
