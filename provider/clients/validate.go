// Package clients holds the rules of OAuth applications (the clients of
// Puguh's authorization server) shared by the REST API, the account pages and
// the command line: what an application may register (grant types, redirect
// URIs, scopes, how it authenticates), who may create, change, delete and
// trust one, and the consent grants users gave it.
package clients

import (
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"

	"github.com/arsaka/puguh/provider/credentials"
	"github.com/arsaka/puguh/provider/problem"
	"github.com/arsaka/puguh/storage"
)

// What an application may ask for. The implicit and password grants are
// deliberately absent (RFC 9700 §2.1.2, §2.4), and so is every response type
// but code.
var (
	allowedGrantTypes    = []string{"authorization_code", "refresh_token", "client_credentials"}
	allowedResponseTypes = []string{"code"}
	allowedAuthMethods   = []string{"client_secret_basic", "client_secret_post", "none"}
	// allowedSigningAlgs are the JWS algorithms Puguh can sign an
	// application's tokens with; which of them this server has keys for is
	// Service.SigningAlgorithms. RS256 is the default.
	allowedSigningAlgs = []string{"RS256", "ES256", "EdDSA"}
	// scopePattern admits the OIDC scopes (openid profile email offline_access)
	// and organization-defined ones such as read:user.
	scopePattern = regexp.MustCompile(`^[a-z][a-z0-9_.:-]{0,63}$`)
)

// Limits that keep one application's row and the consent page reasonable.
const (
	maxRedirectURIs = 20
	maxURILength    = 2000
	maxScopes       = 100
)

// ApplicationFields are an application's settable fields; nil means "not
// given" (on create: the default; on PATCH: unchanged).
type ApplicationFields struct {
	Name                    *string   `json:"name"`
	RedirectURIs            *[]string `json:"redirect_uris"`
	PostLogoutRedirectURIs  *[]string `json:"post_logout_redirect_uris"`
	GrantTypes              *[]string `json:"grant_types"`
	ResponseTypes           *[]string `json:"response_types"`
	Scopes                  *[]string `json:"scopes"`
	TokenEndpointAuthMethod *string   `json:"token_endpoint_auth_method"`
	Public                  *bool     `json:"public"`
	Trusted                 *bool     `json:"trusted"`
	// The JWS algorithms of the application's ID tokens and access tokens.
	IDTokenSignedResponseAlg     *string `json:"id_token_signed_response_alg"`
	AccessTokenSignedResponseAlg *string `json:"access_token_signed_response_alg"`
}

// NewApplication validates f for a new application of orgID and returns it
// with its client secret (empty for a public client), which the caller shows
// once. The error is an Invalid problem listing every issue.
func NewApplication(orgID string, f ApplicationFields, now time.Time) (*storage.Application, string, error) {
	a := &storage.Application{ID: uuid.NewString(), OrganizationID: orgID, CreatedAt: now.UTC(), UpdatedAt: now.UTC()}
	grants := []string{"authorization_code", "refresh_token"}
	if f.GrantTypes != nil {
		grants = *f.GrantTypes
	}
	// Defaults follow the other fields: a client_credentials-only client needs
	// no redirect URI, response type or OIDC scope.
	defaults := ApplicationFields{
		Name: f.Name, RedirectURIs: &[]string{}, PostLogoutRedirectURIs: &[]string{}, GrantTypes: &grants,
		ResponseTypes: &[]string{}, Scopes: &[]string{}, Trusted: new(bool),
		IDTokenSignedResponseAlg: &allowedSigningAlgs[0], AccessTokenSignedResponseAlg: &allowedSigningAlgs[0],
	}
	if slices.Contains(grants, "authorization_code") {
		defaults.ResponseTypes = &[]string{"code"}
		defaults.Scopes = &[]string{"openid", "profile", "email"}
		if slices.Contains(grants, "refresh_token") {
			defaults.Scopes = &[]string{"openid", "profile", "email", "offline_access"}
		}
	}
	merged := defaults.overlay(f)
	if merged.Public == nil && merged.TokenEndpointAuthMethod == nil {
		// client_secret_post by default: the public API guide exchanges codes
		// with client_id and client_secret in the form body. It is the
		// declared preference only: a confidential client may authenticate
		// with either secret method (provider/oauth/clientauth.go).
		post := "client_secret_post"
		merged.Public, merged.TokenEndpointAuthMethod = new(bool), &post
	}
	secret, err := applyApplication(a, merged, f, true)
	return a, secret, err
}

// UpdateApplication applies the fields given in f to a (PATCH semantics),
// validates the result, and returns a new client secret when the change made
// a public client confidential (shown once), else "".
func UpdateApplication(a *storage.Application, f ApplicationFields, now time.Time) (string, error) {
	cur := ApplicationFields{
		Name: &a.Name, RedirectURIs: &a.RedirectURIs, PostLogoutRedirectURIs: &a.PostLogoutRedirectURIs,
		GrantTypes: &a.GrantTypes, ResponseTypes: &a.ResponseTypes, Scopes: &a.Scopes,
		TokenEndpointAuthMethod: &a.TokenEndpointAuthMethod, Public: &a.Public, Trusted: &a.Trusted,
		IDTokenSignedResponseAlg: orDefaultAlg(a.IDTokenSignedResponseAlg), AccessTokenSignedResponseAlg: orDefaultAlg(a.AccessTokenSignedResponseAlg),
	}
	merged := cur.overlay(f)
	// Changing one side of the public ⇔ none pair moves the other with it.
	switch {
	case f.Public != nil && f.TokenEndpointAuthMethod == nil && *f.Public != a.Public:
		merged.TokenEndpointAuthMethod = nil
	case f.TokenEndpointAuthMethod != nil && f.Public == nil:
		merged.Public = nil
	}
	next := *a
	secret, err := applyApplication(&next, merged, f, false)
	if err != nil {
		return "", err
	}
	next.UpdatedAt = now.UTC()
	*a = next
	return secret, nil
}

// overlay returns c with the non-nil fields of f on top.
func (c ApplicationFields) overlay(f ApplicationFields) ApplicationFields {
	pick := func(base, top *[]string) *[]string {
		if top != nil {
			return top
		}
		return base
	}
	out := c
	out.RedirectURIs = pick(c.RedirectURIs, f.RedirectURIs)
	out.PostLogoutRedirectURIs = pick(c.PostLogoutRedirectURIs, f.PostLogoutRedirectURIs)
	out.GrantTypes = pick(c.GrantTypes, f.GrantTypes)
	out.ResponseTypes = pick(c.ResponseTypes, f.ResponseTypes)
	out.Scopes = pick(c.Scopes, f.Scopes)
	if f.Name != nil {
		out.Name = f.Name
	}
	if f.TokenEndpointAuthMethod != nil {
		out.TokenEndpointAuthMethod = f.TokenEndpointAuthMethod
	}
	if f.Public != nil {
		out.Public = f.Public
	}
	if f.Trusted != nil {
		out.Trusted = f.Trusted
	}
	if f.IDTokenSignedResponseAlg != nil {
		out.IDTokenSignedResponseAlg = f.IDTokenSignedResponseAlg
	}
	if f.AccessTokenSignedResponseAlg != nil {
		out.AccessTokenSignedResponseAlg = f.AccessTokenSignedResponseAlg
	}
	return out
}

// orDefaultAlg reads a stored algorithm; rows from before migration 0016
// (or written without one) sign with RS256.
func orDefaultAlg(alg string) *string {
	if alg == "" {
		alg = allowedSigningAlgs[0]
	}
	return &alg
}

// applyApplication validates m (every field set, except that one of Public
// and TokenEndpointAuthMethod may be nil and is then derived from the other)
// and writes it into a. given is what the client sent: cross-field problems
// are reported at a field the client gave, so the 422 points at the change.
func applyApplication(a *storage.Application, m, given ApplicationFields, creating bool) (string, error) {
	var v problem.Validator
	var name string
	v.Name(m.Name, 200, &name, "name")
	redirects := checkURIs(&v, *m.RedirectURIs, "redirect_uris")
	postLogout := checkURIs(&v, *m.PostLogoutRedirectURIs, "post_logout_redirect_uris")
	grants := checkAppList(&v, *m.GrantTypes, "grant_types", func(s string) bool { return slices.Contains(allowedGrantTypes, s) },
		"value is not a valid enumeration member; permitted: 'authorization_code', 'refresh_token', 'client_credentials'", "type_error.enum")
	responses := checkAppList(&v, *m.ResponseTypes, "response_types", func(s string) bool { return slices.Contains(allowedResponseTypes, s) },
		"value is not a valid enumeration member; permitted: 'code'", "type_error.enum")
	scopes := checkAppList(&v, *m.Scopes, "scopes", scopePattern.MatchString,
		`string does not match regex "^[a-z][a-z0-9_.:-]{0,63}$"`, "value_error.str.regex")
	if len(*m.Scopes) > maxScopes {
		v.Add("ensure this value has at most 100 items", "value_error.list.max_items", "scopes")
	}
	if len(*m.GrantTypes) == 0 {
		v.Add("ensure this value has at least 1 items", "value_error.list.min_items", "grant_types")
	}
	for _, f := range [...]struct{ field, alg string }{
		{"id_token_signed_response_alg", *m.IDTokenSignedResponseAlg},
		{"access_token_signed_response_alg", *m.AccessTokenSignedResponseAlg},
	} {
		if !slices.Contains(allowedSigningAlgs, f.alg) {
			v.Add("value is not a valid enumeration member; permitted: 'RS256', 'ES256', 'EdDSA'", "type_error.enum", f.field)
		}
	}

	method, public := "", false
	switch {
	case m.TokenEndpointAuthMethod != nil && !slices.Contains(allowedAuthMethods, *m.TokenEndpointAuthMethod):
		v.Add("value is not a valid enumeration member; permitted: 'client_secret_basic', 'client_secret_post', 'none'",
			"type_error.enum", "token_endpoint_auth_method")
	case m.TokenEndpointAuthMethod == nil:
		public = *m.Public
		method = "client_secret_basic"
		if public {
			method = "none"
		}
	case m.Public == nil:
		method = *m.TokenEndpointAuthMethod
		public = method == "none"
	default:
		method, public = *m.TokenEndpointAuthMethod, *m.Public
		if (method == "none") != public {
			v.Add("public clients use token_endpoint_auth_method none, and only they do", "value_error.public",
				blame(given, "token_endpoint_auth_method", "public"))
		}
	}

	hasCode := slices.Contains(grants, "authorization_code")
	switch {
	case hasCode && len(redirects) == 0 && len(*m.RedirectURIs) == 0:
		v.Add("the authorization_code grant needs at least one redirect URI", "value_error.list.min_items", "redirect_uris")
	case hasCode && !slices.Contains(responses, "code") && len(*m.ResponseTypes) == len(responses):
		v.Add("the authorization_code grant needs response type code", "value_error.response_types",
			blame(given, "response_types", "grant_types"))
	case !hasCode && len(responses) > 0:
		v.Add("response types need the authorization_code grant", "value_error.response_types",
			blame(given, "response_types", "grant_types"))
	}
	if slices.Contains(grants, "refresh_token") && !hasCode {
		v.Add("refresh_token needs the authorization_code grant", "value_error.grant_types", "grant_types")
	}
	// A public client cannot keep a secret, so it cannot authenticate itself,
	// which is all client_credentials is (RFC 6749 §4.4).
	if public && slices.Contains(grants, "client_credentials") {
		v.Add("public clients cannot use the client_credentials grant", "value_error.grant_types",
			blame(given, "grant_types", "public"))
	}
	if err := v.Err(); err != nil {
		return "", err
	}

	a.Name, a.RedirectURIs, a.PostLogoutRedirectURIs = name, redirects, postLogout
	a.GrantTypes, a.ResponseTypes, a.Scopes = grants, responses, scopes
	a.TokenEndpointAuthMethod, a.Public, a.Trusted = method, public, *m.Trusted
	a.IDTokenSignedResponseAlg, a.AccessTokenSignedResponseAlg = *m.IDTokenSignedResponseAlg, *m.AccessTokenSignedResponseAlg
	switch {
	case public:
		a.SecretHash = nil
	case creating || len(a.SecretHash) == 0:
		secret, err := credentials.NewClientSecret()
		if err != nil {
			return "", err
		}
		a.SecretHash = secret.Hash
		return secret.Secret, nil
	}
	return "", nil
}

// blame picks the first of fields the client sent, else the first.
func blame(given ApplicationFields, fields ...string) string {
	sent := map[string]bool{
		"token_endpoint_auth_method": given.TokenEndpointAuthMethod != nil, "public": given.Public != nil,
		"grant_types": given.GrantTypes != nil, "response_types": given.ResponseTypes != nil,
	}
	for _, f := range fields {
		if sent[f] {
			return f
		}
	}
	return fields[0]
}

// checkAppList validates each item (422 at its index), refuses duplicates, and
// returns the good items.
func checkAppList(v *problem.Validator, items []string, field string, ok func(string) bool, msg, typ string) []string {
	out := make([]string, 0, len(items))
	for i, s := range items {
		switch {
		case !ok(s):
			v.Add(msg, typ, field, i)
		case slices.Contains(out, s):
			v.Add("duplicate item", "value_error.list.unique_items", field, i)
		default:
			out = append(out, s)
		}
	}
	return out
}

// checkURIs validates redirect URIs (422 at the index of each bad one).
func checkURIs(v *problem.Validator, uris []string, field string) []string {
	if len(uris) > maxRedirectURIs {
		v.Add("ensure this value has at most 20 items", "value_error.list.max_items", field)
		return nil
	}
	out := make([]string, 0, len(uris))
	for i, raw := range uris {
		msg, typ := redirectURIProblem(raw)
		switch {
		case msg != "":
			v.Add(msg, typ, field, i)
		case slices.Contains(out, raw):
			v.Add("duplicate item", "value_error.list.unique_items", field, i)
		default:
			out = append(out, raw)
		}
	}
	return out
}

// redirectURIProblem says what is wrong with a redirect URI, or "" if nothing.
// The authorization server compares redirect URIs exactly (docs/security.md, "Authorization endpoint"),
// so registration is where they must be sound (item 2): absolute; https,
// except plain http on the loopback interface for native apps (RFC 8252 §7.3);
// no fragment (RFC 6749 §3.1.2); no userinfo, which makes
// https://good.example@evil.example look like it goes where it does not.
func redirectURIProblem(raw string) (msg, typ string) {
	if len(raw) > maxURILength {
		return "ensure this value has at most 2000 characters", "value_error.any_str.max_length"
	}
	for _, r := range raw {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return "invalid or missing URL scheme", "value_error.url.scheme"
		}
	}
	const schemeMsg = "URL scheme must be https (http only for 127.0.0.1, [::1] or localhost)"
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() {
		return "invalid or missing URL scheme", "value_error.url.scheme"
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return schemeMsg, "value_error.url.scheme"
	}
	if u.Opaque != "" || u.Host == "" || u.Hostname() == "" {
		return "URL host invalid", "value_error.url.host"
	}
	if u.User != nil {
		return "URL must not contain userinfo", "value_error.url.userinfo"
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return "URL must not contain a fragment", "value_error.url.fragment"
	}
	if u.Scheme == "http" && !isLoopbackHost(u.Hostname()) {
		return schemeMsg, "value_error.url.scheme"
	}
	return "", ""
}

func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && (ip.Equal(net.IPv4(127, 0, 0, 1)) || ip.Equal(net.IPv6loopback))
}
