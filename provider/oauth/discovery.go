package oauth

import (
	"encoding/json"
	"net/http"
)

// Discovery is the OpenID Provider Metadata (OpenID Connect Discovery 1.0 §3,
// RFC 8414 §2). It lists only what Puguh does: a client that trusts it never
// tries a flow we refuse.
type Discovery struct {
	Issuer                                     string   `json:"issuer"`
	AuthorizationEndpoint                      string   `json:"authorization_endpoint"`
	TokenEndpoint                              string   `json:"token_endpoint"`
	UserinfoEndpoint                           string   `json:"userinfo_endpoint"`
	JWKSURI                                    string   `json:"jwks_uri"`
	EndSessionEndpoint                         string   `json:"end_session_endpoint"`
	RevocationEndpoint                         string   `json:"revocation_endpoint"`
	IntrospectionEndpoint                      string   `json:"introspection_endpoint"`
	ScopesSupported                            []string `json:"scopes_supported"`
	ResponseTypesSupported                     []string `json:"response_types_supported"`
	ResponseModesSupported                     []string `json:"response_modes_supported"`
	GrantTypesSupported                        []string `json:"grant_types_supported"`
	SubjectTypesSupported                      []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported           []string `json:"id_token_signing_alg_values_supported"`
	UserinfoSigningAlgValuesSupported          []string `json:"userinfo_signing_alg_values_supported"`
	TokenEndpointAuthMethodsSupported          []string `json:"token_endpoint_auth_methods_supported"`
	RevocationEndpointAuthMethodsSupported     []string `json:"revocation_endpoint_auth_methods_supported"`
	IntrospectionEndpointAuthMethodsSupported  []string `json:"introspection_endpoint_auth_methods_supported"`
	CodeChallengeMethodsSupported              []string `json:"code_challenge_methods_supported"`
	ClaimsSupported                            []string `json:"claims_supported"`
	PromptValuesSupported                      []string `json:"prompt_values_supported"`
	ACRValuesSupported                         []string `json:"acr_values_supported"`
	ClaimsParameterSupported                   bool     `json:"claims_parameter_supported"`
	RequestParameterSupported                  bool     `json:"request_parameter_supported"`
	RequestURIParameterSupported               bool     `json:"request_uri_parameter_supported"`
	AuthorizationResponseIssParameterSupported bool     `json:"authorization_response_iss_parameter_supported"`
	FrontchannelLogoutSupported                bool     `json:"frontchannel_logout_supported"`
	BackchannelLogoutSupported                 bool     `json:"backchannel_logout_supported"`
}

// clientAuthMethods are the token endpoint's client authentication methods.
var clientAuthMethods = []string{"client_secret_basic", "client_secret_post", "none"}

// Discovery returns the metadata of this provider.
func (p *Provider) Discovery() Discovery {
	iss := p.cfg.Issuer
	return Discovery{
		Issuer:                                 iss,
		AuthorizationEndpoint:                  iss + "/oauth/authorize",
		TokenEndpoint:                          iss + "/oauth/token",
		UserinfoEndpoint:                       iss + "/oauth/userinfo",
		JWKSURI:                                iss + "/.well-known/jwks.json",
		EndSessionEndpoint:                     iss + "/oauth/logout",
		RevocationEndpoint:                     iss + "/oauth/revoke",
		IntrospectionEndpoint:                  iss + "/oauth/introspect",
		ScopesSupported:                        []string{"openid", "profile", "email", "offline_access"},
		ResponseTypesSupported:                 []string{"code"},
		ResponseModesSupported:                 []string{"query"},
		GrantTypesSupported:                    []string{"authorization_code", "refresh_token", "client_credentials"},
		SubjectTypesSupported:                  []string{"public"},
		IDTokenSigningAlgValuesSupported:       p.signingAlgorithms(),
		UserinfoSigningAlgValuesSupported:      []string{"none"},
		TokenEndpointAuthMethodsSupported:      clientAuthMethods,
		RevocationEndpointAuthMethodsSupported: clientAuthMethods,
		// RFC 7662 §2.1: introspection needs an authenticated client.
		IntrospectionEndpointAuthMethodsSupported: []string{"client_secret_basic"},
		CodeChallengeMethodsSupported:             []string{"S256"},
		ClaimsSupported: []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "at_hash",
			"email", "email_verified", "name", "amr", "acr"},
		PromptValuesSupported: []string{"none", "login", "consent"},
		// provider/mfa: one factor, two factors (docs/mfa.md).
		ACRValuesSupported:                         []string{"urn:puguh:acr:pwd", "urn:puguh:acr:mfa"},
		AuthorizationResponseIssParameterSupported: true,
	}
}

// signingAlgorithms are the algorithms ID tokens may be signed with.
func (p *Provider) signingAlgorithms() []string {
	if len(p.cfg.SigningAlgorithms) == 0 {
		return []string{"RS256"}
	}
	return p.cfg.SigningAlgorithms
}

// discovery serves /.well-known/openid-configuration. The document changes only
// with configuration, so caches may keep it for an hour.
func (e *Endpoints) discovery(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Header().Set("Access-Control-Allow-Origin", "*") // public metadata, read by browser-based clients
	_ = json.NewEncoder(w).Encode(e.P.Discovery())
}
