package rest_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
	"github.com/arsaka/puguh/provider/identity"
	"github.com/arsaka/puguh/provider/password"
)

const (
	bodyResetAccepted    = `{"detail":"If the address belongs to an account, a link to reset its password is on its way"}`
	bodyInvalidResetLink = `{"detail":"Invalid or expired password reset link"}`
)

// TestPasswordReset: the same 202 for any address; the mailed link sets a
// new password that passes the policy (a weak one leaves the link usable),
// works once, and ends every session and refresh family of the user.
func TestPasswordReset(t *testing.T) {
	forEachDeployment(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		u := e.NewUser()
		other := &apptest.User{Email: u.Email, Password: u.Password}
		e.Login(other) // a second refresh family
		ip := []string{"X-Forwarded-For", "10.201.0.1"}

		want(t, e.Do(http.MethodPost, "/api/v1/auth/password-reset", map[string]any{}, ip...), http.StatusUnprocessableEntity,
			invalid("field required", "value_error.missing", "body", "email"))
		want(t, e.Do(http.MethodPost, "/api/v1/auth/password-reset", map[string]any{"email": "nope"}, ip...), http.StatusUnprocessableEntity,
			invalid("value is not a valid email address", "value_error.email", "body", "email"))
		want(t, e.Do(http.MethodPost, "/api/v1/auth/password-reset", "email=x", "Content-Type", "text/plain"), http.StatusUnsupportedMediaType, body415)

		// The same answer whether or not the address has an account; the
		// mail goes out in the background, so the request does the same work.
		want(t, e.Do(http.MethodPost, "/api/v1/auth/password-reset", map[string]any{"email": "nobody-" + u.ID[:8] + "@example.com"}, ip...),
			http.StatusAccepted, bodyResetAccepted)
		want(t, e.Do(http.MethodPost, "/api/v1/auth/password-reset", map[string]any{"email": u.Email}, ip...), http.StatusAccepted, bodyResetAccepted)

		m := e.WaitMail(u.Email, "Reset your password", 0)
		link := e.LinkIn(m, identity.ResetPath+"?token=")
		token := strings.TrimPrefix(link, e.URL+identity.ResetPath+"?token=")

		want(t, e.Do(http.MethodPost, "/api/v1/auth/password-reset/confirm", map[string]any{}), http.StatusUnprocessableEntity,
			`{"detail":[{"loc":["body","token"],"msg":"field required","type":"value_error.missing"},{"loc":["body","password"],"msg":"field required","type":"value_error.missing"}]}`)
		want(t, e.Do(http.MethodPost, "/api/v1/auth/password-reset/confirm", map[string]any{"token": "nope", "password": "a fine new password"}),
			http.StatusBadRequest, bodyInvalidResetLink)
		want(t, e.Do(http.MethodPost, "/api/v1/auth/password-reset/confirm", map[string]any{"token": token, "password": "short"}),
			http.StatusUnprocessableEntity, invalid(password.Problem("short", u.Email), "value_error.any_str.min_length", "body", "password"))
		want(t, e.Do(http.MethodPost, "/api/v1/auth/password-reset/confirm", map[string]any{"token": token, "password": 12345678}),
			http.StatusUnprocessableEntity, invalid("str type expected", "type_error.str", "body", "password"))

		const newPw = "a brand new passphrase"
		want(t, e.Do(http.MethodPost, "/api/v1/auth/password-reset/confirm", map[string]any{"token": token, "password": newPw}), http.StatusNoContent, "")
		want(t, e.Do(http.MethodPost, "/api/v1/auth/password-reset/confirm", map[string]any{"token": token, "password": newPw}),
			http.StatusBadRequest, bodyInvalidResetLink)

		// Everything the user held is gone.
		want(t, e.Do(http.MethodPost, "/api/v1/auth/refresh", map[string]any{"refresh_token": u.RefreshToken}), http.StatusUnauthorized, bodyBadRefresh)
		want(t, e.Do(http.MethodPost, "/api/v1/auth/refresh", map[string]any{"refresh_token": other.RefreshToken}), http.StatusUnauthorized, bodyBadRefresh)
		want(t, e.Do(http.MethodGet, "/api/v1/iam/users/me", nil, u.Bearer()...), http.StatusUnauthorized, bodyInvalidToken)
		want(t, e.Do(http.MethodPost, "/api/v1/auth/login", map[string]string{"email": u.Email, "password": u.Password}), http.StatusUnauthorized, bodyBadCredentials)
		u.Password = newPw
		e.Login(u)
		// The link proved the mailbox.
		r := e.Do(http.MethodGet, "/api/v1/iam/users/me", nil, u.Bearer()...)
		if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"email_verified":true`) {
			t.Fatalf("me: %d %s", r.Status, r.Body)
		}

		// 5 links an hour per address: the first was sent, 4 more, then quietly none.
		for range 6 {
			want(t, e.Do(http.MethodPost, "/api/v1/auth/password-reset", map[string]any{"email": u.Email}, ip...), http.StatusAccepted, bodyResetAccepted)
		}
		e.WaitMail(u.Email, "Reset your password", 4)
		time.Sleep(300 * time.Millisecond)
		n := 0
		for _, m := range e.Outbox() {
			if m.Subject == "Reset your password" && strings.Contains(m.Header.Get("To"), u.Email) {
				n++
			}
		}
		if n != 5 {
			t.Fatalf("%d reset messages, want 5", n)
		}
	})
}
