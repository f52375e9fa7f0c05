package app_test

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
	"github.com/arsaka/puguh/provider/identity"
)

// The profile page changes the sign-in address with the REST endpoint's own
// rules and answers: a form without its CSRF token is refused, a wrong
// password is 403, an invalid address 422, another account's address 409,
// the link budget 429; a good request mails a link to the new address and
// changes nothing until the link is followed. Then the old address gets a
// notice with the new one masked and no token. On SQLite and PostgreSQL.
func TestProfileChangesEmail(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, e *apptest.Env) {
		u, other := e.NewUser(), e.NewUser()
		b := newBrowser(t, e)
		signIn(t, b, u.Email, u.Password)
		if p := b.get("/account"); !strings.Contains(p.Body, `action="/account/email"`) {
			t.Fatalf("profile has no email change form:\n%.3000s", p.Body)
		}
		change := func(addr, pw string) *page {
			return postForm(t, b, "/account", "/account/email", url.Values{"new_email": {addr}, "password": {pw}})
		}
		refused := func(name string, p *page, status int, msg string) {
			t.Helper()
			if p.Status != status || !strings.Contains(p.Body, html.EscapeString(msg)) {
				t.Fatalf("%s: %d, want %d with %q\n%.3000s", name, p.Status, status, msg, p.Body)
			}
		}
		newAddr := "moved-" + u.Email

		refused("no CSRF token", b.post("/account/email", url.Values{"new_email": {newAddr}, "password": {u.Password}}),
			http.StatusForbidden, "Request refused")
		refused("wrong password", change(newAddr, "not my password"), http.StatusForbidden, identity.WrongCurrentPassword)
		refused("invalid address", change("not-an-address", u.Password), http.StatusUnprocessableEntity,
			"value is not a valid email address")
		refused("same address", change(u.Email, u.Password), http.StatusUnprocessableEntity, identity.SameEmail)
		refused("taken address", change(other.Email, u.Password), http.StatusConflict, "Email already registered")
		if n := e.MailCount(newAddr); n != 0 {
			t.Fatalf("refused changes mailed %d messages to %s", n, newAddr)
		}

		p := change(newAddr, u.Password)
		refused("change", p, http.StatusOK, "We sent a link to "+newAddr+"; your address changes when you follow it.")
		link := e.LinkIn(e.WaitMail(newAddr, "Confirm your email address", 0), identity.VerifyPath)
		if p := b.get("/account"); !strings.Contains(p.Body, `value="`+u.Email+`" readonly`) {
			t.Fatalf("the address changed before the link was followed:\n%.3000s", p.Body)
		}
		lu, _ := url.Parse(link)
		if p := postForm(t, b, link, "/verify-email", url.Values{"token": {lu.Query().Get("token")}}); p.Status != http.StatusOK {
			t.Fatalf("follow the link: %d\n%.2000s", p.Status, p.Body)
		}
		if p := b.get("/account"); !strings.Contains(p.Body, `value="`+newAddr+`" readonly`) {
			t.Fatalf("the profile does not show the new address:\n%.3000s", p.Body)
		}

		// The notice to the old address: the new one masked, no token.
		m := e.WaitMail(u.Email, "sign-in address was changed", 0)
		masked := identity.MaskEmail(newAddr)
		if masked != "m***@example.com" || !strings.Contains(m.Text, "changed to "+masked+" at ") ||
			!strings.Contains(m.Text, e.URL+"/password-reset") || strings.Contains(m.Text, newAddr) ||
			strings.Contains(m.Text, "token") || strings.Contains(m.Text, lu.Query().Get("token")) {
			t.Fatalf("notice to the old address (masked %q):\n%s", masked, m.Text)
		}
		if n := e.MailCount(newAddr); n != 1 {
			t.Errorf("%d messages to the new address, want only its link", n)
		}

		// The new address's budget: 5 links an hour, then 429 on the page.
		again := "again-" + u.Email
		for i := 0; i < 5; i++ {
			if p := change(again, u.Password); p.Status != http.StatusOK {
				t.Fatalf("change %d: %d\n%.2000s", i, p.Status, p.Body)
			}
		}
		p = change(again, u.Password)
		refused("over the budget", p, http.StatusTooManyRequests, "Rate limit exceeded. Retry after")
		if p.Header.Get("Retry-After") == "" {
			t.Error("429 without Retry-After")
		}
	})
}
