package app_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
)

var (
	createdServiceClient = regexp.MustCompile(`id="created-client-id">([^<]+)<`)
	serviceAccountDelete = regexp.MustCompile(`href="/account/service-accounts/([^/"]+)/delete"`)
	pageFieldError       = regexp.MustCompile(`<p class="field-error" id="sa-([a-z]+)-error">([^<]*)</p>`)
)

// clientCredentials asks /oauth/token for a service account's token; 200
// means the secret works, 401 that it does not.
func clientCredentials(t *testing.T, e *apptest.Env, clientID, secret string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.URL+"/oauth/token", strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// The Service accounts tab, with the REST API's rules: create shows the
// client secret once (201, no redirect) and it works at /oauth/token; bad
// input and a role above the user's get the REST messages next to the
// fields; rotating the secret shows the new one once, the old one keeps
// working for the chosen overlap ("stops now" ends it at once) and a bad
// overlap is refused as REST refuses it; delete asks first, then the secret
// stops working. Every form needs its CSRF token, and a plain member is
// refused every page and form.
func TestAccountServiceAccounts(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	owner, admin, member := e.NewUser(), e.NewUser(), e.NewUser()
	addMember(t, e, owner, admin, "admin")
	addMember(t, e, owner, member, "member")
	const tab = "/account/service-accounts"
	anonymous := newBrowser(t, e)
	if p := anonymous.get(tab); p.Status != http.StatusSeeOther || p.Location == nil || p.Location.Path != "/login" ||
		p.Location.Query().Get("return_to") != tab {
		t.Fatalf("signed out: %d %v, want 303 to sign in", p.Status, p.Location)
	}
	b := newBrowser(t, e)
	signIn(t, b, owner.Email, owner.Password)

	p := b.get("/account")
	if !strings.Contains(p.Body, `id="tab-service-accounts"`) {
		t.Fatalf("no Service accounts tab for an owner")
	}
	p = b.get(tab)
	if p.Status != http.StatusOK || !strings.Contains(p.Body, `id="no-service-accounts"`) {
		t.Fatalf("empty tab: %d\n%.2000s", p.Status, p.Body)
	}

	// Bad input: the REST API's words.
	for _, c := range []struct {
		name   string
		fields url.Values
		status int
		field  string
		want   string
	}{
		{"no name", url.Values{"name": {"  "}, "role": {"member"}}, http.StatusUnprocessableEntity, "name", restCreateError(t, e, owner, map[string]string{"name": "  ", "role": "member"})},
		{"unknown role", url.Values{"name": {"sync"}, "role": {"superuser"}}, http.StatusUnprocessableEntity, "role", restCreateError(t, e, owner, map[string]string{"name": "sync", "role": "superuser"})},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := postForm(t, b, tab, tab, c.fields)
			m := pageFieldError.FindStringSubmatch(p.Body)
			if p.Status != c.status || m == nil || m[1] != c.field || html.UnescapeString(m[2]) != c.want {
				t.Fatalf("%d %v, want %d with %q at %s", p.Status, m, c.status, c.want, c.field)
			}
		})
	}
	// An admin cannot create an owner-role account: REST's 403 words, at the role.
	ab := newBrowser(t, e)
	signIn(t, ab, admin.Email, admin.Password)
	if p := postForm(t, ab, "/account", "/account/organization", url.Values{"organization_id": {owner.OrganizationID}}); p.Status != http.StatusSeeOther {
		t.Fatalf("switch organization: %d", p.Status)
	}
	p = postForm(t, ab, tab, tab, url.Values{"name": {"root"}, "role": {"owner"}})
	if m := pageFieldError.FindStringSubmatch(p.Body); p.Status != http.StatusForbidden || m == nil || m[1] != "role" ||
		!strings.Contains(m[2], "Cannot manage the owner role") {
		t.Fatalf("admin creating an owner account: %d %v", p.Status, m)
	}

	// Create: the secret once.
	p = postForm(t, b, tab, tab, url.Values{"name": {"billing sync"}, "role": {"member"}})
	secret, client := newSecretInput.FindStringSubmatch(p.Body), createdServiceClient.FindStringSubmatch(p.Body)
	if p.Status != http.StatusCreated || p.Location != nil || secret == nil || client == nil || p.Header.Get("Cache-Control") != "no-store" ||
		!strings.Contains(p.Header.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Fatalf("create: %d %v\n%.3000s", p.Status, p.Location, p.Body)
	}
	if got := clientCredentials(t, e, client[1], secret[1]); got != http.StatusOK {
		t.Fatalf("new secret at /oauth/token: %d", got)
	}
	list := b.get(tab)
	id := serviceAccountDelete.FindStringSubmatch(list.Body)
	if id == nil || strings.Contains(list.Body, secret[1]) || !strings.Contains(list.Body, "billing sync") || !strings.Contains(list.Body, "0 days") {
		t.Fatalf("list after create:\n%.4000s", list.Body)
	}
	rotate := tab + "/" + id[1] + "/rotate-secret"

	// Rotate with an overlap: both secrets work meanwhile.
	p = postForm(t, b, tab, rotate, url.Values{"overlap": {"1h"}})
	rotated := newSecretInput.FindStringSubmatch(p.Body)
	if p.Status != http.StatusOK || rotated == nil || rotated[1] == secret[1] || !strings.Contains(p.Body, "The previous secret keeps working until") {
		t.Fatalf("rotate: %d\n%.3000s", p.Status, p.Body)
	}
	for _, s := range []string{secret[1], rotated[1]} {
		if got := clientCredentials(t, e, client[1], s); got != http.StatusOK {
			t.Fatalf("during the overlap: %d", got)
		}
	}
	if list := b.get(tab); !strings.Contains(list.Body, "works until") {
		t.Errorf("the list does not show the previous secret's end:\n%.4000s", list.Body)
	}
	// A bad overlap: REST's status and words.
	r := e.Do(http.MethodPost, "/api/v1/service-accounts/"+id[1]+"/rotate-secret", map[string]string{"overlap": "9d"}, owner.Bearer()...)
	var problem struct {
		Detail []struct{ Msg string } `json:"detail"`
	}
	r.JSON(t, &problem)
	if p := postForm(t, b, tab, rotate, url.Values{"overlap": {"9d"}}); r.Status != http.StatusUnprocessableEntity ||
		p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "overlap: "+problem.Detail[0].Msg) {
		t.Fatalf("bad overlap: REST %d, page %d\n%.2000s", r.Status, p.Status, p.Body)
	}
	// Compromised: "stops now".
	p = postForm(t, b, tab, rotate, url.Values{"overlap": {"0s"}})
	now := newSecretInput.FindStringSubmatch(p.Body)
	if p.Status != http.StatusOK || now == nil || !strings.Contains(p.Body, "The previous secret has stopped working.") {
		t.Fatalf("rotate now: %d\n%.3000s", p.Status, p.Body)
	}
	for s, want := range map[string]int{secret[1]: http.StatusUnauthorized, rotated[1]: http.StatusUnauthorized, now[1]: http.StatusOK} {
		if got := clientCredentials(t, e, client[1], s); got != want {
			t.Errorf("after rotating with 0s: %d, want %d", got, want)
		}
	}

	// CSRF: every form refuses a post without the token.
	for _, path := range []string{tab, rotate, tab + "/" + id[1] + "/delete"} {
		if p := b.post(path, url.Values{"name": {"x"}, "role": {"member"}, "overlap": {"1h"}}); p.Status != http.StatusForbidden ||
			!strings.Contains(p.Body, "Request refused") {
			t.Errorf("POST %s without CSRF: %d", path, p.Status)
		}
	}

	// A plain member: no tab, every page and form refused.
	mb := newBrowser(t, e)
	signIn(t, mb, member.Email, member.Password)
	if p := postForm(t, mb, "/account", "/account/organization", url.Values{"organization_id": {owner.OrganizationID}}); p.Status != http.StatusSeeOther {
		t.Fatalf("switch organization: %d", p.Status)
	}
	if p := mb.get("/account"); strings.Contains(p.Body, `id="tab-service-accounts"`) {
		t.Errorf("a member sees the Service accounts tab")
	}
	for _, c := range []struct{ method, path, perm string }{
		{"GET", tab, "service_accounts.create"},
		{"GET", tab + "/" + id[1] + "/delete", "service_accounts.delete"},
		{"POST", tab, "service_accounts.create"},
		{"POST", rotate, "service_accounts.delete"},
		{"POST", tab + "/" + id[1] + "/delete", "service_accounts.delete"},
	} {
		var p *page
		if c.method == "GET" {
			p = mb.get(c.path)
		} else {
			p = postForm(t, mb, "/account", c.path, url.Values{"name": {"x"}, "role": {"viewer"}, "overlap": {"0s"}})
		}
		if p.Status != http.StatusForbidden || !strings.Contains(p.Body, "Missing permission: "+c.perm) {
			t.Errorf("member %s %s: %d, want 403 naming %s", c.method, c.path, p.Status, c.perm)
		}
	}
	if got := clientCredentials(t, e, client[1], now[1]); got != http.StatusOK {
		t.Fatalf("the member's refused posts changed the account: %d", got)
	}

	// Delete: confirm first, then the secret stops working.
	confirm := b.get(tab + "/" + id[1] + "/delete")
	if confirm.Status != http.StatusOK || !strings.Contains(confirm.Body, "billing sync") {
		t.Fatalf("confirm page: %d", confirm.Status)
	}
	p = postForm(t, b, tab+"/"+id[1]+"/delete", tab+"/"+id[1]+"/delete", url.Values{})
	if p.Status != http.StatusSeeOther || p.Location == nil || p.Location.Path != tab {
		t.Fatalf("delete: %d %v", p.Status, p.Location)
	}
	if d := b.get(p.Location.String()); !strings.Contains(d.Body, "The service account was deleted.") || !strings.Contains(d.Body, `id="no-service-accounts"`) {
		t.Errorf("after delete:\n%.3000s", d.Body)
	}
	if got := clientCredentials(t, e, client[1], now[1]); got != http.StatusUnauthorized {
		t.Errorf("deleted account's secret: %d, want 401", got)
	}
	if p := postForm(t, b, tab, tab+"/"+id[1]+"/delete", url.Values{}); p.Status != http.StatusNotFound {
		t.Errorf("deleting again: %d, want 404", p.Status)
	}
	for _, s := range []string{secret[1], rotated[1], now[1]} {
		if strings.Contains(e.Logs(), s) {
			t.Error("a client secret is in the logs")
		}
	}
}

// restCreateError is the first 422 message of POST /api/v1/service-accounts with body.
func restCreateError(t *testing.T, e *apptest.Env, owner *apptest.User, body map[string]string) string {
	t.Helper()
	r := e.Do(http.MethodPost, "/api/v1/service-accounts", body, owner.Bearer()...)
	var problem struct {
		Detail []struct{ Msg string } `json:"detail"`
	}
	r.JSON(t, &problem)
	if r.Status != http.StatusUnprocessableEntity || len(problem.Detail) == 0 {
		t.Fatalf("REST create %v: %d %s", body, r.Status, r.Body)
	}
	return problem.Detail[0].Msg
}
