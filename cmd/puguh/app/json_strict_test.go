package app_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
)

// TestRequestBodiesAreStrictJSON: a key must be a field's name exactly, and
// appear once. encoding/json folded case ("paſſword" signed in) and kept the
// last of duplicates ({"role":"viewer","ROLE":"owner"} added an owner).
func TestRequestBodiesAreStrictJSON(t *testing.T) {
	apptest.ForEachDeployment(t, func(t *testing.T, e *apptest.Env) {
		owner := e.NewUser()
		other := e.NewUser()
		quote := func(s string) string {
			b, _ := json.Marshal(s)
			return string(b)
		}
		extra := func(key string) string {
			return `{"detail":[{"loc":["body",` + quote(key) + `],"msg":"extra fields not permitted","type":"value_error.extra"}]}`
		}
		duplicate := func(key string) string {
			return `{"detail":[{"loc":["body",` + quote(key) + `],"msg":"duplicate key not permitted","type":"value_error.duplicate_key"}]}`
		}
		members := "/api/v1/organizations/" + owner.OrganizationID + "/members"
		cases := []struct {
			name, method, path, body string
			headers                  []string
			want                     string
		}{
			{"role in upper case beside role", http.MethodPost, members,
				`{"email":` + quote(other.Email) + `,"role":"viewer","ROLE":"owner"}`, owner.Bearer(), extra("ROLE")},
			{"role twice", http.MethodPost, members,
				`{"email":` + quote(other.Email) + `,"role":"viewer","role":"owner"}`, owner.Bearer(), duplicate("role")},
			{"password with long s", http.MethodPost, "/api/v1/auth/login",
				`{"email":` + quote(owner.Email) + `,"paſſword":` + quote(owner.Password) + `}`, nil, extra("paſſword")},
			{"Password capitalised", http.MethodPost, "/api/v1/auth/login",
				`{"email":` + quote(owner.Email) + `,"Password":` + quote(owner.Password) + `}`, nil, extra("Password")},
			{"password twice, the right one last", http.MethodPost, "/api/v1/auth/login",
				`{"email":` + quote(owner.Email) + `,"password":"wrong password","password":` + quote(owner.Password) + `}`, nil, duplicate("password")},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				r := e.Do(tc.method, tc.path, tc.body, tc.headers...)
				if r.Status != http.StatusUnprocessableEntity || strings.TrimSpace(string(r.Body)) != tc.want {
					t.Fatalf("got %d %s\nwant 422 %s", r.Status, r.Body, tc.want)
				}
			})
		}
		r := e.Do(http.MethodGet, members, nil, owner.Bearer()...)
		if r.Status != http.StatusOK || strings.Contains(string(r.Body), other.ID) {
			t.Fatalf("members after the refusals: %d %s", r.Status, r.Body)
		}
	})
}
