package app_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
)

// The lifecycle pages over HTTP: every form refuses a post without this
// browser's CSRF token; the delete form asks for the password and the
// second factor and says which was wrong; the operator page is for operators.
func TestLifecyclePages(t *testing.T) {
	e := apptest.Start(t, apptest.Options{Env: map[string]string{"PUGUH_PLATFORM_OPERATORS": operatorEmail}})
	operator := e.RegisterAndLogin(operatorEmail, "operator passphrase", "Operator")
	owner := e.NewUser()
	user := e.NewUser()
	app := registerApp(t, e, owner, appOptions{})
	exchangeCode(t, e, app, user, "openid offline_access")
	b := newBrowser(t, e)
	signIn(t, b, user.Email, user.Password) // before the second factor, which this session keeps
	secret, _ := enrolTOTP(t, e, user)
	const refused = "Your session could not be verified"

	t.Run("forms need the CSRF token", func(t *testing.T) {
		for _, path := range []string{"/account/delete", "/account/connected-apps/" + app.ID + "/revoke",
			"/account/operator/users/" + owner.ID + "/disable", "/account/operator/users/" + owner.ID + "/delete"} {
			p := b.post(path, url.Values{"password": {user.Password}})
			if p.Status != http.StatusForbidden || !strings.Contains(p.Body, refused) {
				t.Errorf("%s without a token: %d %.300s", path, p.Status, p.Body)
			}
		}
		if n := count(t, e, `SELECT COUNT(*) FROM consent_grants WHERE user_id = ?`, user.ID); n != 1 {
			t.Errorf("a refused post revoked the consent (%d left)", n)
		}
	})
	t.Run("connected apps", func(t *testing.T) {
		p := b.get("/account/connected-apps")
		if p.Status != http.StatusOK || !strings.Contains(p.Body, "Acme Dashboard") || !strings.Contains(p.Body, "<code>offline_access</code>") {
			t.Fatalf("list: %d %.1500s", p.Status, p.Body)
		}
		if p := b.get("/account/connected-apps/no-such-app/revoke"); p.Status != http.StatusNotFound {
			t.Errorf("confirm an unknown consent: %d", p.Status)
		}
		p = postForm(t, b, "/account/connected-apps", "/account/connected-apps/no-such-app/revoke", url.Values{})
		if p.Status != http.StatusNotFound || !strings.Contains(p.Body, "Consent not found") {
			t.Errorf("revoke an unknown consent: %d %.300s", p.Status, p.Body)
		}
	})
	t.Run("delete form", func(t *testing.T) {
		p := b.get("/account/delete")
		if p.Status != http.StatusOK || !strings.Contains(p.Body, `id="code"`) {
			t.Fatalf("form: %d %.1500s", p.Status, p.Body)
		}
		for _, tc := range []struct {
			name         string
			fields       url.Values
			status       int
			errID, error string
		}{
			{"no password", url.Values{}, 422, "password-error", "Enter your password."},
			{"wrong password", url.Values{"password": {"nope"}, "code": {totpCode(t, secret, 0)}}, 403, "password-error", "The password is not correct"},
			{"no code", url.Values{"password": {user.Password}}, 422, "code-error", "Enter the code from your authenticator app."},
			{"wrong code", url.Values{"password": {user.Password}, "code": {"000000"}}, 403, "code-error", "The code is not correct"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				p := postForm(t, b, "/account/delete", "/account/delete", tc.fields)
				if p.Status != tc.status || !strings.Contains(p.Body, `id="`+tc.errID+`">`+tc.error+`<`) {
					t.Fatalf("%d %.2000s", p.Status, p.Body)
				}
			})
		}
		if n := count(t, e, `SELECT COUNT(*) FROM users WHERE id = ?`, user.ID); n != 1 {
			t.Fatal("a refused deletion deleted the user")
		}
	})
	t.Run("operator page refuses others", func(t *testing.T) {
		if p := b.get("/account/operator"); p.Status != http.StatusForbidden || !strings.Contains(p.Body, "for platform operators") {
			t.Errorf("GET: %d %.300s", p.Status, p.Body)
		}
		p := postForm(t, b, "/account", "/account/operator/users/"+owner.ID+"/disable", url.Values{})
		if p.Status != http.StatusForbidden {
			t.Errorf("POST disable: %d %.300s", p.Status, p.Body)
		}
		if r := e.Do(http.MethodPost, "/api/v1/auth/login", map[string]string{"email": owner.Email, "password": owner.Password}); r.Status != 200 {
			t.Errorf("a refused disable disabled the owner: %d", r.Status)
		}
	})
	t.Run("operator page", func(t *testing.T) {
		ob := newBrowser(t, e)
		signIn(t, ob, operator.Email, operator.Password)
		if p := ob.get("/account/operator?q=nobody@example.com"); p.Status != http.StatusNotFound || !strings.Contains(p.Body, "No user has that email address or id.") {
			t.Errorf("unknown user: %d %.300s", p.Status, p.Body)
		}
		if p := ob.get("/account/operator?q=" + strings.ToUpper(owner.ID)); p.Status != http.StatusOK || !strings.Contains(p.Body, owner.Email) {
			t.Errorf("by id: %d %.300s", p.Status, p.Body)
		}
		p := postForm(t, ob, "/account/operator", "/account/operator/users/"+operator.ID+"/delete", url.Values{})
		if p.Status != http.StatusConflict {
			t.Errorf("delete themselves: %d %.300s", p.Status, p.Body)
		}
	})
}
