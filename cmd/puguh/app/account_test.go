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

var csrfInput = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// csrfOf returns the CSRF token of a page's forms.
func csrfOf(t testing.TB, body string) string {
	t.Helper()
	m := csrfInput.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("page has no CSRF token:\n%.2000s", body)
	}
	return html.UnescapeString(m[1])
}

// signIn signs the browser in through /login and checks it lands on /account.
func signIn(t testing.TB, b *browser, email, password string) {
	t.Helper()
	form := b.get("/login")
	p := b.post("/login", url.Values{"csrf_token": {csrfOf(t, form.Body)}, "email": {email}, "password": {password}})
	if p.Status != http.StatusSeeOther || p.Location == nil || p.Location.Path != "/account" {
		t.Fatalf("sign-in: %d %v %.500s", p.Status, p.Location, p.Body)
	}
}

// postForm posts fields with the CSRF token of page (a GET of tokenFrom first).
func postForm(t testing.TB, b *browser, tokenFrom, path string, fields url.Values) *page {
	t.Helper()
	fields.Set("csrf_token", csrfOf(t, b.get(tokenFrom).Body))
	return b.post(path, fields)
}

// Every account page sends a browser without a session to sign in and back;
// no page or form is served to it.
func TestAccountPagesRequireSignIn(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	b := newBrowser(t, e)
	for _, path := range []string{"/account", "/account/api-keys", "/account/members", "/account/applications",
		"/account/applications/some-app", "/account/api-keys/some-key/revoke", "/account/members/some-user/remove"} {
		p := b.get(path)
		if p.Status != http.StatusSeeOther || p.Location == nil || p.Location.Path != "/login" || p.Location.Query().Get("return_to") != path {
			t.Errorf("GET %s: %d %v, want 303 to /login?return_to=%s", path, p.Status, p.Location, path)
		}
	}
	token := csrfOf(t, b.get("/login").Body)
	for _, path := range []string{"/account/profile", "/account/password", "/account/organization", "/account/sessions/end",
		"/account/api-keys", "/account/members", "/account/applications", "/account/applications/x/secret", "/account/email"} {
		p := b.post(path, url.Values{"csrf_token": {token}, "full_name": {"Mallory"}})
		if p.Status != http.StatusSeeOther || p.Location == nil || p.Location.Path != "/login" {
			t.Errorf("POST %s: %d %v, want 303 to /login", path, p.Status, p.Location)
		}
	}
}

// Form posts without this browser's CSRF token, or from another site, get the
// 403 page and change nothing.
func TestAccountFormsRequireCSRF(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	u := e.NewUser()
	b := newBrowser(t, e)
	signIn(t, b, u.Email, u.Password)
	other := newBrowser(t, e)
	foreign := csrfOf(t, other.get("/login").Body) // a valid token of another browser
	cases := []struct {
		name   string
		path   string
		fields url.Values
		header []string
	}{
		{"profile without token", "/account/profile", url.Values{"full_name": {"Mallory"}}, nil},
		{"profile with another browser's token", "/account/profile", url.Values{"full_name": {"Mallory"}, "csrf_token": {foreign}}, nil},
		{"api key without token", "/account/api-keys", url.Values{"name": {"k"}, "expiry": {"30"}, "role": {"member"}}, nil},
		{"password without token", "/account/password", url.Values{"current_password": {u.Password}, "new_password": {"another long passphrase"}}, nil},
		{"signup without token", "/signup", url.Values{"email": {"x@example.com"}, "password": {"long enough passphrase"}, "full_name": {"X"}}, nil},
		{"cross-site post", "/account/profile", url.Values{"full_name": {"Mallory"}, "csrf_token": {csrfOf(t, b.get("/account").Body)}},
			[]string{"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := b.post(c.path, c.fields, c.header...)
			if p.Status != http.StatusForbidden || !strings.Contains(p.Body, "Request refused") {
				t.Fatalf("%d, want 403 Request refused:\n%.800s", p.Status, p.Body)
			}
			if p.Header.Get("X-Frame-Options") != "DENY" || p.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("403 page lacks the security headers: %v", p.Header)
			}
		})
	}
	if p := b.get("/account"); !strings.Contains(p.Body, `value="Test User"`) {
		t.Errorf("the profile changed after refused posts:\n%.1500s", p.Body)
	}
}

// addMember puts user in owner's personal organization with role, through the REST API.
func addMember(t testing.TB, e *apptest.Env, owner, user *apptest.User, role string) {
	t.Helper()
	r := e.Do(http.MethodPost, "/api/v1/organizations/"+owner.OrganizationID+"/members",
		map[string]string{"email": user.Email, "role": role}, owner.Bearer()...)
	if r.Status != http.StatusCreated {
		t.Fatalf("add member: %d %s", r.Status, r.Body)
	}
}

// The admin pages are hidden from members without the permission and refused
// by the server regardless (403 page), page by page and form by form; the API
// Keys page needs api_keys.read. Switching to a foreign organization is refused.
func TestAccountPermissions(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	owner, viewer, member := e.NewUser(), e.NewUser(), e.NewUser()
	addMember(t, e, owner, viewer, "viewer")
	addMember(t, e, owner, member, "member")
	app := registerApp(t, e, owner, appOptions{})

	// switchTo signs a browser in as u and selects the owner's organization.
	switchTo := func(u *apptest.User) *browser {
		b := newBrowser(t, e)
		signIn(t, b, u.Email, u.Password)
		p := postForm(t, b, "/account", "/account/organization", url.Values{"organization_id": {owner.OrganizationID}})
		if p.Status != http.StatusSeeOther {
			t.Fatalf("switch organization: %d %.500s", p.Status, p.Body)
		}
		return b
	}
	type check struct {
		method, path string
		fields       url.Values
	}
	memberUser := "/account/members/" + owner.ID
	adminOnly := []check{
		{"GET", "/account/members", nil},
		{"GET", "/account/applications", nil},
		{"GET", "/account/applications/" + app.ID, nil},
		{"GET", memberUser + "/remove", nil},
		{"POST", "/account/members", url.Values{"email": {member.Email}, "role": {"viewer"}}},
		{"POST", memberUser + "/role", url.Values{"role": {"viewer"}}},
		{"POST", memberUser + "/remove", url.Values{}},
		{"POST", "/account/applications", url.Values{"name": {"Evil"}, "redirect_uris": {"https://evil.example/cb"}}},
		{"POST", "/account/applications/" + app.ID, url.Values{"name": {"Evil"}, "redirect_uris": {"https://evil.example/cb"}}},
		{"POST", "/account/applications/" + app.ID + "/secret", url.Values{}},
	}
	keysPages := []check{
		{"GET", "/account/api-keys", nil},
		{"POST", "/account/api-keys", url.Values{"name": {"k"}, "expiry": {"30"}, "role": {"viewer"}}},
	}
	run := func(t *testing.T, b *browser, checks []check, want int) {
		t.Helper()
		for _, c := range checks {
			var p *page
			if c.method == "GET" {
				p = b.get(c.path)
			} else {
				p = postForm(t, b, "/account", c.path, c.fields)
			}
			if p.Status != want {
				t.Errorf("%s %s: %d, want %d\n%.600s", c.method, c.path, p.Status, want, p.Body)
			}
			if want == http.StatusForbidden && !strings.Contains(p.Body, "Missing permission: ") {
				t.Errorf("%s %s: 403 page does not name the permission", c.method, c.path)
			}
		}
	}
	t.Run("viewer", func(t *testing.T) {
		b := switchTo(viewer)
		p := b.get("/account")
		for _, hidden := range []string{`href="/account/members"`, `href="/account/applications"`, `href="/account/api-keys"`} {
			if strings.Contains(p.Body, hidden) {
				t.Errorf("viewer's profile page links %s", hidden)
			}
		}
		run(t, b, adminOnly, http.StatusForbidden)
		run(t, b, keysPages, http.StatusForbidden)
	})
	t.Run("member", func(t *testing.T) {
		b := switchTo(member)
		p := b.get("/account")
		if !strings.Contains(p.Body, `href="/account/api-keys"`) || strings.Contains(p.Body, `href="/account/members"`) {
			t.Errorf("member's tabs are wrong:\n%.2000s", p.Body)
		}
		run(t, b, adminOnly, http.StatusForbidden)
		if p := b.get("/account/api-keys"); p.Status != http.StatusOK {
			t.Errorf("member GET /account/api-keys: %d", p.Status)
		}
	})
	t.Run("owner", func(t *testing.T) {
		b := newBrowser(t, e)
		signIn(t, b, owner.Email, owner.Password)
		for _, path := range []string{"/account/members", "/account/applications", "/account/applications/" + app.ID, "/account/api-keys"} {
			if p := b.get(path); p.Status != http.StatusOK {
				t.Errorf("owner GET %s: %d", path, p.Status)
			}
		}
		// Another organization's application is not found, as in the REST API.
		other := e.NewUser()
		b2 := newBrowser(t, e)
		signIn(t, b2, other.Email, other.Password)
		if p := b2.get("/account/applications/" + app.ID); p.Status != http.StatusNotFound || !strings.Contains(p.Body, "Application not found") {
			t.Errorf("foreign application: %d %.300s, want 404 Application not found", p.Status, p.Body)
		}
		// 403 alone would also be the CSRF refusal: the message tells them apart.
		p := postForm(t, b2, "/account", "/account/organization", url.Values{"organization_id": {owner.OrganizationID}})
		if p.Status != http.StatusForbidden || !strings.Contains(p.Body, "You are not a member of that organization.") {
			t.Errorf("switch to a foreign organization: %d %.300s, want 403 You are not a member of that organization.", p.Status, p.Body)
		}
	})
}

var sessionHandle = regexp.MustCompile(`name="session" value="([^"]+)"`)

// Each active session can be signed out from the list: another one ends (its
// browser must sign in again), and ending this browser's own signs it out.
func TestAccountEndSessions(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	u := e.NewUser()
	a, b := newBrowser(t, e), newBrowser(t, e)
	signIn(t, a, u.Email, u.Password)
	signIn(t, b, u.Email, u.Password)
	page := a.get("/account")
	handles := sessionHandle.FindAllStringSubmatch(page.Body, -1)
	if len(handles) != 2 || !strings.Contains(page.Body, "this browser") {
		t.Fatalf("want two sessions, one marked as this browser:\n%.3000s", page.Body)
	}
	// The list marks a's own session; end the other one.
	own := regexp.MustCompile(`(?s)this browser</span>.*?name="session" value="([^"]+)"`).FindStringSubmatch(page.Body)
	if own == nil {
		t.Fatal("cannot find this browser's session")
	}
	other := handles[0][1]
	if other == own[1] {
		other = handles[1][1]
	}
	p := postForm(t, a, "/account", "/account/sessions/end", url.Values{"session": {other}})
	if p.Status != http.StatusSeeOther || p.Location.Path != "/account" {
		t.Fatalf("end other session: %d %v", p.Status, p.Location)
	}
	if p := b.get("/account"); p.Status != http.StatusSeeOther || p.Location.Path != "/login" {
		t.Errorf("ended session still works: %d %v", p.Status, p.Location)
	}
	if p := postForm(t, a, "/account", "/account/sessions/end", url.Values{"session": {other}}); p.Status != http.StatusNotFound {
		t.Errorf("ending it again: %d, want 404", p.Status)
	}
	p = postForm(t, a, "/account", "/account/sessions/end", url.Values{"session": {own[1]}})
	if p.Status != http.StatusSeeOther || p.Location.Path != "/logout" {
		t.Fatalf("end own session: %d %v", p.Status, p.Location)
	}
	if p := a.get("/account"); p.Status != http.StatusSeeOther || p.Location.Path != "/login" {
		t.Errorf("signed-out browser: %d %v", p.Status, p.Location)
	}
}

// Members: an owner adds an existing user, changes the role and removes them;
// an unknown email and the last owner are refused with the REST messages.
func TestAccountMembers(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	owner, other := e.NewUser(), e.NewUser()
	b := newBrowser(t, e)
	signIn(t, b, owner.Email, owner.Password)
	p := postForm(t, b, "/account/members", "/account/members", url.Values{"email": {"nobody@example.com"}, "role": {"member"}})
	if p.Status != http.StatusNotFound || !strings.Contains(p.Body, "No user with this email address") {
		t.Errorf("unknown email: %d", p.Status)
	}
	p = postForm(t, b, "/account/members", "/account/members", url.Values{"email": {other.Email}, "role": {"viewer"}})
	if p.Status != http.StatusSeeOther {
		t.Fatalf("add member: %d %.1000s", p.Status, p.Body)
	}
	if p := postForm(t, b, "/account/members", "/account/members", url.Values{"email": {other.Email}, "role": {"viewer"}}); p.Status != http.StatusConflict ||
		!strings.Contains(p.Body, "already a member") {
		t.Errorf("add twice: %d %.300s, want 409 already a member", p.Status, p.Body)
	}
	p = postForm(t, b, "/account/members", "/account/members/"+other.ID+"/role", url.Values{"role": {"admin"}})
	if p.Status != http.StatusSeeOther {
		t.Fatalf("change role: %d", p.Status)
	}
	r := e.Do(http.MethodGet, "/api/v1/organizations/"+owner.OrganizationID+"/members", nil, owner.Bearer()...)
	if !strings.Contains(string(r.Body), `"role":"admin"`) {
		t.Errorf("REST does not see the new role: %s", r.Body)
	}
	if p := postForm(t, b, "/account/members", "/account/members/"+owner.ID+"/role", url.Values{"role": {"member"}}); p.Status != http.StatusConflict ||
		!strings.Contains(p.Body, "An organization must keep at least one owner") {
		t.Errorf("demoting the last owner: %d %.300s, want 409 and the REST message", p.Status, p.Body)
	}
	if c := b.get("/account/members/" + other.ID + "/remove"); c.Status != http.StatusOK || !strings.Contains(c.Body, other.Email) {
		t.Errorf("remove confirmation: %d", c.Status)
	}
	if p := postForm(t, b, "/account/members", "/account/members/"+other.ID+"/remove", url.Values{}); p.Status != http.StatusSeeOther {
		t.Fatalf("remove: %d", p.Status)
	}
	if r := e.Do(http.MethodGet, "/api/v1/organizations/"+owner.OrganizationID, nil, append(other.Bearer(), "X-Organization-ID", owner.OrganizationID)...); r.Status == http.StatusOK {
		t.Errorf("removed member still reads the organization: %d", r.Status)
	}
}
