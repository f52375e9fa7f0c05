package httpapi_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/arsaka/puguh/provider/httpapi"
)

// BenchmarkDecodeJSON measures DecodeJSON on the bodies the API sees most: a
// sign-in and an application registration (lists and nested values).
func BenchmarkDecodeJSON(b *testing.B) {
	type login struct {
		Email    *string `json:"email"`
		Password *string `json:"password"`
	}
	type application struct {
		Name                    *string   `json:"name"`
		RedirectURIs            *[]string `json:"redirect_uris"`
		PostLogoutRedirectURIs  *[]string `json:"post_logout_redirect_uris"`
		GrantTypes              *[]string `json:"grant_types"`
		ResponseTypes           *[]string `json:"response_types"`
		Scopes                  *[]string `json:"scopes"`
		TokenEndpointAuthMethod *string   `json:"token_endpoint_auth_method"`
		Public                  *bool     `json:"public"`
		Trusted                 *bool     `json:"trusted"`
	}
	cases := []struct {
		name string
		body string
		dst  func() any
	}{
		{"login", `{"email": "newuser@example.com", "password": "secure_password"}`, func() any { return &login{} }},
		{"application", `{"name": "Acme Dashboard", "redirect_uris": ["https://app.example.com/callback", "http://localhost:3000/callback"],
			"post_logout_redirect_uris": ["https://app.example.com/signed-out"], "grant_types": ["authorization_code", "refresh_token"],
			"response_types": ["code"], "scopes": ["openid", "profile", "email", "offline_access", "read:user"],
			"token_endpoint_auth_method": "client_secret_basic", "public": false, "trusted": false}`, func() any { return &application{} }},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			body := []byte(tc.body)
			rd := bytes.NewReader(body)
			req := httptest.NewRequest(http.MethodPost, "/", nil)
			req.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				rd.Reset(body)
				req.Body = io.NopCloser(rd)
				if err := httpapi.DecodeJSON(w, req, 1<<20, tc.dst()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
