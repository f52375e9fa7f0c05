package rest_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
)

// TestAPIKeyRotation: "rotate production keys quarterly, immediately if
// compromised". A rotation answers a new key with the old one's name, role
// and permissions; the old key works until the overlap ends, then gets the
// same 401 as any bad key; the list shows both, then only the new one.
func TestAPIKeyRotation(t *testing.T) {
	forEachDeployment(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		u := e.NewUser()
		old := newAPIKey(t, e, u, map[string]any{"name": "CI key", "role": "viewer"})
		r := e.Do(http.MethodPost, "/api/v1/api-keys/"+old.ID+"/rotate", map[string]string{"overlap": "2s"}, actingIn(u)...)
		if r.Status != http.StatusCreated {
			t.Fatalf("rotate: %d %s", r.Status, r.Body)
		}
		m := object(t, r, append(apiKeyFields, "key", "replaces", "replaced_key_ends_at")...)
		newKey := apiKey{ID: wantUUID(t, "id", m["id"]), Key: m["key"].(string), OrgID: u.OrganizationID}
		if m["name"] != "CI key" || m["role"] != "viewer" || m["replaces"] != old.ID || newKey.ID == old.ID ||
			!strings.HasPrefix(newKey.Key, "pgh_") || newKey.Key == old.Key || m["age_days"] != float64(0) || m["rotation_due"] != false {
			t.Fatalf("rotated key: %s", r.Body)
		}
		ends, err := time.Parse(time.RFC3339Nano, m["replaced_key_ends_at"].(string))
		if err != nil || time.Until(ends) > 2*time.Second || time.Until(ends) < 0 {
			t.Fatalf("replaced_key_ends_at %v (%v), want within 2s from now", m["replaced_key_ends_at"], err)
		}
		// Both work during the overlap, and the list shows both.
		for _, k := range []apiKey{old, newKey} {
			if r := meKey(e, k.headers()...); r.Status != http.StatusOK {
				t.Fatalf("during the overlap: %d %s", r.Status, r.Body)
			}
		}
		keys := listKeys(t, e, u)
		if len(keys) != 2 || keys[old.ID]["replaced_by"] != newKey.ID || keys[old.ID]["rotation_ends_at"] == nil ||
			keys[newKey.ID]["rotation_ends_at"] != nil {
			t.Fatalf("list during the overlap: %v", keys)
		}
		if perms := keys[newKey.ID]["permissions"]; len(perms.([]any)) != len(keys[old.ID]["permissions"].([]any)) {
			t.Fatalf("permissions differ: %v", keys)
		}
		// Then the old key stops, here and in the list; the new one works on.
		time.Sleep(time.Until(ends) + 100*time.Millisecond)
		want401Key(t, meKey(e, old.headers()...))
		if r := meKey(e, newKey.headers()...); r.Status != http.StatusOK {
			t.Fatalf("new key after the overlap: %d %s", r.Status, r.Body)
		}
		if keys := listKeys(t, e, u); len(keys) != 1 || keys[newKey.ID] == nil {
			t.Fatalf("list after the overlap: %v", keys)
		}
	})
}

// TestAPIKeyRotationCompromised: an overlap of "0s" stops the old key at
// once, even with its record cached; no body means the default 24 hours.
func TestAPIKeyRotationCompromised(t *testing.T) {
	forEachDeployment(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		u := e.NewUser()
		old := newAPIKey(t, e, u, map[string]any{"name": "leaked"})
		if r := meKey(e, old.headers()...); r.Status != http.StatusOK { // caches the key
			t.Fatalf("me: %d %s", r.Status, r.Body)
		}
		r := e.Do(http.MethodPost, "/api/v1/api-keys/"+old.ID+"/rotate", `{"overlap":"0s"}`, actingIn(u)...)
		if r.Status != http.StatusCreated {
			t.Fatalf("rotate: %d %s", r.Status, r.Body)
		}
		want401Key(t, meKey(e, old.headers()...))

		other := newAPIKey(t, e, u, map[string]any{"name": "quarterly"})
		r = e.Do(http.MethodPost, "/api/v1/api-keys/"+other.ID+"/rotate", nil, actingIn(u)...)
		if r.Status != http.StatusCreated {
			t.Fatalf("rotate without a body: %d %s", r.Status, r.Body)
		}
		var got struct {
			Ends time.Time `json:"replaced_key_ends_at"`
		}
		r.JSON(t, &got)
		if d := time.Until(got.Ends); d < 23*time.Hour+59*time.Minute || d > 24*time.Hour {
			t.Fatalf("default overlap: ends in %s, want 24h", d)
		}
	})
}

// TestAPIKeyRotationErrors: every bad rotation request, with exact bodies.
func TestAPIKeyRotationErrors(t *testing.T) {
	e := start(t, apptest.Options{})
	u := e.NewUser()
	k := newAPIKey(t, e, u, map[string]any{"name": "k"})
	path := "/api/v1/api-keys/" + k.ID + "/rotate"
	for _, tc := range []struct {
		name, body string
		status     int
		want       string
	}{
		{"too long", `{"overlap":"169h"}`, 422, invalid("ensure this value is at most 168h (7 days)", "value_error.duration.max", "body", "overlap")},
		{"negative", `{"overlap":"-1s"}`, 422, invalid("ensure this value is at least 0s", "value_error.duration.negative", "body", "overlap")},
		{"not a duration", `{"overlap":"one day"}`, 422, invalid("invalid duration: use a number with a unit, e.g. 24h, 90m or 0s", "value_error.duration", "body", "overlap")},
		{"unknown field", `{"overlap":"1h","grace":"1h"}`, 422, ""},
		{"not JSON", `{`, 422, bodyJSONDecode},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := at(t, e).Do(http.MethodPost, path, tc.body, actingIn(u)...)
			if tc.want == "" {
				if r.Status != tc.status {
					t.Fatalf("status %d, want %d: %s", r.Status, tc.status, r.Body)
				}
				return
			}
			want(t, r, tc.status, tc.want)
		})
	}
	want(t, e.Do(http.MethodPost, path, "overlap=1h", append(actingIn(u), "Content-Type", "text/plain")...), 415, body415)
	want(t, e.Do(http.MethodPost, "/api/v1/api-keys/not-a-uuid/rotate", nil, actingIn(u)...), 422,
		invalid("value is not a valid uuid", "type_error.uuid", "path", "id"))
	want(t, e.Do(http.MethodPost, "/api/v1/api-keys/00000000-0000-4000-8000-000000000000/rotate", nil, actingIn(u)...), 404,
		`{"detail":"API key not found"}`)
	want401(t, e.Do(http.MethodPost, path, nil))
	// Rotated once: the second rotation is refused; the revoked key is gone.
	if r := e.Do(http.MethodPost, path, nil, actingIn(u)...); r.Status != http.StatusCreated {
		t.Fatalf("rotate: %d %s", r.Status, r.Body)
	}
	want(t, e.Do(http.MethodPost, path, nil, actingIn(u)...), 409,
		`{"detail":"API key has already been rotated: rotate its replacement"}`)
	revoked := newAPIKey(t, e, u, map[string]any{"name": "revoked"})
	want(t, e.Do(http.MethodDelete, "/api/v1/api-keys/"+revoked.ID, nil, actingIn(u)...), 204, "")
	want(t, e.Do(http.MethodPost, "/api/v1/api-keys/"+revoked.ID+"/rotate", nil, actingIn(u)...), 404,
		`{"detail":"API key not found"}`)
	// A viewer's key may not rotate (it cannot create keys).
	viewer := newAPIKey(t, e, u, map[string]any{"name": "viewer", "role": "viewer"})
	want(t, e.Do(http.MethodPost, "/api/v1/api-keys/"+viewer.ID+"/rotate", nil, viewer.headers()...), 403,
		missingPermission("api_keys.create"))
}

// TestAPIKeyAgeFlag: the list flags keys 90 days old or more.
func TestAPIKeyAgeFlag(t *testing.T) {
	e := start(t, apptest.Options{})
	u := e.NewUser()
	oldKey := newAPIKey(t, e, u, map[string]any{"name": "old"})
	young := newAPIKey(t, e, u, map[string]any{"name": "young"})
	exec(t, e, "UPDATE api_keys SET created_at = ? WHERE id = ?", time.Now().UTC().Add(-91*24*time.Hour), oldKey.ID)
	exec(t, e, "UPDATE api_keys SET created_at = ? WHERE id = ?", time.Now().UTC().Add(-89*24*time.Hour), young.ID)
	keys := listKeys(t, e, u)
	if keys[oldKey.ID]["rotation_due"] != true || keys[oldKey.ID]["age_days"] != float64(91) ||
		keys[young.ID]["rotation_due"] != false || keys[young.ID]["age_days"] != float64(89) {
		t.Fatalf("age flags: %v", keys)
	}
}

// listKeys lists u's organization's keys by id.
func listKeys(t *testing.T, e *apptest.Env, u *apptest.User) map[string]map[string]any {
	t.Helper()
	r := e.Do(http.MethodGet, "/api/v1/api-keys", nil, actingIn(u)...)
	var list struct {
		Items []map[string]any `json:"items"`
	}
	if r.Status != http.StatusOK {
		t.Fatalf("list: %d %s", r.Status, r.Body)
	}
	r.JSON(t, &list)
	out := map[string]map[string]any{}
	for _, k := range list.Items {
		out[k["id"].(string)] = k
	}
	return out
}

// TestServiceAccountSecretRotation: the previous secret works at the token
// endpoint until the overlap ends, then is invalid_client; the new one
// works from the start; "0s" ends the previous one at once.
func TestServiceAccountSecretRotation(t *testing.T) {
	forEachDeployment(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		u := e.NewUser()
		sa := newServiceAccount(t, e, u, "deployer", "viewer")
		clientCredentialsToken(t, e, sa) // caches the account
		r := e.Do(http.MethodPost, "/api/v1/service-accounts/"+sa.ID+"/rotate-secret", map[string]string{"overlap": "2s"}, actingIn(u)...)
		if r.Status != http.StatusOK {
			t.Fatalf("rotate: %d %s", r.Status, r.Body)
		}
		m := object(t, r, "client_id", "client_secret", "previous_secret_ends_at")
		rotated := serviceAccount{ID: sa.ID, ClientID: sa.ClientID, ClientSecret: m["client_secret"].(string)}
		if m["client_id"] != sa.ClientID || !strings.HasPrefix(rotated.ClientSecret, "pghs_") || rotated.ClientSecret == sa.ClientSecret {
			t.Fatalf("rotated: %s", r.Body)
		}
		ends, _ := time.Parse(time.RFC3339Nano, m["previous_secret_ends_at"].(string))
		clientCredentialsToken(t, e, sa)
		clientCredentialsToken(t, e, rotated)
		got := e.Do(http.MethodGet, "/api/v1/service-accounts/"+sa.ID, nil, actingIn(u)...)
		account := object(t, got, "id", "name", "role", "client_id", "created_by", "created_at", "secret_created_at",
			"previous_secret_ends_at", "rotation_due")
		if account["previous_secret_ends_at"] == nil || account["secret_created_at"] == account["created_at"] {
			t.Fatalf("account during the overlap: %s", got.Body)
		}
		time.Sleep(time.Until(ends) + 100*time.Millisecond)
		wantInvalidClient(t, e, sa)
		clientCredentialsToken(t, e, rotated)
		got = e.Do(http.MethodGet, "/api/v1/service-accounts/"+sa.ID, nil, actingIn(u)...)
		if account := object(t, got, "id", "name", "role", "client_id", "created_by", "created_at", "secret_created_at",
			"previous_secret_ends_at", "rotation_due"); account["previous_secret_ends_at"] != nil {
			t.Fatalf("account after the overlap: %s", got.Body)
		}

		// Compromised: at once.
		r = e.Do(http.MethodPost, "/api/v1/service-accounts/"+sa.ID+"/rotate-secret", `{"overlap":"0s"}`, actingIn(u)...)
		if r.Status != http.StatusOK {
			t.Fatalf("rotate: %d %s", r.Status, r.Body)
		}
		wantInvalidClient(t, e, rotated)
	})
}

// TestServiceAccountSecretRotationErrors: bad requests, with exact bodies.
func TestServiceAccountSecretRotationErrors(t *testing.T) {
	e := start(t, apptest.Options{})
	u := e.NewUser()
	sa := newServiceAccount(t, e, u, "deployer", "viewer")
	path := "/api/v1/service-accounts/" + sa.ID + "/rotate-secret"
	want(t, e.Do(http.MethodPost, path, `{"overlap":"8d"}`, actingIn(u)...), 422,
		invalid("invalid duration: use a number with a unit, e.g. 24h, 90m or 0s", "value_error.duration", "body", "overlap"))
	want(t, e.Do(http.MethodPost, path, `{"overlap":"200h"}`, actingIn(u)...), 422,
		invalid("ensure this value is at most 168h (7 days)", "value_error.duration.max", "body", "overlap"))
	want(t, e.Do(http.MethodPost, "/api/v1/service-accounts/00000000-0000-4000-8000-000000000000/rotate-secret", nil, actingIn(u)...),
		404, `{"detail":"Service account not found"}`)
	viewer := joinAs(t, e, u, "viewer")
	want(t, e.Do(http.MethodPost, path, nil, actingIn(viewer)...), 403, missingPermission("service_accounts.delete"))
	want401(t, e.Do(http.MethodPost, path, nil))
}

// wantInvalidClient checks that sa's credentials are refused at the token endpoint.
func wantInvalidClient(t *testing.T, e *apptest.Env, sa serviceAccount) {
	t.Helper()
	cc := clientcredentials.Config{ClientID: sa.ClientID, ClientSecret: sa.ClientSecret, TokenURL: e.URL + "/oauth/token"}
	_, err := cc.Token(context.Background())
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.Response.StatusCode != http.StatusUnauthorized || re.ErrorCode != "invalid_client" {
		t.Fatalf("old secret: %v, want invalid_client 401", err)
	}
}

// meKey calls /iam/users/me with an API key only.
func meKey(e *apptest.Env, headers ...string) *apptest.Response {
	return e.Do(http.MethodGet, "/api/v1/iam/users/me", nil, headers...)
}
