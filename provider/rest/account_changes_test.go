package rest_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
	"github.com/arsaka/puguh/provider/identity"
	"github.com/arsaka/puguh/provider/password"
	"github.com/arsaka/puguh/storage"
)

const (
	bodyWrongCurrentPassword = `{"detail":"The current password is not correct"}`
	bodyOnlyUsers            = `{"detail":"Only users can change their password or email address"}`
	bodyEmailTaken           = `{"detail":"Email already registered"}`
	bodyEmailChangeAccepted  = `{"detail":"A confirmation link is on its way to the new address; the address changes when it is opened","new_email":"%s"}`
)

// TestChangePassword: POST /api/v1/iam/users/me/password checks the current
// password and the policy, ends every token of the user (the caller's too)
// and answers a fresh pair.
func TestChangePassword(t *testing.T) {
	forEachDeployment(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		u := e.NewUser()
		other := &apptest.User{Email: u.Email, Password: u.Password}
		e.Login(other) // a second session
		const path = "/api/v1/iam/users/me/password"
		const newPw = "a much better passphrase"

		want(t, e.Do(http.MethodPost, path, map[string]any{}, u.Bearer()...), http.StatusUnprocessableEntity,
			`{"detail":[{"loc":["body","current_password"],"msg":"field required","type":"value_error.missing"},{"loc":["body","new_password"],"msg":"field required","type":"value_error.missing"}]}`)
		want(t, e.Do(http.MethodPost, path, map[string]any{"current_password": 1, "new_password": newPw}, u.Bearer()...),
			http.StatusUnprocessableEntity, invalid("str type expected", "type_error.str", "body", "current_password"))
		want(t, e.Do(http.MethodPost, path, "current_password=x", append(u.Bearer(), "Content-Type", "text/plain")...),
			http.StatusUnsupportedMediaType, body415)
		want(t, e.Do(http.MethodPost, path, map[string]any{"current_password": "wrong password", "new_password": newPw}, u.Bearer()...),
			http.StatusForbidden, bodyWrongCurrentPassword)
		want(t, e.Do(http.MethodPost, path, map[string]any{"current_password": u.Password, "new_password": "short"}, u.Bearer()...),
			http.StatusUnprocessableEntity, invalid(password.Problem("short", u.Email), "value_error.any_str.min_length", "body", "new_password"))
		want401(t, e.Do(http.MethodPost, path, map[string]any{"current_password": u.Password, "new_password": newPw}))
		key := newAPIKey(t, e, u, map[string]any{"name": "k", "role": "member"})
		want(t, e.Do(http.MethodPost, path, map[string]any{"current_password": u.Password, "new_password": newPw}, key.headers()...),
			http.StatusForbidden, bodyOnlyUsers)

		fresh := pairOf(t, e.Do(http.MethodPost, path, map[string]any{"current_password": u.Password, "new_password": newPw}, u.Bearer()...))
		want401(t, me(e, u.AccessToken))
		want401(t, me(e, other.AccessToken))
		want(t, refresh(e, other.RefreshToken), http.StatusUnauthorized, bodyBadRefresh)
		if r := me(e, fresh.AccessToken); r.Status != http.StatusOK {
			t.Fatalf("the fresh token: %d %s", r.Status, r.Body)
		}
		if c := claims(t, fresh.AccessToken); c["sub"] != u.ID {
			t.Fatalf("fresh token claims %v", c)
		}
		want(t, e.Do(http.MethodPost, "/api/v1/auth/login", map[string]any{"email": u.Email, "password": u.Password}),
			http.StatusUnauthorized, bodyBadCredentials)
		u.Password = newPw
		e.Login(u)
		evs, err := e.App.Store().AuditEvents(context.Background(), storage.AuditQuery{UserID: u.ID, Types: []string{"user.password_changed"}, Limit: 10})
		if err != nil || len(evs) != 1 || evs[0].Details["method"] != "token" {
			t.Fatalf("password_changed events %+v %v", evs, err)
		}
	})
}

// TestChangeEmail: POST /api/v1/iam/users/me/email checks the password and
// the address, mails a link to the new address, and changes nothing until
// the link is used; then the new address signs in, confirmed.
func TestChangeEmail(t *testing.T) {
	forEachDeployment(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		u := e.NewUser()
		taken := e.NewUser()
		const path = "/api/v1/iam/users/me/email"
		newEmail := "new-" + u.ID[:8] + "@example.com"
		accepted := func(addr string) string { return strings.Replace(bodyEmailChangeAccepted, "%s", addr, 1) }

		want(t, e.Do(http.MethodPost, path, map[string]any{}, u.Bearer()...), http.StatusUnprocessableEntity,
			`{"detail":[{"loc":["body","password"],"msg":"field required","type":"value_error.missing"},{"loc":["body","new_email"],"msg":"field required","type":"value_error.missing"}]}`)
		want(t, e.Do(http.MethodPost, path, map[string]any{"password": u.Password, "new_email": "nope"}, u.Bearer()...), http.StatusUnprocessableEntity,
			invalid("value is not a valid email address", "value_error.email", "body", "new_email"))
		want(t, e.Do(http.MethodPost, path, map[string]any{"password": "wrong password", "new_email": newEmail}, u.Bearer()...),
			http.StatusForbidden, bodyWrongCurrentPassword)
		want(t, e.Do(http.MethodPost, path, map[string]any{"password": u.Password, "new_email": strings.ToUpper(u.Email)}, u.Bearer()...),
			http.StatusUnprocessableEntity, invalid(identity.SameEmail, "value_error", "body", "new_email"))
		want(t, e.Do(http.MethodPost, path, map[string]any{"password": u.Password, "new_email": taken.Email}, u.Bearer()...),
			http.StatusConflict, bodyEmailTaken)
		want(t, e.Do(http.MethodPost, path, `{"password":`, u.Bearer()...), http.StatusUnprocessableEntity, bodyJSONDecode)
		key := newAPIKey(t, e, u, map[string]any{"name": "k", "role": "member"})
		want(t, e.Do(http.MethodPost, path, map[string]any{"password": u.Password, "new_email": newEmail}, key.headers()...),
			http.StatusForbidden, bodyOnlyUsers)

		// A first request, replaced by a second: only the second link works.
		linkOf := func(to string, n int) string {
			link := e.LinkIn(e.WaitMail(to, "Confirm your email address", n), identity.VerifyPath+"?token=")
			return strings.TrimPrefix(link, e.URL+identity.VerifyPath+"?token=")
		}
		var links []string
		for i := range 2 {
			want(t, e.Do(http.MethodPost, path, map[string]any{"password": u.Password, "new_email": newEmail}, u.Bearer()...),
				http.StatusAccepted, accepted(newEmail))
			links = append(links, linkOf(newEmail, i)) // the first message is out before the second request
		}
		first, second := links[0], links[1]
		if m := object(t, me(e, u.AccessToken), "id", "type", "email", "full_name", "email_verified", "organization_id", "role",
			"permissions", "created_at"); m["email"] != u.Email {
			t.Fatalf("the address changed before the link was used: %v", m)
		}
		const invalidLink = `{"detail":"Invalid or expired verification link"}`
		want(t, e.Do(http.MethodPost, "/api/v1/auth/verify-email", map[string]any{"token": first}), http.StatusBadRequest, invalidLink)
		want(t, e.Do(http.MethodPost, "/api/v1/auth/verify-email", map[string]any{"token": second}), http.StatusOK,
			`{"user_id":"`+u.ID+`","email":"`+newEmail+`","email_verified":true}`)
		want(t, e.Do(http.MethodPost, "/api/v1/auth/verify-email", map[string]any{"token": second}), http.StatusBadRequest, invalidLink)
		want(t, e.Do(http.MethodPost, "/api/v1/auth/login", map[string]any{"email": u.Email, "password": u.Password}),
			http.StatusUnauthorized, bodyBadCredentials)
		u.Email = newEmail
		e.Login(u)

		// An address taken between the request and the link is a conflict then too.
		late := "late-" + u.ID[:8] + "@example.com"
		want(t, e.Do(http.MethodPost, path, map[string]any{"password": u.Password, "new_email": late}, u.Bearer()...),
			http.StatusAccepted, accepted(late))
		token := linkOf(late, 0)
		e.RegisterAndLogin(late, "late password 123", "Late Comer")
		want(t, e.Do(http.MethodPost, "/api/v1/auth/verify-email", map[string]any{"token": token}), http.StatusConflict, bodyEmailTaken)

		// Audited, stored, with no address or token.
		evs, err := e.App.Store().AuditEvents(context.Background(), storage.AuditQuery{UserID: u.ID, Types: []string{"user.email_changed"}, Limit: 10})
		if err != nil || len(evs) != 1 || evs[0].ActorID != u.ID || len(evs[0].Details) != 0 {
			t.Fatalf("email_changed events %+v %v", evs, err)
		}
	})
}

// Taking an account back ends the links an intruder asked for: after a
// password change, an email-change link sent to the intruder's address no
// longer moves the account, and once the address has moved, a reset link sent
// to the old address no longer resets it.
func TestTakingAnAccountBackEndsItsPendingLinks(t *testing.T) {
	forEachDeployment(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		u := e.NewUser()
		const invalidLink = `{"detail":"Invalid or expired verification link"}`
		tokenIn := func(to, subject, path string) string {
			link := e.LinkIn(e.WaitMail(to, subject, 0), path+"?token=")
			return strings.TrimPrefix(link, e.URL+path+"?token=")
		}

		// The intruder, with the password, asks to move the account to their address.
		intruder := "intruder-" + u.ID[:8] + "@example.com"
		want(t, e.Do(http.MethodPost, "/api/v1/iam/users/me/email", map[string]any{"password": u.Password, "new_email": intruder}, u.Bearer()...),
			http.StatusAccepted, strings.Replace(bodyEmailChangeAccepted, "%s", intruder, 1))
		moveLink := tokenIn(intruder, "Confirm your email address", identity.VerifyPath)
		// The owner changes the password; the intruder's link is dead.
		const newPw = "the owner's new passphrase"
		if r := e.Do(http.MethodPost, "/api/v1/iam/users/me/password", map[string]any{"current_password": u.Password, "new_password": newPw}, u.Bearer()...); r.Status != http.StatusOK {
			t.Fatalf("change password: %d %s", r.Status, r.Body)
		}
		want(t, e.Do(http.MethodPost, "/api/v1/auth/verify-email", map[string]any{"token": moveLink}), http.StatusBadRequest, invalidLink)
		u.Password = newPw
		e.Login(u)
		if m := object(t, me(e, u.AccessToken), "id", "type", "email", "full_name", "email_verified", "organization_id", "role",
			"permissions", "created_at"); m["email"] != u.Email {
			t.Fatalf("the account moved: %v", m)
		}

		// A reset link mailed to the address the account had stops working
		// once the account moved to a new one.
		want(t, e.Do(http.MethodPost, "/api/v1/auth/password-reset", map[string]any{"email": u.Email}), http.StatusAccepted, bodyResetAccepted)
		resetLink := tokenIn(u.Email, "Reset your password", identity.ResetPath)
		moved := "moved-" + u.ID[:8] + "@example.com"
		want(t, e.Do(http.MethodPost, "/api/v1/iam/users/me/email", map[string]any{"password": u.Password, "new_email": moved}, u.Bearer()...),
			http.StatusAccepted, strings.Replace(bodyEmailChangeAccepted, "%s", moved, 1))
		want(t, e.Do(http.MethodPost, "/api/v1/auth/verify-email", map[string]any{"token": tokenIn(moved, "Confirm your email address", identity.VerifyPath)}),
			http.StatusOK, `{"user_id":"`+u.ID+`","email":"`+moved+`","email_verified":true}`)
		want(t, e.Do(http.MethodPost, "/api/v1/auth/password-reset/confirm", map[string]any{"token": resetLink, "password": "an intruder's passphrase"}),
			http.StatusBadRequest, bodyInvalidResetLink)
	})
}
