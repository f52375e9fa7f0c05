package app_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
	"github.com/arsaka/puguh/storage/cached"
	"github.com/arsaka/puguh/storage/sqlstore/sqltest"
)

// ccToken asks /oauth/token for a client_credentials token with HTTP Basic.
func ccToken(t *testing.T, e *apptest.Env, clientID, secret string) *apptest.Response {
	t.Helper()
	return e.Do(http.MethodPost, "/oauth/token", "grant_type=client_credentials",
		"Content-Type", "application/x-www-form-urlencoded", "Authorization", basicAuth(clientID, secret))
}

// ccApp registers a confidential client_credentials application through the
// REST API and returns its id and secret.
func ccApp(t *testing.T, e *apptest.Env, user *apptest.User) (id, secret string) {
	t.Helper()
	r := e.Do(http.MethodPost, "/api/v1/applications", map[string]any{"name": "cc",
		"grant_types": []string{"client_credentials"}, "token_endpoint_auth_method": "client_secret_basic"}, user.Bearer()...)
	if r.Status != http.StatusCreated {
		t.Fatalf("create application: %d %s", r.Status, r.Body)
	}
	var body struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	r.JSON(t, &body)
	return body.ClientID, body.ClientSecret
}

// invalidClientBody is what fosite answers today (before the client cache)
// for an unknown client and for a wrong secret alike; the cache must not
// change it.
const invalidClientBody = `{"error":"invalid_client","error_description":"Client authentication failed (e.g., unknown client, no client authentication included, or unsupported authentication method)."}`

// A client deleted, its secret rotated, or a service account deleted is
// refused by /oauth/token at once, although the token endpoint's client
// lookups are cached: the first request warms the cache, so a refusal proves
// the write invalidated it.
func TestClientCacheInvalidation(t *testing.T) {
	refused := func(t *testing.T, r *apptest.Response, want string) {
		t.Helper()
		if r.Status != http.StatusUnauthorized || string(r.Body) != want {
			t.Fatalf("got %d %s\nwant 401 %s", r.Status, r.Body, want)
		}
	}
	ok := func(t *testing.T, r *apptest.Response, what string) {
		t.Helper()
		if r.Status != http.StatusOK {
			t.Fatalf("%s: %d %s", what, r.Status, r.Body)
		}
	}
	apptest.ForEachBackend(t, func(t *testing.T, e *apptest.Env) {
		user := e.NewUser()
		t.Run("deleted application", func(t *testing.T) {
			id, secret := ccApp(t, e, user)
			ok(t, ccToken(t, e, id, secret), "before delete")
			ok(t, ccToken(t, e, id, secret), "cached")
			if r := e.Do(http.MethodDelete, "/api/v1/applications/"+id, nil, user.Bearer()...); r.Status != http.StatusNoContent {
				t.Fatalf("delete application: %d %s", r.Status, r.Body)
			}
			refused(t, ccToken(t, e, id, secret), invalidClientBody)
		})
		t.Run("rotated secret", func(t *testing.T) {
			id, secret := ccApp(t, e, user)
			ok(t, ccToken(t, e, id, secret), "before rotation")
			r := e.Do(http.MethodPost, "/api/v1/applications/"+id+"/secret", nil, user.Bearer()...)
			if r.Status != http.StatusOK {
				t.Fatalf("rotate: %d %s", r.Status, r.Body)
			}
			var rotated struct {
				ClientSecret string `json:"client_secret"`
			}
			r.JSON(t, &rotated)
			refused(t, ccToken(t, e, id, secret), invalidClientBody)
			ok(t, ccToken(t, e, id, rotated.ClientSecret), "new secret")
		})
		t.Run("grant type removed", func(t *testing.T) {
			id, secret := ccApp(t, e, user)
			ok(t, ccToken(t, e, id, secret), "before update")
			patch := map[string]any{"grant_types": []string{"authorization_code"}, "response_types": []string{"code"},
				"redirect_uris": []string{"https://app.example.com/cb"}}
			if r := e.Do(http.MethodPatch, "/api/v1/applications/"+id, patch, user.Bearer()...); r.Status != http.StatusOK {
				t.Fatalf("update: %d %s", r.Status, r.Body)
			}
			r := ccToken(t, e, id, secret)
			if r.Status != http.StatusBadRequest || !jsonHas(r.Body, "unauthorized_client") {
				t.Fatalf("client_credentials after the grant was removed: %d %s", r.Status, r.Body)
			}
		})
		t.Run("deleted service account", func(t *testing.T) {
			r := e.Do(http.MethodPost, "/api/v1/service-accounts", map[string]any{"name": "robot", "role": "member"}, user.Bearer()...)
			if r.Status != http.StatusCreated {
				t.Fatalf("create service account: %d %s", r.Status, r.Body)
			}
			var sa struct {
				ID           string `json:"id"`
				ClientID     string `json:"client_id"`
				ClientSecret string `json:"client_secret"`
			}
			r.JSON(t, &sa)
			ok(t, ccToken(t, e, sa.ClientID, sa.ClientSecret), "before delete")
			ok(t, ccToken(t, e, sa.ClientID, sa.ClientSecret), "cached")
			if r := e.Do(http.MethodDelete, "/api/v1/service-accounts/"+sa.ID, nil, user.Bearer()...); r.Status != http.StatusNoContent {
				t.Fatalf("delete service account: %d %s", r.Status, r.Body)
			}
			refused(t, ccToken(t, e, sa.ClientID, sa.ClientSecret), invalidClientBody)
		})
		t.Run("introspection after rotation", func(t *testing.T) {
			id, secret := ccApp(t, e, user)
			if got := introspectAs(t, e, id, secret); got != http.StatusOK {
				t.Fatalf("introspect before rotation: %d", got)
			}
			if r := e.Do(http.MethodPost, "/api/v1/applications/"+id+"/secret", nil, user.Bearer()...); r.Status != http.StatusOK {
				t.Fatalf("rotate: %d %s", r.Status, r.Body)
			}
			if got := introspectAs(t, e, id, secret); got != http.StatusUnauthorized {
				t.Fatalf("introspect with the old secret: %d, want 401", got)
			}
		})
	})
}

// With Redis, replica B, which has the client cached, refuses it within
// milliseconds of replica A deleting it or rotating its secret, far within the
// cache's TTL.
func TestClientCacheAcrossReplicas(t *testing.T) {
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			opts := apptest.Options{Backend: b, Redis: true}
			ra := apptest.Start(t, opts)
			opts.DatabaseURL = ra.DatabaseURL
			opts.Env = map[string]string{"PUGUH_ISSUER": ra.URL}
			rb := apptest.Start(t, opts)
			user := ra.NewUser()
			refusedOnB := func(what, id, secret string) {
				t.Helper()
				start := time.Now()
				for {
					r := ccToken(t, rb, id, secret)
					if r.Status == http.StatusUnauthorized && string(r.Body) == invalidClientBody {
						break
					}
					if time.Since(start) > 2*time.Second {
						t.Fatalf("%s: replica B still answers %d %s after 2s", what, r.Status, r.Body)
					}
					time.Sleep(10 * time.Millisecond)
				}
				if d := time.Since(start); d >= cached.ClientTTL {
					t.Fatalf("%s: took %s, not faster than the TTL", what, d)
				}
			}

			id, secret := ccApp(t, ra, user)
			for range 2 { // the second is a cache hit on B
				if r := ccToken(t, rb, id, secret); r.Status != http.StatusOK {
					t.Fatalf("token on replica B: %d %s", r.Status, r.Body)
				}
			}
			if r := ra.Do(http.MethodPost, "/api/v1/applications/"+id+"/secret", nil, user.Bearer()...); r.Status != http.StatusOK {
				t.Fatalf("rotate: %d %s", r.Status, r.Body)
			}
			refusedOnB("rotated secret", id, secret)

			id, secret = ccApp(t, ra, user)
			if r := ccToken(t, rb, id, secret); r.Status != http.StatusOK {
				t.Fatalf("token on replica B: %d %s", r.Status, r.Body)
			}
			if r := ra.Do(http.MethodDelete, "/api/v1/applications/"+id, nil, user.Bearer()...); r.Status != http.StatusNoContent {
				t.Fatalf("delete: %d %s", r.Status, r.Body)
			}
			refusedOnB("deleted application", id, secret)
		})
	}
}

func jsonHas(body []byte, code string) bool {
	var v struct {
		Error string `json:"error"`
	}
	return json.Unmarshal(body, &v) == nil && v.Error == code
}

// Without Redis a replica may serve an application from its cache after
// another replica changed it. An update must not undo that change: the
// store applies a write only to the version it was read at, and the stale
// replica retries from the database. PATCH on A (stale) of the name keeps B's
// new redirect URIs.
func TestApplicationUpdatesDoNotUndoEachOther(t *testing.T) {
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ra := apptest.Start(t, apptest.Options{Backend: b})
			rb := apptest.Start(t, apptest.Options{Backend: b, DatabaseURL: ra.DatabaseURL, Env: map[string]string{"PUGUH_ISSUER": ra.URL}})
			user := ra.NewUser()
			r := ra.Do(http.MethodPost, "/api/v1/applications", map[string]any{"name": "App", "redirect_uris": []string{"https://a.example/cb"}}, user.Bearer()...)
			if r.Status != http.StatusCreated {
				t.Fatalf("create: %d %s", r.Status, r.Body)
			}
			var app struct {
				ID           string   `json:"id"`
				Name         string   `json:"name"`
				RedirectURIs []string `json:"redirect_uris"`
			}
			r.JSON(t, &app)
			path := "/api/v1/applications/" + app.ID
			if r := ra.Do(http.MethodGet, path, nil, user.Bearer()...); r.Status != http.StatusOK { // A caches it
				t.Fatalf("get on A: %d", r.Status)
			}
			if r := rb.Do(http.MethodPatch, path, map[string]any{"redirect_uris": []string{"https://b.example/cb"}}, user.Bearer()...); r.Status != http.StatusOK {
				t.Fatalf("patch on B: %d %s", r.Status, r.Body)
			}
			r = ra.Do(http.MethodPatch, path, map[string]any{"name": "Renamed"}, user.Bearer()...)
			if r.Status != http.StatusOK {
				t.Fatalf("patch on A: %d %s", r.Status, r.Body)
			}
			r.JSON(t, &app)
			if app.Name != "Renamed" || len(app.RedirectURIs) != 1 || app.RedirectURIs[0] != "https://b.example/cb" {
				t.Fatalf("after both updates: %s; want the new name and B's redirect URI", r.Body)
			}
		})
	}
}
