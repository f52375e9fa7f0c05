package app_test

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
)

// The sign-up page says what POST /api/v1/auth/register says, next to the
// field it is about, with the same status; a good sign-up signs the browser
// in and lands on /account.
func TestSignupMatchesRegister(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	taken := e.NewUser()
	cases := []struct {
		name, email, password, fullName, field string
	}{
		{"bad email", "not-an-email", "correct horse battery", "Ada", "email"},
		{"short password", "ada1@example.com", "short", "Ada", "password"},
		{"common password", "ada2@example.com", "password123", "Ada", "password"},
		{"password is the email", "ada3@example.com", "ada3@example.com", "Ada", "password"},
		{"empty name", "ada4@example.com", "correct horse battery", "  ", "full_name"},
		{"duplicate email", strings.ToUpper(taken.Email), "correct horse battery", "Ada", "email"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.Do(http.MethodPost, "/api/v1/auth/register", map[string]string{"email": c.email, "password": c.password, "full_name": c.fullName})
			var body struct {
				Detail any `json:"detail"`
			}
			r.JSON(t, &body)
			var want string
			switch d := body.Detail.(type) {
			case string:
				want = d
			case []any:
				want = d[0].(map[string]any)["msg"].(string)
			}
			b := newBrowser(t, e)
			p := postForm(t, b, "/signup", "/signup", url.Values{"email": {c.email}, "password": {c.password}, "full_name": {c.fullName}})
			if p.Status != r.Status {
				t.Errorf("status %d, REST says %d", p.Status, r.Status)
			}
			got := `<p class="field-error" id="` + c.field + `-error">` + html.EscapeString(want) + `</p>`
			if want == "" || !strings.Contains(p.Body, got) {
				t.Errorf("page lacks %s\n%.2500s", got, p.Body)
			}
			if strings.Contains(p.Body, `value="`+html.EscapeString(c.password)+`"`) && c.password != c.email {
				t.Error("the password was echoed back into the form")
			}
		})
	}
	t.Run("success", func(t *testing.T) {
		b := newBrowser(t, e)
		p := postForm(t, b, "/signup", "/signup", url.Values{"email": {"grace@example.com"}, "password": {"correct horse battery"}, "full_name": {"Grace Hopper"}})
		if p.Status != http.StatusSeeOther || p.Location.Path != "/account" {
			t.Fatalf("sign-up: %d %v", p.Status, p.Location)
		}
		if a := b.get("/account"); a.Status != http.StatusOK || !strings.Contains(a.Body, `value="Grace Hopper"`) {
			t.Fatalf("after sign-up /account: %d", a.Status)
		}
		if r := e.Do(http.MethodPost, "/api/v1/auth/login", map[string]string{"email": "grace@example.com", "password": "correct horse battery"}); r.Status != http.StatusOK {
			t.Errorf("REST login of the signed-up user: %d", r.Status)
		}
	})
}
