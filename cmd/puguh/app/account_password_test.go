package app_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
)

// Changing the password asks for the current one, and then ends every other
// session of the user and every token issued to them: the old access token
// is refused at once (401) and the old refresh token cannot be used
// (docs/security.md, "Accounts and sessions"). The browser that changed it stays signed in, under a fresh
// session id. On SQLite and PostgreSQL.
func TestPasswordChangeEndsSessionsAndTokens(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, e *apptest.Env) {
		u := e.NewUser() // holds REST tokens from /api/v1/auth/login
		if r := e.Do(http.MethodGet, "/api/v1/iam/users/me", nil, u.Bearer()...); r.Status != http.StatusOK {
			t.Fatalf("before: /iam/users/me %d %s", r.Status, r.Body)
		}
		mine, other := newBrowser(t, e), newBrowser(t, e)
		signIn(t, mine, u.Email, u.Password)
		signIn(t, other, u.Email, u.Password)
		if p := mine.get("/account"); strings.Count(p.Body, `name="session"`) != 2 {
			t.Fatalf("want 2 active sessions listed:\n%.3000s", p.Body)
		}
		oldCookie := sessionCookieOf(t, mine)

		// Wrong current password: refused, nothing ends.
		p := postForm(t, mine, "/account", "/account/password", url.Values{
			"current_password": {"not my password"}, "new_password": {"a brand new passphrase"}, "confirm_password": {"a brand new passphrase"}})
		if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "The current password is not correct.") {
			t.Fatalf("wrong current password: %d\n%.2000s", p.Status, p.Body)
		}
		if p := other.get("/account"); p.Status != http.StatusOK {
			t.Fatalf("a refused change ended the other session: %d", p.Status)
		}

		p = postForm(t, mine, "/account", "/account/password", url.Values{
			"current_password": {u.Password}, "new_password": {"a brand new passphrase"}, "confirm_password": {"a brand new passphrase"}})
		if p.Status != http.StatusSeeOther || p.Location == nil || p.Location.Path != "/account" {
			t.Fatalf("change password: %d %v\n%.2000s", p.Status, p.Location, p.Body)
		}
		if r := e.Do(http.MethodGet, "/api/v1/iam/users/me", nil, u.Bearer()...); r.Status != http.StatusUnauthorized {
			t.Errorf("old access token after password change: %d %s, want 401", r.Status, r.Body)
		}
		if r := e.Do(http.MethodPost, "/api/v1/auth/refresh", map[string]string{"refresh_token": u.RefreshToken}); r.Status != http.StatusUnauthorized {
			t.Errorf("old refresh token after password change: %d %s, want 401", r.Status, r.Body)
		}
		if p := other.get("/account"); p.Status != http.StatusSeeOther || p.Location.Path != "/login" {
			t.Errorf("other session after password change: %d %v, want 303 to /login", p.Status, p.Location)
		}
		p = mine.get(p.Location.String())
		if p.Status != http.StatusOK || !strings.Contains(p.Body, "Your password was changed.") {
			t.Errorf("changing browser after password change: %d\n%.1500s", p.Status, p.Body)
		}
		if sessionCookieOf(t, mine) == oldCookie {
			t.Error("the session id was not renewed after the password change")
		}
		if r := e.Do(http.MethodPost, "/api/v1/auth/login", map[string]string{"email": u.Email, "password": u.Password}); r.Status != http.StatusUnauthorized {
			t.Errorf("login with the old password: %d, want 401", r.Status)
		}
		u.Password = "a brand new passphrase"
		e.Login(u)
		if r := e.Do(http.MethodGet, "/api/v1/iam/users/me", nil, u.Bearer()...); r.Status != http.StatusOK {
			t.Errorf("new token after password change: %d %s", r.Status, r.Body)
		}
	})
}

// sessionCookieOf returns the browser's session cookie value.
func sessionCookieOf(t testing.TB, b *browser) string {
	t.Helper()
	u, _ := url.Parse(b.base)
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == "puguh_session" {
			return c.Value
		}
	}
	t.Fatal("no session cookie")
	return ""
}
