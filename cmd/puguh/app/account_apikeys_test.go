package app_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
)

var newKeyInput = regexp.MustCompile(`id="new-key" type="text" readonly value="([^"]+)"`)

// The new key is in the body of the creating POST only: no redirect carries
// it, the response is no-store, the list never shows it again, the logs never
// hold it, and it works until revoked through the confirmation step.
func TestAccountAPIKeyShownOnce(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, e *apptest.Env) {
		u := e.NewUser()
		b := newBrowser(t, e)
		signIn(t, b, u.Email, u.Password)
		p := postForm(t, b, "/account/api-keys", "/account/api-keys", url.Values{"name": {"deploys"}, "expiry": {"30"}, "role": {"member"}})
		if p.Status != http.StatusCreated || p.Location != nil {
			t.Fatalf("create key: %d Location %v, want 201 and no redirect", p.Status, p.Location)
		}
		if p.Header.Get("Cache-Control") != "no-store" || !strings.Contains(p.Header.Get("Content-Security-Policy"), "script-src 'self'") {
			t.Errorf("key page headers: %v", p.Header)
		}
		m := newKeyInput.FindStringSubmatch(p.Body)
		if m == nil || !strings.HasPrefix(m[1], "pgh_") {
			t.Fatalf("no key in the page:\n%.3000s", p.Body)
		}
		key := m[1]
		if !strings.Contains(p.Body, "shown only once") {
			t.Error("no shown-once warning")
		}
		if list := b.get("/account/api-keys"); list.Status != http.StatusOK || strings.Contains(list.Body, key) || !strings.Contains(list.Body, "deploys") {
			t.Errorf("the list after creating: %d, contains key %v", list.Status, strings.Contains(list.Body, key))
		}
		if r := e.Do(http.MethodGet, "/api/v1/iam/users/me", nil, "X-API-Key", key, "X-Organization-ID", u.OrganizationID); r.Status != http.StatusOK {
			t.Errorf("member key on /iam/users/me: %d %s", r.Status, r.Body)
		}
		// A member-role key lacks what members lack.
		if r := e.Do(http.MethodPost, "/api/v1/organizations/"+u.OrganizationID+"/members", map[string]string{"email": "x@example.com", "role": "viewer"},
			"X-API-Key", key, "X-Organization-ID", u.OrganizationID); r.Status != http.StatusForbidden ||
			strings.TrimSpace(string(r.Body)) != `{"detail":"Missing permission: organization.members.create"}` {
			t.Errorf("member key adding a member: %d %s, want 403 Missing permission: organization.members.create", r.Status, r.Body)
		}
		id := regexp.MustCompile(`href="/account/api-keys/([^/"]+)/revoke"`).FindStringSubmatch(b.get("/account/api-keys").Body)
		if id == nil {
			t.Fatal("no revoke link")
		}
		if c := b.get("/account/api-keys/" + id[1] + "/revoke"); c.Status != http.StatusOK || !strings.Contains(c.Body, "This cannot be undone") {
			t.Fatalf("confirmation page: %d", c.Status)
		}
		p = postForm(t, b, "/account/api-keys", "/account/api-keys/"+id[1]+"/revoke", url.Values{})
		if p.Status != http.StatusSeeOther || p.Location.String() != e.URL+"/account/api-keys?done=revoked" {
			t.Fatalf("revoke: %d %v", p.Status, p.Location)
		}
		if r := e.Do(http.MethodGet, "/api/v1/health", nil, "X-API-Key", key, "X-Organization-ID", u.OrganizationID); r.Status != http.StatusUnauthorized ||
			strings.TrimSpace(string(r.Body)) != `{"detail":"Invalid API key"}` {
			t.Errorf("revoked key: %d %s, want 401 Invalid API key", r.Status, r.Body)
		}
		if p := postForm(t, b, "/account/api-keys", "/account/api-keys/"+id[1]+"/revoke", url.Values{}); p.Status != http.StatusNotFound ||
			!strings.Contains(p.Body, "API key not found") {
			t.Errorf("second revoke: %d %.300s, want 404 API key not found", p.Status, p.Body)
		}
		if strings.Contains(e.Logs(), key) {
			t.Error("the key is in the server logs")
		}
	})
}

// A key never gets a role above its creator's: a member asking for an admin
// key gets the form back with the reason, and no key.
func TestAccountAPIKeyRoleCeiling(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	owner, member := e.NewUser(), e.NewUser()
	addMember(t, e, owner, member, "member")
	b := newBrowser(t, e)
	signIn(t, b, member.Email, member.Password)
	postForm(t, b, "/account", "/account/organization", url.Values{"organization_id": {owner.OrganizationID}})
	p := postForm(t, b, "/account/api-keys", "/account/api-keys", url.Values{"name": {"sneaky"}, "expiry": {"30"}, "role": {"admin"}})
	if p.Status != http.StatusForbidden || newKeyInput.MatchString(p.Body) || !strings.Contains(p.Body, `id="role-error"`) {
		t.Fatalf("member creating an admin key: %d\n%.2000s", p.Status, p.Body)
	}
	if strings.Contains(p.Body, `<option value="admin"`) {
		t.Error("the role select offers admin to a member")
	}
}
