package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// useTokenAlgorithm makes the client_credentials scenario ask for tokens as
// an application whose access tokens are signed with alg (RS256, ES256 or
// EdDSA; the server must have it in PUGUH_SIGNING_ALGORITHMS), instead of as
// the service account, whose tokens are always RS256. The application
// belongs to the first user's organization, which raisePlans lifted.
func (fx *fixtures) useTokenAlgorithm(ctx context.Context, alg string) error {
	u := fx.users[0]
	b, err := postJSON(ctx, newClient(1), fx.base+"/api/v1/applications", map[string]any{
		"name": "bench " + alg, "grant_types": []string{"client_credentials"}, "scopes": []string{"read:resources"},
		"token_endpoint_auth_method": "client_secret_basic", "access_token_signed_response_alg": alg,
	}, http.StatusCreated, "Authorization", "Bearer "+u.Access, "X-Organization-ID", u.OrgID)
	if err != nil {
		return fmt.Errorf("application with %s access tokens: %w", alg, err)
	}
	var app struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
		Alg          string `json:"access_token_signed_response_alg"`
	}
	if err := json.Unmarshal(b, &app); err != nil || app.Alg != alg {
		return fmt.Errorf("application with %s access tokens: got %s", alg, truncate(string(b), 200))
	}
	fx.ccClientID, fx.ccSecret = app.ClientID, app.ClientSecret
	return nil
}
