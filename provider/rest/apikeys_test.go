package rest_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
	"github.com/arsaka/puguh/provider/credentials"
	"github.com/arsaka/puguh/storage/cached"
	"github.com/arsaka/puguh/storage/sqlstore/sqltest"
)

// TestGuideAPIKeySections runs the guide's "Test API Key" and "Using API
// Keys" curls verbatim (only the host swapped), with a key made as the
// guide's "Obtaining an API Key" describes.
func TestGuideAPIKeySections(t *testing.T) {
	t.Parallel()
	forEachBackend(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		u := e.NewUser()
		k := newAPIKey(t, e, u, map[string]string{"name": "Production key"})

		// curl -X GET https://…/api/v1/health -H "X-API-Key: …" -H "X-Organization-ID: …"
		r := curlGET(t, e, "/api/v1/health", "X-API-Key", k.Key, "X-Organization-ID", k.OrgID)
		want(t, r, http.StatusOK, `{"status":"ok","database":"ok","redis":"disabled","principal":`+
			`{"type":"api_key","id":"`+k.ID+`","organization_id":"`+k.OrgID+`"}}`)

		// curl -X GET https://…/api/v1/organizations -H "X-API-Key: …" -H "X-Organization-ID: …"
		r = curlGET(t, e, "/api/v1/organizations", "X-API-Key", k.Key, "X-Organization-ID", k.OrgID)
		if r.Status != http.StatusOK {
			t.Fatalf("organizations: %d %s", r.Status, r.Body)
		}
		var orgs struct {
			Items []struct {
				ID string `json:"id"`
			} `json:"items"`
		}
		r.JSON(t, &orgs)
		if len(orgs.Items) != 1 || orgs.Items[0].ID != k.OrgID {
			t.Fatalf("organizations = %s, want exactly the key's", r.Body)
		}

		// Anonymous health stays as it was; a Bearer token is echoed too.
		want(t, curlGET(t, e, "/api/v1/health"), http.StatusOK, `{"status":"ok","database":"ok","redis":"disabled"}`)
		want(t, curlGET(t, e, "/api/v1/health", u.Bearer()...), http.StatusOK, `{"status":"ok","database":"ok","redis":"disabled",`+
			`"principal":{"type":"user","id":"`+u.ID+`","organization_id":"`+u.OrganizationID+`"}}`)
		want401(t, curlGET(t, e, "/api/v1/health", "Authorization", "Bearer not-a-token"))
	})
}

// curlGET is what curl -X GET sends: no body, no Content-Type, only the headers given.
func curlGET(t *testing.T, e *apptest.Env, path string, headers ...string) *apptest.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("User-Agent", "curl/8.5.0")
	req.Header.Set("Accept", "*/*")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := e.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &apptest.Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// TestAPIKeyHeaderErrors: every bad header combination, with exact status and
// body. The 401s are identical whatever is wrong, so a caller learns nothing
// about which keys or organizations exist.
func TestAPIKeyHeaderErrors(t *testing.T) {
	t.Parallel()
	forEachBackend(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		u, other := roomyKeyUser(t, e), e.NewUser()
		good := newAPIKey(t, e, u, map[string]string{"name": "good"})
		revoked := newAPIKey(t, e, u, map[string]string{"name": "revoked"})
		want(t, e.Do(http.MethodDelete, "/api/v1/api-keys/"+revoked.ID, nil, actingIn(u)...), http.StatusNoContent, "")
		expired := newAPIKey(t, e, u, map[string]any{"name": "expired", "expires_at": time.Now().Add(time.Hour)})
		exec(t, e, "UPDATE api_keys SET expires_at = ? WHERE id = ?", time.Now().Add(-time.Second).UTC(), expired.ID)
		unknown, err := credentials.Generate()
		if err != nil {
			t.Fatal(err)
		}
		last := byte('a')
		if good.Key[len(good.Key)-1] == last {
			last = 'b'
		}
		badChecksum := good.Key[:len(good.Key)-1] + string(last)

		cases := []struct {
			name    string
			headers []string
			status  int
			body    string
		}{
			{"missing organization header", []string{"X-API-Key", good.Key}, 422, bodyMissingOrgHeader},
			{"empty organization header", []string{"X-API-Key", good.Key, "X-Organization-ID", ""}, 422, bodyMissingOrgHeader},
			{"malformed organization header", []string{"X-API-Key", good.Key, "X-Organization-ID", "acme"}, 422,
				invalid("value is not a valid uuid", "type_error.uuid", "header", "X-Organization-ID")},
			{"another organization", []string{"X-API-Key", good.Key, "X-Organization-ID", other.OrganizationID}, 401, bodyBadAPIKey},
			{"organization that does not exist", []string{"X-API-Key", good.Key, "X-Organization-ID", "00000000-0000-4000-8000-000000000000"}, 401, bodyBadAPIKey},
			{"revoked", revoked.headers(), 401, bodyBadAPIKey},
			{"expired", expired.headers(), 401, bodyBadAPIKey},
			{"malformed", []string{"X-API-Key", "YOUR_API_KEY", "X-Organization-ID", u.OrganizationID}, 401, bodyBadAPIKey},
			{"bad checksum", []string{"X-API-Key", badChecksum, "X-Organization-ID", u.OrganizationID}, 401, bodyBadAPIKey},
			{"truncated", []string{"X-API-Key", good.Key[:40], "X-Organization-ID", u.OrganizationID}, 401, bodyBadAPIKey},
			{"unknown key with a valid checksum", []string{"X-API-Key", unknown.Key, "X-Organization-ID", u.OrganizationID}, 401, bodyBadAPIKey},
			{"key and Bearer together", append(good.headers(), u.Bearer()...), 401, `{"detail":"Send either Authorization or X-API-Key, not both"}`},
		}
		for _, path := range []string{"/api/v1/health", "/api/v1/organizations"} {
			for _, tc := range cases {
				t.Run(path+"/"+tc.name, func(t *testing.T) {
					r := curlGET(t, e, path, tc.headers...)
					want(t, r, tc.status, tc.body)
					if tc.status == 401 && r.Header.Get("WWW-Authenticate") == "" {
						t.Fatal("401 without WWW-Authenticate")
					}
				})
			}
		}
		// The good key still works after all that.
		if r := curlGET(t, e, "/api/v1/organizations", good.headers()...); r.Status != http.StatusOK {
			t.Fatalf("good key: %d %s", r.Status, r.Body)
		}
	})
}

// TestAPIKeyNotInQueryString is docs/security.md, "Input": a key in the URL (where
// proxies and browser history keep it) is ignored, not accepted.
func TestAPIKeyNotInQueryString(t *testing.T) {
	t.Parallel()
	e := start(t, apptest.Options{})
	u := e.NewUser()
	k := newAPIKey(t, e, u, map[string]string{"name": "q"})
	q := "?api_key=" + k.Key + "&x_api_key=" + k.Key + "&access_token=" + u.AccessToken
	want401(t, curlGET(t, e, "/api/v1/organizations"+q, "X-Organization-ID", k.OrgID))
	want(t, curlGET(t, e, "/api/v1/health"+q, "X-Organization-ID", k.OrgID), http.StatusOK, `{"status":"ok","database":"ok","redis":"disabled"}`)
	if strings.Contains(e.Logs(), k.Key) {
		t.Fatal("the key from the query string reached the logs")
	}
}

// TestAPIKeyCreateValidation: bodies that are refused, with exact answers. A
// key can never hold a permission its creator lacks (403).
func TestAPIKeyCreateValidation(t *testing.T) {
	t.Parallel()
	e := start(t, apptest.Options{})
	owner := roomyKeyUser(t, e)
	member := joinAs(t, e, owner, "member")
	past := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	cases := []struct {
		name   string
		as     *apptest.User
		body   string
		status int
		want   string
	}{
		{"no name", owner, `{}`, 422, invalid("field required", "value_error.missing", "body", "name")},
		{"blank name", owner, `{"name":"  "}`, 422, invalid("ensure this value has at least 1 characters", "value_error.any_str.min_length", "body", "name")},
		{"expiry in the past", owner, `{"name":"k","expires_at":"` + past + `"}`, 422, invalid("expires_at must be in the future", "value_error.datetime.past", "body", "expires_at")},
		{"expiry not a date", owner, `{"name":"k","expires_at":"tomorrow"}`, 422, invalid("invalid datetime format", "value_error.datetime", "body", "expires_at")},
		{"role and permissions", owner, `{"name":"k","role":"viewer","permissions":["organization.read"]}`, 422, invalid("give either role or permissions, not both", "value_error.exclusive", "body", "permissions")},
		{"unknown role", owner, `{"name":"k","role":"root"}`, 422, invalid("value is not a valid enumeration member; permitted: 'owner', 'admin', 'member', 'viewer'", "type_error.enum", "body", "role")},
		{"unknown permission", owner, `{"name":"k","permissions":["organization.read","everything"]}`, 422, invalid("unknown permission", "value_error.permission", "body", "permissions", 1)},
		{"empty permissions", owner, `{"name":"k","permissions":[]}`, 422, invalid("ensure this value has at least 1 items", "value_error.list.min_items", "body", "permissions")},
		{"unknown field", owner, `{"name":"k","scopes":["x"]}`, 422, invalid("extra fields not permitted", "value_error.extra", "body", "scopes")},
		{"member asks for admin role", member, `{"name":"k","role":"admin"}`, 403, missingPermission("applications.create")},
		{"member asks for a permission it lacks", member, `{"name":"k","permissions":["organization.read","organization.members.delete"]}`, 403, missingPermission("organization.members.delete")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want(t, at(t, e).Do(http.MethodPost, "/api/v1/api-keys", tc.body, actingIn(tc.as)...), tc.status, tc.want)
		})
	}
	t.Run("wrong content type", func(t *testing.T) {
		want(t, at(t, e).Do(http.MethodPost, "/api/v1/api-keys", `{"name":"k"}`, append(actingIn(owner), "Content-Type", "text/plain")...), 415, body415)
	})
	t.Run("keys cannot create keys", func(t *testing.T) {
		k := newAPIKey(t, at(t, e), owner, map[string]string{"name": "k"})
		want(t, at(t, e).Do(http.MethodPost, "/api/v1/api-keys", `{"name":"child"}`, k.headers()...), 403, `{"detail":"Only users can create API keys"}`)
	})
}

// TestAPIKeyPermissions: a key holds what it was given, narrowed to what its
// creator holds now; demotion and removal apply at once on this replica.
func TestAPIKeyPermissions(t *testing.T) {
	t.Parallel()
	forEachBackend(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		owner := roomyKeyUser(t, e)
		admin := joinAs(t, e, owner, "admin")
		readOnly := newAPIKey(t, e, owner, map[string]any{"name": "ro", "permissions": []string{"organization.read"}})
		want(t, e.Do(http.MethodGet, "/api/v1/iam/users", nil, readOnly.headers()...), 403, missingPermission("iam.users.read"))
		if r := e.Do(http.MethodGet, "/api/v1/organizations", nil, readOnly.headers()...); r.Status != 200 {
			t.Fatalf("read-only key lists organizations: %d %s", r.Status, r.Body)
		}

		k := newAPIKey(t, e, admin, map[string]any{"name": "admin's", "role": "admin"})
		app := map[string]any{"name": "App", "grant_types": []string{"client_credentials"}}
		if r := e.Do(http.MethodPost, "/api/v1/applications", app, k.headers()...); r.Status != 201 {
			t.Fatalf("admin's key creates an application: %d %s", r.Status, r.Body)
		}
		// The owner demotes the admin: the key loses what a member lacks, at once.
		if r := e.Do(http.MethodPatch, "/api/v1/organizations/"+owner.OrganizationID+"/members/"+admin.ID,
			map[string]string{"role": "member"}, owner.Bearer()...); r.Status != 200 {
			t.Fatalf("demote: %d %s", r.Status, r.Body)
		}
		want(t, e.Do(http.MethodPost, "/api/v1/applications", app, k.headers()...), 403, missingPermission("applications.create"))
		if r := e.Do(http.MethodGet, "/api/v1/api-keys", nil, k.headers()...); r.Status != 200 {
			t.Fatalf("demoted creator's key keeps member permissions: %d %s", r.Status, r.Body)
		}
		// Removed from the organization: the key is dead.
		want(t, e.Do(http.MethodDelete, "/api/v1/organizations/"+owner.OrganizationID+"/members/"+admin.ID, nil, owner.Bearer()...), 204, "")
		want401Key(t, e.Do(http.MethodGet, "/api/v1/health", nil, k.headers()...))
	})
}

// TestAPIKeyListAndRevoke: listings never hold the secret or hash and are not
// cached; revocation applies on this replica before the DELETE answers;
// last_used_at is written in batches.
func TestAPIKeyListAndRevoke(t *testing.T) {
	t.Parallel()
	forEachBackend(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		owner := roomyKeyUser(t, e)
		member := joinAs(t, e, owner, "member")
		mine := newAPIKey(t, e, owner, map[string]string{"name": "owner's"})
		theirs := newAPIKey(t, e, member, map[string]string{"name": "member's"})

		r := e.Do(http.MethodGet, "/api/v1/api-keys", nil, actingIn(owner)...)
		if r.Status != 200 || r.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("list: %d, Cache-Control %q", r.Status, r.Header.Get("Cache-Control"))
		}
		for _, secret := range []string{mine.Key, theirs.Key, `"key"`, `"hash"`} {
			if strings.Contains(string(r.Body), secret) {
				t.Fatalf("listing contains %q: %s", secret, r.Body)
			}
		}
		var list struct {
			Items []map[string]any `json:"items"`
		}
		r.JSON(t, &list)
		if len(list.Items) != 2 {
			t.Fatalf("listing has %d keys, want 2: %s", len(list.Items), r.Body)
		}

		// A member may revoke its own key, not the owner's.
		want(t, e.Do(http.MethodDelete, "/api/v1/api-keys/"+mine.ID, nil, actingIn(member)...), 403, missingPermission("organization.members.delete"))

		// Warm the cache, revoke, and the very next request is refused.
		if r := e.Do(http.MethodGet, "/api/v1/health", nil, theirs.headers()...); r.Status != 200 {
			t.Fatalf("before revocation: %d %s", r.Status, r.Body)
		}
		want(t, e.Do(http.MethodDelete, "/api/v1/api-keys/"+theirs.ID, nil, actingIn(member)...), 204, "")
		want401Key(t, e.Do(http.MethodGet, "/api/v1/health", nil, theirs.headers()...))
		want(t, e.Do(http.MethodDelete, "/api/v1/api-keys/"+theirs.ID, nil, actingIn(member)...), 404, `{"detail":"API key not found"}`)
		want(t, e.Do(http.MethodDelete, "/api/v1/api-keys/not-a-uuid", nil, actingIn(owner)...), 422,
			invalid("value is not a valid uuid", "type_error.uuid", "path", "id"))

		// Uses reach last_used_at within the flush interval, not per request.
		for range 3 {
			if r := e.Do(http.MethodGet, "/api/v1/health", nil, mine.headers()...); r.Status != 200 {
				t.Fatalf("use: %d", r.Status)
			}
		}
		eventually(t, 3*credentials.DefaultFlushInterval, 100*time.Millisecond, "last_used_at is recorded", func() bool {
			r := e.Do(http.MethodGet, "/api/v1/api-keys", nil, actingIn(owner)...)
			var l struct {
				Items []struct {
					ID         string     `json:"id"`
					LastUsedAt *time.Time `json:"last_used_at"`
				} `json:"items"`
			}
			r.JSON(t, &l)
			return len(l.Items) == 1 && l.Items[0].ID == mine.ID && l.Items[0].LastUsedAt != nil
		})
		for _, secret := range []string{mine.Key, theirs.Key} {
			if strings.Contains(e.Logs(), secret) {
				t.Fatal("an API key reached the server logs")
			}
		}
	})
}

// TestAPIKeyRevocationAcrossReplicas: with Redis, a key revoked on replica A
// is refused by replica B, which had it cached, well within the cache TTL.
func TestAPIKeyRevocationAcrossReplicas(t *testing.T) {
	t.Parallel()
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			opts := apptest.Options{Backend: b, Redis: true}
			ra := start(t, opts)
			opts.DatabaseURL = ra.DatabaseURL
			opts.Env = map[string]string{"PUGUH_ISSUER": ra.URL}
			rb := start(t, opts)
			u := ra.NewUser()
			k := newAPIKey(t, ra, u, map[string]string{"name": "shared"})
			want(t, rb.Do(http.MethodGet, "/api/v1/health", nil, k.headers()...), 200, `{"status":"ok","database":"ok","redis":"ok",`+
				`"principal":{"type":"api_key","id":"`+k.ID+`","organization_id":"`+k.OrgID+`"}}`)
			start := time.Now()
			want(t, ra.Do(http.MethodDelete, "/api/v1/api-keys/"+k.ID, nil, actingIn(u)...), 204, "")
			want401Key(t, ra.Do(http.MethodGet, "/api/v1/health", nil, k.headers()...))
			eventually(t, 2*time.Second, 10*time.Millisecond, "replica B refuses the revoked key", func() bool {
				return rb.Do(http.MethodGet, "/api/v1/health", nil, k.headers()...).Status == http.StatusUnauthorized
			})
			if d := time.Since(start); d >= cached.APIKeyTTL {
				t.Fatalf("took %s, not faster than the TTL", d)
			}
		})
	}
}
