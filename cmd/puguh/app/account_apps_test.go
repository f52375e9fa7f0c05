package app_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
)

var (
	newSecretInput = regexp.MustCompile(`id="new-secret" type="text" readonly value="([^"]+)"`)
	createdClient  = regexp.MustCompile(`id="created-client-id">([^<]+)<`)
)

// introspectAs calls /oauth/introspect authenticated as the client; 200 means
// the token endpoint accepts the secret, 401 that it refuses it.
func introspectAs(t *testing.T, e *apptest.Env, clientID, secret string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.URL+"/oauth/introspect", strings.NewReader("token=not-a-token"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// An admin registers an application: bad redirect URIs get the REST
// validator's message next to the field; a good one shows the client ID and
// the secret once (201, no redirect). Rotating shows a new secret once and
// the old one stops working at once.
func TestAccountApplications(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	owner := e.NewUser()
	b := newBrowser(t, e)
	signIn(t, b, owner.Email, owner.Password)

	p := postForm(t, b, "/account/applications", "/account/applications", url.Values{"name": {"Acme"}, "type": {"confidential"},
		"redirect_uris": {"http://app.example.com/callback"}})
	if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, `id="app-redirects-error"`) || newSecretInput.MatchString(p.Body) {
		t.Fatalf("plain-http redirect URI: %d\n%.2000s", p.Status, p.Body)
	}
	p = postForm(t, b, "/account/applications", "/account/applications", url.Values{"name": {"Acme"}, "type": {"confidential"},
		"redirect_uris": {"https://app.example.com/callback\n\nhttp://127.0.0.1:8765/cb"}})
	secret, client := newSecretInput.FindStringSubmatch(p.Body), createdClient.FindStringSubmatch(p.Body)
	if p.Status != http.StatusCreated || p.Location != nil || secret == nil || client == nil || p.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("create application: %d %v\n%.2000s", p.Status, p.Location, p.Body)
	}
	if got := introspectAs(t, e, client[1], secret[1]); got != http.StatusOK {
		t.Fatalf("new secret at /oauth/introspect: %d, want 200", got)
	}
	detail := b.get("/account/applications/" + client[1])
	if detail.Status != http.StatusOK || strings.Contains(detail.Body, secret[1]) || !strings.Contains(detail.Body, "http://127.0.0.1:8765/cb") {
		t.Fatalf("application page: %d (secret shown again: %v)", detail.Status, strings.Contains(detail.Body, secret[1]))
	}
	p = postForm(t, b, "/account/applications/"+client[1], "/account/applications/"+client[1]+"/secret", url.Values{})
	rotated := newSecretInput.FindStringSubmatch(p.Body)
	if p.Status != http.StatusOK || rotated == nil || rotated[1] == secret[1] {
		t.Fatalf("rotate: %d", p.Status)
	}
	if got := introspectAs(t, e, client[1], secret[1]); got != http.StatusUnauthorized {
		t.Errorf("old secret after rotation: %d, want 401", got)
	}
	if got := introspectAs(t, e, client[1], rotated[1]); got != http.StatusOK {
		t.Errorf("rotated secret: %d, want 200", got)
	}
	p = postForm(t, b, "/account/applications/"+client[1], "/account/applications/"+client[1], url.Values{"name": {"Acme 2"},
		"redirect_uris": {"https://app.example.com/cb2"}, "grant_types": {"authorization_code", "refresh_token"}, "scopes": {"openid offline_access"}})
	if p.Status != http.StatusSeeOther {
		t.Fatalf("update: %d %.1500s", p.Status, p.Body)
	}
	if d := b.get(p.Location.String()); !strings.Contains(d.Body, "https://app.example.com/cb2") || !strings.Contains(d.Body, "The application was saved.") {
		t.Errorf("after update:\n%.2000s", d.Body)
	}
	for _, s := range []string{secret[1], rotated[1]} {
		if strings.Contains(e.Logs(), s) {
			t.Error("a client secret is in the logs")
		}
	}
}
