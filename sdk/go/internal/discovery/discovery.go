// Package discovery reads an OpenID Provider's metadata (OpenID Connect
// Discovery 1.0 §4, RFC 8414 §3) for the verifier and the OAuth helpers.
package discovery

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Document holds the members of the metadata the SDK uses.
type Document struct {
	Issuer                            string   `json:"issuer"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	UserinfoEndpoint                  string   `json:"userinfo_endpoint"`
	JWKSURI                           string   `json:"jwks_uri"`
	EndSessionEndpoint                string   `json:"end_session_endpoint"`
	RevocationEndpoint                string   `json:"revocation_endpoint"`
	IntrospectionEndpoint             string   `json:"introspection_endpoint"`
	ScopesSupported                   []string `json:"scopes_supported"`
	CodeChallengeMethodsSupported     []string `json:"code_challenge_methods_supported"`
	IDTokenSigningAlgValuesSupported  []string `json:"id_token_signing_alg_values_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	// AuthorizationResponseIssParameterSupported: the callback carries iss (RFC 9207).
	AuthorizationResponseIssParameterSupported bool `json:"authorization_response_iss_parameter_supported"`
}

// NormalizeIssuer drops trailing slashes: Puguh's issuer has none, and an
// issuer configured as "https://id.example.com/" must still find it.
func NormalizeIssuer(issuer string) string { return strings.TrimRight(issuer, "/") }

// Fetch gets <issuer>/.well-known/openid-configuration and checks that it
// names the same issuer (OIDC Discovery §4.3: otherwise anyone serving a
// document could make us trust their keys) and a jwks_uri.
func Fetch(ctx context.Context, client *http.Client, issuer, userAgent string) (*Document, error) {
	if client == nil {
		client = http.DefaultClient
	}
	u := NormalizeIssuer(issuer) + "/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	if userAgent != "" {
		req.Header.Set("User-Agent", userAgent)
	}
	res, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("discovery: reading %s: %w", u, err)
	}
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("discovery: GET %s answered %d", u, res.StatusCode)
	}
	var doc Document
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("discovery: %s is not a JSON document: %w", u, err)
	}
	if doc.Issuer != NormalizeIssuer(issuer) {
		return nil, fmt.Errorf("discovery: %s names the issuer %q, not %q", u, doc.Issuer, NormalizeIssuer(issuer))
	}
	if doc.JWKSURI == "" {
		return nil, fmt.Errorf("discovery: %s has no jwks_uri", u)
	}
	return &doc, nil
}
