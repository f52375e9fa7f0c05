// Package oauth runs the enterprise SSO flow against Puguh on
// golang.org/x/oauth2: configuration from the discovery document, the
// authorization URL with PKCE S256, state and nonce, the callback (state,
// RFC 9207 iss, error answers), the code exchange, ID-token verification,
// refresh, client credentials for service accounts, and revocation.
//
//	sso, err := oauth.New(ctx, oauth.Config{Issuer: issuer, ClientID: app.ClientID,
//		ClientSecret: app.ClientSecret, RedirectURL: "https://intranet.example.com/callback"})
//	req, err := sso.AuthorizationURL(oauth.AuthorizationParams{Scopes: []string{"openid", "profile"}})
//	// keep req (State, CodeVerifier, Nonce) in the user's session; redirect to req.URL
//	tokens, err := sso.HandleCallback(ctx, r.URL.String(), *req)
//	// tokens.IDTokenClaims.Subject is the user
package oauth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	puguh "github.com/arsaka/puguh/sdk/go"
	"github.com/arsaka/puguh/sdk/go/internal/discovery"
	"github.com/arsaka/puguh/sdk/go/internal/jws"
	"github.com/arsaka/puguh/sdk/go/internal/keyset"
	"github.com/arsaka/puguh/sdk/go/verifier"
)

// Client authentication methods at the token endpoint.
const (
	ClientSecretPost  = "client_secret_post"  // the default with a secret: applications created through the REST API
	ClientSecretBasic = "client_secret_basic" // service accounts
	None              = "none"                // public clients (PKCE only)
)

// Config configures a Client.
type Config struct {
	// Issuer is Puguh's issuer URL. Default: PUGUH_ISSUER, else PUGUH_BASE_URL.
	Issuer string
	// ClientID is the application's client_id, or a service account's sa-….
	ClientID string
	// ClientSecret (pghs_…) of a confidential client; none for a public one.
	ClientSecret string
	// RedirectURL is the registered redirect URI (exact match).
	RedirectURL string
	// Scopes asked for when AuthorizationParams names none.
	Scopes []string
	// AuthMethod must be the client's token_endpoint_auth_method. Default:
	// ClientSecretPost with a secret, None without.
	AuthMethod string
	// HTTPClient sends every request (default http.DefaultClient).
	HTTPClient *http.Client
	// Leeway is the clock skew allowed on an ID token's exp and iat (default 30 s).
	Leeway time.Duration
}

// Client is one OAuth client of Puguh. It is safe for concurrent use.
type Client struct {
	cfg      Config
	doc      *discovery.Document
	oauth2   *oauth2.Config
	http     *http.Client
	keys     *keyset.Set
	now      func() time.Time
	leeway   time.Duration
	authMeth string
}

// New reads the issuer's discovery document (which must name the same
// issuer) and returns a client for its endpoints.
func New(ctx context.Context, cfg Config) (*Client, error) {
	if cfg.Issuer == "" {
		cfg.Issuer = os.Getenv("PUGUH_ISSUER")
	}
	if cfg.Issuer == "" {
		cfg.Issuer = os.Getenv("PUGUH_BASE_URL")
	}
	if cfg.Issuer == "" {
		return nil, errors.New("oauth: no issuer: set Config.Issuer or PUGUH_ISSUER")
	}
	if cfg.ClientID == "" {
		return nil, errors.New("oauth: Config.ClientID is required")
	}
	cfg.Issuer = discovery.NormalizeIssuer(cfg.Issuer)
	method := cfg.AuthMethod
	if method == "" {
		method = None
		if cfg.ClientSecret != "" {
			method = ClientSecretPost
		}
	}
	style := oauth2.AuthStyleInParams
	switch method {
	case ClientSecretBasic:
		style = oauth2.AuthStyleInHeader
		fallthrough
	case ClientSecretPost:
		if cfg.ClientSecret == "" {
			return nil, fmt.Errorf("oauth: %s needs Config.ClientSecret", method)
		}
	case None:
		cfg.ClientSecret = ""
	default:
		return nil, fmt.Errorf("oauth: unknown AuthMethod %q", method)
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	doc, err := discovery.Fetch(ctx, hc, cfg.Issuer, "puguh-sdk-go/"+puguh.Version)
	if err != nil {
		return nil, connErr("GET", cfg.Issuer+"/.well-known/openid-configuration", err)
	}
	c := &Client{cfg: cfg, doc: doc, http: hc, now: time.Now, leeway: cfg.Leeway, authMeth: method}
	if c.leeway == 0 {
		c.leeway = verifier.DefaultLeeway
	}
	c.oauth2 = &oauth2.Config{
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		RedirectURL:  cfg.RedirectURL,
		Scopes:       cfg.Scopes,
		Endpoint: oauth2.Endpoint{
			AuthURL:   doc.AuthorizationEndpoint,
			TokenURL:  doc.TokenEndpoint,
			AuthStyle: style,
		},
	}
	c.keys = keyset.New(keyset.Options{URL: doc.JWKSURI, HTTPClient: hc, UserAgent: "puguh-sdk-go/" + puguh.Version})
	return c, nil
}

// OAuth2Config is the x/oauth2 configuration behind the client (its
// TokenSource refreshes tokens for an HTTP client of your own).
func (c *Client) OAuth2Config() *oauth2.Config { return c.oauth2 }

// Issuer is the issuer the client trusts.
func (c *Client) Issuer() string { return c.cfg.Issuer }

// AuthMethod is how the client authenticates at the token endpoint.
func (c *Client) AuthMethod() string { return c.authMeth }

// AuthorizationParams are the parameters of one authorization request.
type AuthorizationParams struct {
	Scopes       []string   // default: Config.Scopes
	State        string     // default: 32 random bytes, base64url (Puguh requires at least 8 characters)
	CodeVerifier string     // default: 32 random bytes, base64url (RFC 7636 §4.1)
	Nonce        string     // default: random when the scopes include openid
	Prompt       string     // none, login or consent
	MaxAge       *int       // seconds
	RedirectURL  string     // default: Config.RedirectURL
	Extra        url.Values // any other parameter
}

// AuthorizationRequest is what to keep (in the user's session) until the
// callback arrives: HandleCallback needs it.
type AuthorizationRequest struct {
	URL          string `json:"url"`
	State        string `json:"state"`
	CodeVerifier string `json:"code_verifier"`
	Nonce        string `json:"nonce,omitempty"`
	RedirectURL  string `json:"redirect_url"`
}

var verifierSyntax = regexp.MustCompile(`^[A-Za-z0-9\-._~]{43,128}$`)

// AuthorizationURL builds the URL to send the browser to: the code flow
// with PKCE S256, a random state, and a nonce for OpenID Connect.
func (c *Client) AuthorizationURL(p AuthorizationParams) (*AuthorizationRequest, error) {
	redirect := p.RedirectURL
	if redirect == "" {
		redirect = c.cfg.RedirectURL
	}
	if redirect == "" {
		return nil, errors.New("oauth: AuthorizationURL: a redirect URL is required (here or in Config)")
	}
	scopes := p.Scopes
	if scopes == nil {
		scopes = c.cfg.Scopes
	}
	req := &AuthorizationRequest{State: p.State, CodeVerifier: p.CodeVerifier, Nonce: p.Nonce, RedirectURL: redirect}
	if req.State == "" {
		req.State = RandomToken(32)
	}
	if req.CodeVerifier == "" {
		req.CodeVerifier = oauth2.GenerateVerifier()
	}
	if !verifierSyntax.MatchString(req.CodeVerifier) {
		return nil, errors.New("oauth: the code verifier must be 43 to 128 unreserved characters (RFC 7636 §4.1)")
	}
	if req.Nonce == "" && containsScope(scopes, "openid") {
		req.Nonce = RandomToken(32)
	}
	cfg := *c.oauth2
	cfg.RedirectURL = redirect
	cfg.Scopes = scopes
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(req.CodeVerifier)}
	if req.Nonce != "" {
		opts = append(opts, oauth2.SetAuthURLParam("nonce", req.Nonce))
	}
	if p.Prompt != "" {
		opts = append(opts, oauth2.SetAuthURLParam("prompt", p.Prompt))
	}
	if p.MaxAge != nil {
		opts = append(opts, oauth2.SetAuthURLParam("max_age", strconv.Itoa(*p.MaxAge)))
	}
	for k, vs := range p.Extra {
		for _, v := range vs {
			opts = append(opts, oauth2.SetAuthURLParam(k, v))
		}
	}
	req.URL = cfg.AuthCodeURL(req.State, opts...)
	return req, nil
}

// Tokens is the outcome of a code exchange: the token response, and the ID
// token verified (nil when there was none: the openid scope was not asked).
type Tokens struct {
	*oauth2.Token
	IDToken       string
	IDTokenClaims *IDTokenClaims
}

// HandleCallback takes the redirect back from Puguh (the full URL, or its
// path and query as a server sees them in r.URL): it checks the state
// (constant time) and iss (RFC 9207), turns error=access_denied and the like
// into a *puguh.OAuthError with Status 0, exchanges the code with the PKCE
// verifier, and verifies the ID token, nonce included.
func (c *Client) HandleCallback(ctx context.Context, callbackURL string, req AuthorizationRequest) (*Tokens, error) {
	u, err := url.Parse(callbackURL)
	if err != nil {
		return nil, &puguh.OAuthError{ErrorCode: "invalid_request", ErrorDescription: "the callback URL does not parse"}
	}
	q := u.Query()
	state := q.Get("state")
	if state == "" || subtle.ConstantTimeCompare([]byte(state), []byte(req.State)) != 1 {
		return nil, &puguh.OAuthError{ErrorCode: "invalid_state", ErrorDescription: "the callback state does not match the one sent"}
	}
	if iss := q.Get("iss"); iss != "" && discovery.NormalizeIssuer(iss) != c.cfg.Issuer {
		return nil, &puguh.OAuthError{ErrorCode: "invalid_issuer", ErrorDescription: "the callback came from another issuer"}
	} else if iss == "" && c.doc.AuthorizationResponseIssParameterSupported {
		// RFC 9207 §2.4: an issuer that promises iss must send it.
		return nil, &puguh.OAuthError{ErrorCode: "invalid_issuer", ErrorDescription: "the callback carries no iss"}
	}
	if e := q.Get("error"); e != "" {
		return nil, &puguh.OAuthError{ErrorCode: e, ErrorDescription: q.Get("error_description")}
	}
	code := q.Get("code")
	if code == "" {
		return nil, &puguh.OAuthError{ErrorCode: "invalid_request", ErrorDescription: "the callback carries no code"}
	}
	tok, err := c.Exchange(ctx, code, req.CodeVerifier, req.RedirectURL)
	if err != nil {
		return nil, err
	}
	out := &Tokens{Token: tok}
	if raw, _ := tok.Extra("id_token").(string); raw != "" {
		claims, err := c.VerifyIDToken(ctx, raw, req.Nonce, tok.AccessToken)
		if err != nil {
			return nil, err
		}
		out.IDToken, out.IDTokenClaims = raw, claims
	} else if req.Nonce != "" {
		return nil, &puguh.OAuthError{ErrorCode: "invalid_id_token", ErrorDescription: "openid was asked for but no ID token came back"}
	}
	return out, nil
}

// Exchange redeems a code (grant_type=authorization_code) with its PKCE
// verifier. redirectURL "" means Config.RedirectURL.
func (c *Client) Exchange(ctx context.Context, code, codeVerifier, redirectURL string) (*oauth2.Token, error) {
	cfg := *c.oauth2
	if redirectURL != "" {
		cfg.RedirectURL = redirectURL
	}
	tok, err := cfg.Exchange(c.ctx(ctx), code, oauth2.VerifierOption(codeVerifier))
	return tok, c.tokenError(ctx, err)
}

// Refresh redeems a refresh token for a new pair with the same scopes
// (store the new refresh token: the old one is used up). x/oauth2 refreshes
// through the TokenSource of an expired token, which sends no scope
// parameter, so narrowing the scopes on refresh is not offered here.
func (c *Client) Refresh(ctx context.Context, refreshToken string) (*oauth2.Token, error) {
	tok, err := c.oauth2.TokenSource(c.ctx(ctx), &oauth2.Token{RefreshToken: refreshToken, Expiry: time.Unix(1, 0)}).Token()
	return tok, c.tokenError(ctx, err)
}

// ClientCredentials gets the client's own token (RFC 6749 §4.4): a service
// account's token works as puguh.WithAccessToken of a puguh.Client.
func (c *Client) ClientCredentials(ctx context.Context, scopes ...string) (*oauth2.Token, error) {
	cc := clientcredentials.Config{
		ClientID: c.cfg.ClientID, ClientSecret: c.cfg.ClientSecret, TokenURL: c.doc.TokenEndpoint,
		Scopes: scopes, AuthStyle: c.oauth2.Endpoint.AuthStyle,
	}
	tok, err := cc.Token(c.ctx(ctx))
	return tok, c.tokenError(ctx, err)
}

// TokenSource renews tok with its refresh token as it expires, for an
// oauth2.NewClient of your own.
func (c *Client) TokenSource(ctx context.Context, tok *oauth2.Token) oauth2.TokenSource {
	return c.oauth2.TokenSource(c.ctx(ctx), tok)
}

// Revoke revokes a refresh or access token the client holds (RFC 7009).
// hint is "refresh_token", "access_token" or "".
func (c *Client) Revoke(ctx context.Context, token, hint string) error {
	form := url.Values{"token": {token}}
	if hint != "" {
		form.Set("token_type_hint", hint)
	}
	endpoint := c.doc.RevocationEndpoint
	if c.authMeth != ClientSecretBasic {
		form.Set("client_id", c.cfg.ClientID)
		if c.authMeth == ClientSecretPost {
			form.Set("client_secret", c.cfg.ClientSecret)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("oauth: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if c.authMeth == ClientSecretBasic {
		req.SetBasicAuth(url.QueryEscape(c.cfg.ClientID), url.QueryEscape(c.cfg.ClientSecret))
	}
	res, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return connErr("POST", endpoint, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if res.StatusCode == http.StatusOK {
		return nil
	}
	return oauthError("oauth.revoke", endpoint, res, body)
}

func (c *Client) ctx(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, c.http)
}

// tokenError maps x/oauth2's errors onto the SDK's: an RFC 6749 error answer
// is a *puguh.OAuthError, one without an error code (a 429 of the per-IP
// budget) the same typed error the REST client returns, no answer a
// *puguh.ConnectionError, and the caller's cancellation the context's error.
func (c *Client) tokenError(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		info := puguh.NewResponseInfo("oauth.token", http.MethodPost, c.doc.TokenEndpoint, re.Response)
		if re.ErrorCode != "" {
			return &puguh.OAuthError{Status: re.Response.StatusCode, ErrorCode: re.ErrorCode, ErrorDescription: re.ErrorDescription, Response: info, Err: re}
		}
		return puguh.NewErrorFromResponse(info, re.Body)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return connErr("POST", c.doc.TokenEndpoint, err)
	}
	return err
}

func oauthError(op, endpoint string, res *http.Response, body []byte) error {
	info := puguh.NewResponseInfo(op, http.MethodPost, endpoint, res)
	var e struct {
		Error            string `json:"error"`
		ErrorDescription string `json:"error_description"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		return &puguh.OAuthError{Status: res.StatusCode, ErrorCode: e.Error, ErrorDescription: e.ErrorDescription, Response: info}
	}
	return puguh.NewErrorFromResponse(info, body)
}

func connErr(method, u string, err error) error {
	return &puguh.ConnectionError{Method: method, URL: u, Timeout: errors.Is(err, context.DeadlineExceeded), Err: err}
}

// RandomToken is n random bytes (CSPRNG), base64url without padding.
func RandomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("oauth: crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// CodeChallengeS256 is the S256 code challenge of a verifier (RFC 7636 §4.2).
func CodeChallengeS256(codeVerifier string) string {
	return oauth2.S256ChallengeFromVerifier(codeVerifier)
}

func containsScope(scopes []string, s string) bool {
	for _, x := range scopes {
		if x == s {
			return true
		}
	}
	return false
}

// IDTokenClaims are the claims of a Puguh ID token (docs/oauth.md).
type IDTokenClaims struct {
	Issuer          string               `json:"iss"`
	Subject         string               `json:"sub"`
	Audience        verifier.Audiences   `json:"aud"`
	Expiry          verifier.NumericDate `json:"exp"`
	IssuedAt        verifier.NumericDate `json:"iat"`
	AuthTime        verifier.NumericDate `json:"auth_time,omitempty"`
	Nonce           string               `json:"nonce,omitempty"`
	AccessTokenHash string               `json:"at_hash,omitempty"`
	AuthorizedParty string               `json:"azp,omitempty"`
	Email           string               `json:"email,omitempty"`
	EmailVerified   bool                 `json:"email_verified,omitempty"`
	Name            string               `json:"name,omitempty"`
}

// VerifyIDToken checks an ID token (OpenID Connect Core §3.1.3.7): RS256 with
// a key of the issuer's JWKS, not an access token (typ at+jwt is refused),
// iss exactly, aud naming this client (and azp, if several), exp and iat with
// leeway, the nonce sent (constant time; "" when none was), and, when
// accessToken is not "", at_hash (§3.2.2.9). A refusal is a
// *puguh.TokenVerificationError with code invalid_token.
func (c *Client) VerifyIDToken(ctx context.Context, rawIDToken, nonce, accessToken string) (*IDTokenClaims, error) {
	bad := func(desc string, err error) error {
		return &puguh.TokenVerificationError{Code: puguh.InvalidToken, Description: "ID token: " + desc, Err: err}
	}
	t, err := jws.Parse(rawIDToken)
	if err != nil {
		return nil, bad(err.Error(), err)
	}
	if jws.TypeIs(t.Header.Typ, "at+jwt") {
		return nil, bad("an access token is not an ID token", nil)
	}
	key, err := c.keys.Key(ctx, t.Header.Kid)
	if err != nil {
		if errors.Is(err, keyset.ErrUnknownKey) {
			return nil, bad("not signed by a key of the issuer", err)
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, connErr("GET", c.doc.JWKSURI, err)
	}
	if err := t.Verify(key); err != nil {
		return nil, bad(err.Error(), err)
	}
	var claims IDTokenClaims
	if err := json.Unmarshal([]byte(t.Payload), &claims); err != nil {
		return nil, bad("the claims are not a JSON object", err)
	}
	now := c.now()
	switch {
	case claims.Issuer != c.cfg.Issuer:
		return nil, bad("iss is another issuer", nil)
	case !claims.Audience.Contains(c.cfg.ClientID):
		return nil, bad("aud does not name this client", nil)
	case len(claims.Audience) > 1 && claims.AuthorizedParty != c.cfg.ClientID:
		return nil, bad("azp does not name this client", nil)
	case claims.Subject == "" || claims.Expiry == 0 || claims.IssuedAt == 0:
		return nil, bad("sub, exp or iat is missing", nil)
	case !now.Before(claims.Expiry.Time().Add(c.leeway)):
		return nil, bad("expired", nil)
	case now.Add(c.leeway).Before(claims.IssuedAt.Time()):
		return nil, bad("issued in the future", nil)
	case subtle.ConstantTimeCompare([]byte(claims.Nonce), []byte(nonce)) != 1:
		return nil, bad("the nonce does not match the one sent", nil)
	}
	if accessToken != "" && claims.AccessTokenHash != "" {
		sum := sha256.Sum256([]byte(accessToken))
		want := base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
		if subtle.ConstantTimeCompare([]byte(want), []byte(claims.AccessTokenHash)) != 1 {
			return nil, bad("at_hash does not match the access token", nil)
		}
	}
	return &claims, nil
}
