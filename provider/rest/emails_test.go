package rest_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
	"github.com/arsaka/puguh/provider/identity"
)

const (
	bodyInvalidVerifyLink = `{"detail":"Invalid or expired verification link"}`
	bodyNotVerified       = `{"detail":"Email address not verified: open the link we sent you, or ask for a new one"}`
	bodyResendAccepted    = `{"detail":"If the address belongs to an account that is not yet confirmed, a new link is on its way"}`
)

// tokenOf is the token of a confirmation link.
func tokenOf(t *testing.T, e *apptest.Env, email string, n int) string {
	t.Helper()
	m := e.WaitMail(email, "Confirm your email address", n)
	link := e.LinkIn(m, identity.VerifyPath+"?token=")
	return strings.TrimPrefix(link, e.URL+identity.VerifyPath+"?token=")
}

// TestVerifyEmail walks the confirmation flow under
// PUGUH_REQUIRE_VERIFIED_EMAIL: sign-up mails a link; sign-in is refused
// (after the password is checked) until the link is used; the link works
// once; then sign-in works and the profile says email_verified.
func TestVerifyEmail(t *testing.T) {
	forEachDeployment(t, apptest.Options{Env: map[string]string{"PUGUH_REQUIRE_VERIFIED_EMAIL": "true"}}, func(t *testing.T, e *apptest.Env) {
		email := "ada-" + strings.ToLower(t.Name()[len(t.Name())-6:]) + "@example.com"
		email = strings.ReplaceAll(email, "+", "-")
		const pw = "correct horse battery"
		r := e.Do(http.MethodPost, "/api/v1/auth/register", map[string]string{"email": email, "password": pw, "full_name": "Ada"})
		if r.Status != http.StatusCreated {
			t.Fatalf("register: %d %s", r.Status, r.Body)
		}
		token := tokenOf(t, e, email, 0)
		if len(token) != 43 {
			t.Fatalf("token %q: want 256 bits, base64url", token)
		}
		want(t, e.Do(http.MethodPost, "/api/v1/auth/login", map[string]string{"email": email, "password": pw}), http.StatusForbidden, bodyNotVerified)
		// A wrong password still says only that.
		want(t, e.Do(http.MethodPost, "/api/v1/auth/login", map[string]string{"email": email, "password": "wrong password!"}), http.StatusUnauthorized, bodyBadCredentials)

		// Bad input.
		want(t, e.Do(http.MethodPost, "/api/v1/auth/verify-email", map[string]any{}), http.StatusUnprocessableEntity,
			invalid("field required", "value_error.missing", "body", "token"))
		want(t, e.Do(http.MethodPost, "/api/v1/auth/verify-email", map[string]any{"token": 5}), http.StatusUnprocessableEntity,
			invalid("str type expected", "type_error.str", "body", "token"))
		want(t, e.Do(http.MethodPost, "/api/v1/auth/verify-email", map[string]any{"token": "nope"}), http.StatusBadRequest, bodyInvalidVerifyLink)
		want(t, e.Do(http.MethodPost, "/api/v1/auth/verify-email", map[string]any{"token": ""}), http.StatusBadRequest, bodyInvalidVerifyLink)
		want(t, e.Do(http.MethodPost, "/api/v1/auth/verify-email", map[string]any{"token": token[:42] + "x"}), http.StatusBadRequest, bodyInvalidVerifyLink)

		// Opening the page does not use the link (mail scanners fetch links).
		page := e.Do(http.MethodGet, identity.VerifyPath+"?token="+token, nil)
		if page.Status != http.StatusOK || !strings.Contains(string(page.Body), `id="confirm-email"`) {
			t.Fatalf("page: %d %s", page.Status, page.Body)
		}

		r = e.Do(http.MethodPost, "/api/v1/auth/verify-email", map[string]any{"token": token})
		var got struct {
			UserID        string `json:"user_id"`
			Email         string `json:"email"`
			EmailVerified bool   `json:"email_verified"`
		}
		if r.Status != http.StatusOK {
			t.Fatalf("verify: %d %s", r.Status, r.Body)
		}
		r.JSON(t, &got)
		if got.Email != email || !got.EmailVerified || got.UserID == "" {
			t.Fatalf("verify: %s", r.Body)
		}
		want(t, e.Do(http.MethodPost, "/api/v1/auth/verify-email", map[string]any{"token": token}), http.StatusBadRequest, bodyInvalidVerifyLink)

		u := &apptest.User{Email: email, Password: pw}
		e.Login(u)
		var me struct {
			EmailVerified *bool `json:"email_verified"`
		}
		r = e.Do(http.MethodGet, "/api/v1/iam/users/me", nil, u.Bearer()...)
		r.JSON(t, &me)
		if r.Status != http.StatusOK || me.EmailVerified == nil || !*me.EmailVerified {
			t.Fatalf("me: %d %s", r.Status, r.Body)
		}
		// A confirmed account gets no more links.
		want(t, e.Do(http.MethodPost, "/api/v1/auth/verify-email/resend", map[string]any{"email": email}), http.StatusAccepted, bodyResendAccepted)
		time.Sleep(300 * time.Millisecond)
		if n := e.MailCount(email); n != 1 {
			t.Fatalf("%d messages to a confirmed address, want 1", n)
		}
	})
}

// TestVerifyEmailOptional: without PUGUH_REQUIRE_VERIFIED_EMAIL an
// unconfirmed account signs in, its profile says email_verified false, and
// it still gets its link.
func TestVerifyEmailOptional(t *testing.T) {
	e := start(t, apptest.Options{})
	u := e.NewUser()
	e.WaitMail(u.Email, "Confirm your email address", 0)
	r := e.Do(http.MethodGet, "/api/v1/iam/users/me", nil, u.Bearer()...)
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"email_verified":false`) {
		t.Fatalf("me: %d %s", r.Status, r.Body)
	}
}

// TestResendVerification: the same 202 for an unknown, an unconfirmed and a
// malformed-but-present address is not given (422 for that); a new link goes
// to an unconfirmed account only, at most 5 an hour per address (quietly),
// and one client IP gets 30 an hour before a 429.
func TestResendVerification(t *testing.T) {
	forEachDeployment(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		u := e.NewUser()
		e.WaitMail(u.Email, "Confirm your email address", 0)
		ip := []string{"X-Forwarded-For", "10.200.0.1"}

		want(t, e.Do(http.MethodPost, "/api/v1/auth/verify-email/resend", map[string]any{}, ip...), http.StatusUnprocessableEntity,
			invalid("field required", "value_error.missing", "body", "email"))
		want(t, e.Do(http.MethodPost, "/api/v1/auth/verify-email/resend", map[string]any{"email": "not-an-email"}, ip...), http.StatusUnprocessableEntity,
			invalid("value is not a valid email address", "value_error.email", "body", "email"))
		want(t, e.Do(http.MethodPost, "/api/v1/auth/verify-email/resend", `{"email": "a@example.com", "extra": 1}`, ip...), http.StatusUnprocessableEntity,
			invalid("extra fields not permitted", "value_error.extra", "body", "extra"))
		want(t, e.Do(http.MethodPost, "/api/v1/auth/verify-email/resend", "email=a@example.com", "Content-Type", "application/x-www-form-urlencoded"),
			http.StatusUnsupportedMediaType, body415)

		unknown := e.Do(http.MethodPost, "/api/v1/auth/verify-email/resend", map[string]any{"email": "nobody-" + u.ID[:8] + "@example.com"}, ip...)
		want(t, unknown, http.StatusAccepted, bodyResendAccepted)
		for range 6 {
			want(t, e.Do(http.MethodPost, "/api/v1/auth/verify-email/resend", map[string]any{"email": strings.ToUpper(u.Email)}, ip...), http.StatusAccepted, bodyResendAccepted)
		}
		e.WaitMail(u.Email, "Confirm your email address", 5)
		time.Sleep(300 * time.Millisecond)
		if n := e.MailCount(u.Email); n != 6 {
			t.Fatalf("%d messages, want 6 (sign-up and 5 resends)", n)
		}
		// Every link works (each its own token), the newest too.
		token := tokenOf(t, e, u.Email, 5)
		if r := e.Do(http.MethodPost, "/api/v1/auth/verify-email", map[string]any{"token": token}); r.Status != http.StatusOK {
			t.Fatalf("newest link: %d %s", r.Status, r.Body)
		}

		// 8 taken from this IP so far (2 refused before the budget); 30 an hour.
		var last *apptest.Response
		for i := range 30 {
			last = e.Do(http.MethodPost, "/api/v1/auth/verify-email/resend", map[string]any{"email": "x" + string(rune('a'+i%26)) + u.ID[:6] + "@example.com"}, ip...)
			if last.Status == http.StatusTooManyRequests {
				if i != 23 {
					t.Fatalf("429 after %d more requests, want after 23", i)
				}
				break
			}
		}
		if last.Status != http.StatusTooManyRequests || last.Header.Get("Retry-After") == "" ||
			!strings.HasPrefix(string(last.Body), `{"detail":"Rate limit exceeded. Retry after `) {
			t.Fatalf("per-IP budget: %d %s (Retry-After %q)", last.Status, last.Body, last.Header.Get("Retry-After"))
		}
		if want := fmt.Sprintf(`{"detail":"Rate limit exceeded. Retry after %s seconds."}`, last.Header.Get("Retry-After")); strings.TrimSpace(string(last.Body)) != want {
			t.Fatalf("per-IP budget: %s, want %s", last.Body, want)
		}
		// Another IP is not affected.
		want(t, e.Do(http.MethodPost, "/api/v1/auth/verify-email/resend", map[string]any{"email": u.Email}, "X-Forwarded-For", "10.200.0.2"),
			http.StatusAccepted, bodyResendAccepted)
	})
}
