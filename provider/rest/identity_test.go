package rest_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
)

// The guide's curls, verbatim (bodies byte for byte, headers as sent by curl).
const (
	guideRegisterBody = `{
    "email": "newuser@example.com",
    "password": "secure_password",
    "full_name": "Jane Doe"
  }`
	guideLoginBody = `{
    "email": "user@example.com",
    "password": "your_password"
  }`
	guideTestLoginBody = `{"email": "user@example.com", "password": "your_password"}`
)

func guideRefreshBody(rt string) string {
	return `{
    "refresh_token": "` + rt + `"
  }`
}

// TestGuideJWTSections runs every curl of the guide's JWT sections in order:
// Register, Login, Using JWT Tokens, Refreshing Tokens, Revoke on logout,
// Test JWT Token, and the JWKS curl, checking exact statuses and JSON shapes.
func TestGuideJWTSections(t *testing.T) {
	forEachBackend(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		// Register.
		r := e.Do(http.MethodPost, "/api/v1/auth/register", guideRegisterBody, "Content-Type", "application/json")
		if r.Status != http.StatusCreated {
			t.Fatalf("register: %d %s", r.Status, r.Body)
		}
		reg := object(t, r, "user_id", "email", "organization_id")
		wantUUID(t, "user_id", reg["user_id"])
		wantUUID(t, "organization_id", reg["organization_id"])
		if reg["email"] != "newuser@example.com" {
			t.Fatalf("email = %v", reg["email"])
		}

		// The guide logs in as user@example.com, so that account must exist.
		r = e.Do(http.MethodPost, "/api/v1/auth/register", `{"email":"user@example.com","password":"your_password","full_name":"A User"}`)
		if r.Status != http.StatusCreated {
			t.Fatalf("register user@example.com: %d %s", r.Status, r.Body)
		}
		var user struct {
			UserID         string `json:"user_id"`
			OrganizationID string `json:"organization_id"`
		}
		r.JSON(t, &user)

		// Login: the response is returned directly, no wrapper.
		r = e.Do(http.MethodPost, "/api/v1/auth/login", guideLoginBody, "Content-Type", "application/json")
		pair := pairOf(t, r)
		if !strings.HasPrefix(pair.AccessToken, "eyJhbGciOiJSUzI1NiIs") {
			t.Fatalf("access token does not start like the guide's RS256 JWT: %.30s", pair.AccessToken)
		}

		// JWKS.
		r = e.Do(http.MethodGet, "/.well-known/jwks.json", nil)
		if r.Status != http.StatusOK {
			t.Fatalf("jwks: %d %s", r.Status, r.Body)
		}
		object(t, r, "keys")

		// Using JWT Tokens.
		r = e.Do(http.MethodGet, "/api/v1/organizations", nil, bearer(pair.AccessToken)...)
		if r.Status != http.StatusOK {
			t.Fatalf("organizations: %d %s", r.Status, r.Body)
		}
		var orgs struct {
			Items []map[string]any `json:"items"`
		}
		object(t, r, "items")
		r.JSON(t, &orgs)
		if len(orgs.Items) != 1 {
			t.Fatalf("want the personal organization only: %s", r.Body)
		}
		o := orgs.Items[0]
		if o["id"] != user.OrganizationID || o["role"] != "owner" || o["plan"] != "free" || o["personal"] != true || o["name"] != "A User" {
			t.Fatalf("personal organization: %s", r.Body)
		}

		// Refreshing Tokens: the refresh token rotates.
		r = e.Do(http.MethodPost, "/api/v1/auth/refresh", guideRefreshBody(pair.RefreshToken), "Content-Type", "application/json")
		next := pairOf(t, r)
		if next.RefreshToken == pair.RefreshToken || next.AccessToken == pair.AccessToken {
			t.Fatal("refresh did not rotate the pair")
		}
		if got := claims(t, next.AccessToken)["sub"]; got != user.UserID {
			t.Fatalf("refreshed token sub = %v, want %s", got, user.UserID)
		}

		// Test JWT Token: login (compact body), then GET /api/v1/iam/users.
		r = e.Do(http.MethodPost, "/api/v1/auth/login", guideTestLoginBody, "Content-Type", "application/json")
		token := pairOf(t, r).AccessToken
		r = e.Do(http.MethodGet, "/api/v1/iam/users", nil, "Authorization", "Bearer "+token)
		if r.Status != http.StatusOK {
			t.Fatalf("iam/users: %d %s", r.Status, r.Body)
		}
		var users struct {
			Items []map[string]any `json:"items"`
		}
		object(t, r, "items")
		r.JSON(t, &users)
		if len(users.Items) != 1 || users.Items[0]["user_id"] != user.UserID || users.Items[0]["email"] != "user@example.com" ||
			users.Items[0]["role"] != "owner" || users.Items[0]["full_name"] != "A User" {
			t.Fatalf("iam/users: %s", r.Body)
		}

		// Token Security: revoke on logout (curl sends no body and no Content-Type).
		r = e.Do(http.MethodPost, "/api/v1/auth/logout", nil, "Authorization", "Bearer "+next.AccessToken)
		want(t, r, http.StatusNoContent, "")
		want401(t, e.Do(http.MethodGet, "/api/v1/organizations", nil, bearer(next.AccessToken)...))
	})
}

// TestErrorResponses checks every example of the guide's "Error Responses".
func TestErrorResponses(t *testing.T) {
	forEachBackend(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		t.Run("401 invalid token", func(t *testing.T) {
			t.Parallel()
			e := at(t, e)
			for _, h := range []string{"Bearer not-a-jwt", "Bearer ", "Bearer a.b.c", "Basic dXNlcjpwYXNz", "Bearer"} {
				want401(t, e.Do(http.MethodGet, "/api/v1/organizations", nil, "Authorization", h))
			}
		})
		t.Run("401 missing credentials", func(t *testing.T) {
			t.Parallel()
			e := at(t, e)
			for _, path := range []string{"/api/v1/organizations", "/api/v1/iam/users", "/api/v1/iam/users/me"} {
				r := e.Do(http.MethodGet, path, nil)
				want401(t, r)
				// RFC 6750 §3.1: no error code when the request had no credentials.
				if h := r.Header.Get("WWW-Authenticate"); strings.Contains(h, "error=") {
					t.Fatalf("%s: WWW-Authenticate %q names an error for a request without credentials", path, h)
				}
			}
			want401(t, e.Do(http.MethodPost, "/api/v1/auth/logout", nil))
		})
		t.Run("403 missing permission", func(t *testing.T) {
			t.Parallel()
			e := at(t, e)
			owner, member, other := e.NewUser(), e.NewUser(), e.NewUser()
			path := "/api/v1/organizations/" + owner.OrganizationID + "/members"
			r := e.Do(http.MethodPost, path, map[string]string{"email": member.Email, "role": "member"}, owner.Bearer()...)
			if r.Status != http.StatusCreated {
				t.Fatalf("owner adds member: %d %s", r.Status, r.Body)
			}
			r = e.Do(http.MethodPost, path, map[string]string{"email": other.Email, "role": "viewer"}, member.Bearer()...)
			want(t, r, http.StatusForbidden, `{"detail":"Missing permission: organization.members.create"}`)
		})
		t.Run("422 invalid email", func(t *testing.T) {
			t.Parallel()
			e := at(t, e)
			r := e.Do(http.MethodPost, "/api/v1/auth/register", `{"email":"not-an-email","password":"secure_password","full_name":"Jane Doe"}`)
			want(t, r, http.StatusUnprocessableEntity, `{
  "detail": [
    {
      "loc": ["body", "email"],
      "msg": "value is not a valid email address",
      "type": "value_error.email"
    }
  ]
}`)
		})
	})
}

// TestRegisterValidation checks each invalid field gives a 422 at its loc, and
// the other refusals of registration (docs/security.md, "Accounts and sessions": 8 to at least 128
// characters, no truncation, common passwords refused).
func TestRegisterValidation(t *testing.T) {
	forEachBackend(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		tooShort := invalid("ensure this value has at least 8 characters", "value_error.any_str.min_length", "body", "password")
		tooLong := invalid("ensure this value has at most 256 characters", "value_error.any_str.max_length", "body", "password")
		common := invalid("password is too common", "value_error.password", "body", "password")
		isEmail := invalid("password must not be your email address", "value_error.password", "body", "password")
		badEmail := invalid("value is not a valid email address", "value_error.email", "body", "email")
		nameEmpty := invalid("ensure this value has at least 1 characters", "value_error.any_str.min_length", "body", "full_name")
		for _, tc := range []struct {
			name, body, want string
		}{
			{"email malformed", `{"email":"jane@","password":"secure_password","full_name":"Jane"}`, badEmail},
			{"email display name", `{"email":"Jane <jane@example.com>","password":"secure_password","full_name":"Jane"}`, badEmail},
			{"email no tld", `{"email":"jane@localhost","password":"secure_password","full_name":"Jane"}`, badEmail},
			{"email missing", `{"password":"secure_password","full_name":"Jane"}`, invalid("field required", "value_error.missing", "body", "email")},
			{"email not a string", `{"email":42,"password":"secure_password","full_name":"Jane"}`, invalid("str type expected", "type_error.str", "body", "email")},
			{"password missing", `{"email":"jane@example.com","full_name":"Jane"}`, invalid("field required", "value_error.missing", "body", "password")},
			{"password 7 characters", `{"email":"jane@example.com","password":"abcdefg","full_name":"Jane"}`, tooShort},
			{"password 7 runes in 14 bytes", `{"email":"jane@example.com","password":"ééééééé","full_name":"Jane"}`, tooShort},
			{"password 257 characters", `{"email":"jane@example.com","password":"` + strings.Repeat("ab", 128) + `c","full_name":"Jane"}`, tooLong},
			{"password common", `{"email":"jane@example.com","password":"Password123","full_name":"Jane"}`, common},
			{"password equal to email", `{"email":"jane.doe@example.com","password":"Jane.Doe@Example.com","full_name":"Jane"}`, isEmail},
			{"password equal to local part", `{"email":"jane.doe@example.com","password":"jane.doe","full_name":"Jane"}`, isEmail},
			{"full_name missing", `{"email":"jane@example.com","password":"secure_password"}`, invalid("field required", "value_error.missing", "body", "full_name")},
			{"full_name empty", `{"email":"jane@example.com","password":"secure_password","full_name":""}`, nameEmpty},
			{"full_name blank", `{"email":"jane@example.com","password":"secure_password","full_name":"   "}`, nameEmpty},
			{"unknown field", `{"email":"jane@example.com","password":"secure_password","full_name":"Jane","admin":true}`, invalid("extra fields not permitted", "value_error.extra", "body", "admin")},
			{"malformed JSON", `{"email":"jane@example.com",`, bodyJSONDecode},
			{"not an object", `["jane@example.com"]`, invalid("value is not a valid dict", "type_error.dict", "body")},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				want(t, at(t, e).Do(http.MethodPost, "/api/v1/auth/register", tc.body), http.StatusUnprocessableEntity, tc.want)
			})
		}
		t.Run("several fields at once", func(t *testing.T) {
			t.Parallel()
			r := at(t, e).Do(http.MethodPost, "/api/v1/auth/register", `{"email":"x","password":"short"}`)
			want(t, r, http.StatusUnprocessableEntity, `{"detail":[
				{"loc":["body","email"],"msg":"value is not a valid email address","type":"value_error.email"},
				{"loc":["body","password"],"msg":"ensure this value has at least 8 characters","type":"value_error.any_str.min_length"},
				{"loc":["body","full_name"],"msg":"field required","type":"value_error.missing"}]}`)
		})
		t.Run("wrong content type", func(t *testing.T) {
			t.Parallel()
			e := at(t, e)
			for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", ""} {
				r := e.Do(http.MethodPost, "/api/v1/auth/register", guideRegisterBody, "Content-Type", ct)
				want(t, r, http.StatusUnsupportedMediaType, body415)
				r = e.Do(http.MethodPost, "/api/v1/auth/login", guideLoginBody, "Content-Type", ct)
				want(t, r, http.StatusUnsupportedMediaType, body415)
			}
		})
		t.Run("duplicate email case-insensitively", func(t *testing.T) {
			t.Parallel()
			e := at(t, e)
			body := func(email string) string {
				return `{"email":"` + email + `","password":"secure_password","full_name":"Dup"}`
			}
			r := e.Do(http.MethodPost, "/api/v1/auth/register", body(" Dup.User@Example.COM "))
			if r.Status != http.StatusCreated {
				t.Fatalf("first: %d %s", r.Status, r.Body)
			}
			if m := object(t, r, "user_id", "email", "organization_id"); m["email"] != "dup.user@example.com" {
				t.Fatalf("email not normalised: %v", m["email"])
			}
			for _, email := range []string{"dup.user@example.com", "DUP.USER@EXAMPLE.COM", "Dup.User@example.com"} {
				want(t, e.Do(http.MethodPost, "/api/v1/auth/register", body(email)), http.StatusConflict, `{"detail":"Email already registered"}`)
			}
			// The account logs in under any spelling.
			pairOf(t, e.Do(http.MethodPost, "/api/v1/auth/login", `{"email":"DUP.user@example.com","password":"secure_password"}`))
		})
		t.Run("passwords are not truncated", func(t *testing.T) {
			t.Parallel()
			e := at(t, e)
			for _, n := range []int{8, 72, 128, 129, 256} {
				pw := strings.Repeat("x", n-1) + "!"
				u := e.RegisterAndLogin("len-"+strconv.Itoa(n)+"@example.com", pw, "Length")
				// bcrypt would accept any password sharing the first 72 bytes.
				for _, wrong := range []string{pw[:n-1], pw + "x", strings.Repeat("x", n)} {
					r := e.Do(http.MethodPost, "/api/v1/auth/login", map[string]string{"email": u.Email, "password": wrong})
					want(t, r, http.StatusUnauthorized, bodyBadCredentials)
				}
			}
		})
	})
}

// TestLogin checks login's refusals: the same answer for an unknown email, a
// wrong password and a disabled account (docs/security.md, "Accounts and sessions"), and the
// request's own validation.
func TestLogin(t *testing.T) {
	forEachBackend(t, apptest.Options{}, func(t *testing.T, e *apptest.Env) {
		u := e.NewUser()
		disabled := e.NewUser()
		exec(t, e, "UPDATE users SET disabled = TRUE WHERE id = ?", disabled.ID)

		login := func(t *testing.T, body string) *apptest.Response {
			return at(t, e).Do(http.MethodPost, "/api/v1/auth/login", body)
		}
		reference := login(t, `{"email":"`+u.Email+`","password":"wrong password!"}`)
		want(t, reference, http.StatusUnauthorized, bodyBadCredentials)
		for _, tc := range []struct{ name, body string }{
			{"unknown email", `{"email":"nobody-` + u.ID[:8] + `@example.com","password":"correct horse battery"}`},
			{"not an email", `{"email":"nobody","password":"correct horse battery"}`},
			{"empty password", `{"email":"` + u.Email + `","password":""}`},
			{"disabled account, right password", `{"email":"` + disabled.Email + `","password":"` + disabled.Password + `"}`},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				r := login(t, tc.body)
				want(t, r, reference.Status, string(reference.Body))
				sameHeaders(t, reference.Header, r.Header)
			})
		}
		t.Run("missing fields", func(t *testing.T) {
			t.Parallel()
			want(t, login(t, `{"email":"`+u.Email+`"}`), http.StatusUnprocessableEntity,
				invalid("field required", "value_error.missing", "body", "password"))
			want(t, login(t, `{}`), http.StatusUnprocessableEntity, `{"detail":[
				{"loc":["body","email"],"msg":"field required","type":"value_error.missing"},
				{"loc":["body","password"],"msg":"field required","type":"value_error.missing"}]}`)
			want(t, login(t, `{"email":`), http.StatusUnprocessableEntity, bodyJSONDecode)
		})
		t.Run("email case and spaces", func(t *testing.T) {
			t.Parallel()
			pairOf(t, login(t, `{"email":"  `+strings.ToUpper(u.Email)+`","password":"`+u.Password+`"}`))
		})
	})
}

// sameHeaders compares two responses' headers: the same names, and the same
// values apart from those that differ between any two responses (date,
// request id, the second at which a rate-limit window resets).
func sameHeaders(t *testing.T, a, b http.Header) {
	t.Helper()
	norm := func(h http.Header) map[string]string {
		m := map[string]string{}
		for k, v := range h {
			m[k] = strings.Join(v, "\n")
			if k == "Date" || k == "X-Request-Id" || k == "X-Ratelimit-Reset" {
				m[k] = "(varies)"
			}
		}
		return m
	}
	ha, hb := norm(a), norm(b)
	if len(ha) != len(hb) {
		t.Fatalf("headers differ:\n%v\n%v", ha, hb)
	}
	for k, v := range ha {
		if hb[k] != v {
			t.Fatalf("header %s: %q vs %q", k, v, hb[k])
		}
	}
}
