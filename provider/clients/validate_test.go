package clients

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/arsaka/puguh/provider/problem"
)

func strs(s ...string) *[]string { return &s }
func str(s string) *string       { return &s }
func boolean(b bool) *bool       { return &b }

const redirect = "https://app.example.com/cb"

func TestNewApplicationDefaultsFollowTheGrants(t *testing.T) {
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.FixedZone("WIB", 7*3600))
	for _, tc := range []struct {
		name                   string
		f                      ApplicationFields
		grants, responses, scp []string
		method                 string
		public, secret         bool
	}{
		{"the guide's web app", ApplicationFields{Name: str("Web"), RedirectURIs: strs(redirect)},
			[]string{"authorization_code", "refresh_token"}, []string{"code"}, []string{"openid", "profile", "email", "offline_access"}, "client_secret_post", false, true},
		{"code without refresh: no offline_access", ApplicationFields{Name: str("Web"), RedirectURIs: strs(redirect), GrantTypes: strs("authorization_code")},
			[]string{"authorization_code"}, []string{"code"}, []string{"openid", "profile", "email"}, "client_secret_post", false, true},
		{"a machine client needs no redirect, response type or scope", ApplicationFields{Name: str("Cron"), GrantTypes: strs("client_credentials")},
			[]string{"client_credentials"}, []string{}, []string{}, "client_secret_post", false, true},
		{"public: method none, no secret", ApplicationFields{Name: str("SPA"), RedirectURIs: strs(redirect), Public: boolean(true)},
			[]string{"authorization_code", "refresh_token"}, []string{"code"}, []string{"openid", "profile", "email", "offline_access"}, "none", true, false},
		{"confidential by flag: basic, the CLI's preference", ApplicationFields{Name: str("Web"), RedirectURIs: strs(redirect), Public: boolean(false)},
			[]string{"authorization_code", "refresh_token"}, []string{"code"}, []string{"openid", "profile", "email", "offline_access"}, "client_secret_basic", false, true},
		{"method none makes it public", ApplicationFields{Name: str("SPA"), RedirectURIs: strs(redirect), TokenEndpointAuthMethod: str("none")},
			[]string{"authorization_code", "refresh_token"}, []string{"code"}, []string{"openid", "profile", "email", "offline_access"}, "none", true, false},
		{"the guide's scopes", ApplicationFields{Name: str("Web"), RedirectURIs: strs(redirect), Scopes: strs("read:user", "read:resources")},
			[]string{"authorization_code", "refresh_token"}, []string{"code"}, []string{"read:user", "read:resources"}, "client_secret_post", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, secret, err := NewApplication("org", tc.f, now)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(a.GrantTypes, tc.grants) || !slices.Equal(a.ResponseTypes, tc.responses) || !slices.Equal(a.Scopes, tc.scp) {
				t.Fatalf("grants %v responses %v scopes %v", a.GrantTypes, a.ResponseTypes, a.Scopes)
			}
			if a.TokenEndpointAuthMethod != tc.method || a.Public != tc.public || (secret != "") != tc.secret || (len(a.SecretHash) > 0) != tc.secret {
				t.Fatalf("method %q public %v secret %q hash %d", a.TokenEndpointAuthMethod, a.Public, secret, len(a.SecretHash))
			}
			if a.OrganizationID != "org" || a.ID == "" || a.CreatedAt.Location() != time.UTC || !a.CreatedAt.Equal(now) {
				t.Fatalf("%+v", a)
			}
		})
	}
}

func TestUpdateApplicationMovesPublicAndMethodTogether(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		name      string
		start     ApplicationFields
		change    ApplicationFields
		method    string
		public    bool
		newSecret bool
	}{
		{"public → confidential by flag: basic and a new secret",
			ApplicationFields{Name: str("a"), RedirectURIs: strs(redirect), Public: boolean(true)},
			ApplicationFields{Public: boolean(false)}, "client_secret_basic", false, true},
		{"confidential → public by method: no secret",
			ApplicationFields{Name: str("a"), RedirectURIs: strs(redirect)},
			ApplicationFields{TokenEndpointAuthMethod: str("none")}, "none", true, false},
		{"post → basic keeps the secret",
			ApplicationFields{Name: str("a"), RedirectURIs: strs(redirect)},
			ApplicationFields{TokenEndpointAuthMethod: str("client_secret_basic")}, "client_secret_basic", false, false},
		{"a rename leaves authentication alone",
			ApplicationFields{Name: str("a"), RedirectURIs: strs(redirect)},
			ApplicationFields{Name: str("b")}, "client_secret_post", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, _, err := NewApplication("org", tc.start, now)
			if err != nil {
				t.Fatal(err)
			}
			hash := slices.Clone(a.SecretHash)
			secret, err := UpdateApplication(a, tc.change, now)
			if err != nil {
				t.Fatal(err)
			}
			if a.TokenEndpointAuthMethod != tc.method || a.Public != tc.public || (secret != "") != tc.newSecret {
				t.Fatalf("method %q public %v secret %q", a.TokenEndpointAuthMethod, a.Public, secret)
			}
			switch {
			case tc.public && len(a.SecretHash) != 0:
				t.Fatal("a public client kept its secret hash")
			case !tc.public && !tc.newSecret && !slices.Equal(hash, a.SecretHash):
				t.Fatal("the secret changed without being asked")
			}
		})
	}
}

func TestUpdateApplicationLeavesTheApplicationAloneOnError(t *testing.T) {
	a, _, err := NewApplication("org", ApplicationFields{Name: str("a"), RedirectURIs: strs(redirect)}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	before := *a
	_, err = UpdateApplication(a, ApplicationFields{Name: str("b"), GrantTypes: strs("client_credentials", "password"), Public: boolean(true)}, time.Now())
	p := problem.As(err)
	if p == nil || p.Kind != problem.Invalid {
		t.Fatalf("%v", err)
	}
	// Every issue at once, each at the field the client sent.
	want := []problem.Issue{
		{Loc: []any{"grant_types", 1}, Msg: "value is not a valid enumeration member; permitted: 'authorization_code', 'refresh_token', 'client_credentials'", Type: "type_error.enum"},
		{Loc: []any{"grant_types"}, Msg: "response types need the authorization_code grant", Type: "value_error.response_types"},
		{Loc: []any{"grant_types"}, Msg: "public clients cannot use the client_credentials grant", Type: "value_error.grant_types"},
	}
	if fmt.Sprint(p.Issues) != fmt.Sprint(want) {
		t.Fatalf("issues\n got %v\nwant %v", p.Issues, want)
	}
	if a.Name != before.Name || !slices.Equal(a.GrantTypes, before.GrantTypes) || a.Public != before.Public {
		t.Fatalf("a refused update changed the application: %+v", a)
	}
}
