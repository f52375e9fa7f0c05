// Package verifier lets a Go service trust Puguh's access tokens: it verifies
// them offline against the issuer's published keys, and guards net/http
// handlers with them.
//
//	v, err := verifier.New(ctx, "https://id.example.com", verifier.Audience(clientID))
//	mux.Handle("/reports", v.Require("read:resources")(reports))
//	// in the handler: claims, _ := verifier.ClaimsFromContext(r.Context())
//
// A token passes when it is an RS256 JWT with typ at+jwt (RFC 9068: an ID
// token does not pass), signed by a key of the issuer's JWKS, whose iss is
// the issuer exactly, whose aud names one of the audiences, which has exp,
// iat, sub and jti, whose exp, nbf and iat hold with a small leeway, and
// which holds every scope asked for.
//
// The JWKS (its address comes from the discovery document) is cached as long
// as its Cache-Control says, and fetched again for a kid it does not hold —
// a key rotation — but at most once per cooldown, so a flood of tokens with
// forged kids never becomes a flood of requests to the issuer.
//
// Verification is offline, so a token stays valid until it expires even
// after its user signs out. Routes that must see revocations at once use
// RequireActive, which also asks the issuer's introspection endpoint
// (configured with Introspection).
package verifier

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	puguh "github.com/arsaka/puguh/sdk/go"
	"github.com/arsaka/puguh/sdk/go/internal/discovery"
	"github.com/arsaka/puguh/sdk/go/internal/jws"
	"github.com/arsaka/puguh/sdk/go/internal/keyset"
)

// Defaults.
const (
	DefaultLeeway   = 30 * time.Second // as Puguh's own API
	DefaultCooldown = keyset.DefaultCooldown
	DefaultRealm    = "api"
)

// Verifier verifies Puguh access tokens. Make one per issuer and audience at
// start-up and share it: it holds the JWKS cache. It is safe for concurrent use.
type Verifier struct {
	issuer    string
	audiences []string
	leeway    time.Duration
	now       func() time.Time
	keys      *keyset.Set
	realm     string
	onError   func(http.ResponseWriter, *http.Request, error)

	http                  *http.Client
	introspectionEndpoint string
	introspectionID       string
	introspectionSecret   string
}

// Option configures New.
type Option func(*config)

type config struct {
	audiences     []string
	leeway        time.Duration
	hasLeeway     bool
	cooldown      time.Duration
	hasCooldown   bool
	http          *http.Client
	fetchTimeout  time.Duration
	now           func() time.Time
	jwksURL       string
	realm         string
	onError       func(http.ResponseWriter, *http.Request, error)
	introspectID  string
	introspectSec string
	onFetch       func(status int, err error)
}

// Audience names the audiences a token must name one of (required): the
// application's client_id for tokens it got through the code flow or client
// credentials, or "<issuer>/api" for tokens of Puguh's own REST API.
func Audience(audiences ...string) Option {
	return func(c *config) { c.audiences = append(c.audiences, audiences...) }
}

// Leeway is the clock skew allowed on exp, nbf and iat (default 30 s).
func Leeway(d time.Duration) Option {
	return func(c *config) { c.leeway, c.hasLeeway = d, true }
}

// Cooldown is how long after a JWKS fetch an unknown kid may fetch again
// (default 30 s; zero: always, for tests only).
func Cooldown(d time.Duration) Option {
	return func(c *config) { c.cooldown, c.hasCooldown = d, true }
}

// HTTPClient fetches the discovery document and the JWKS and introspects
// (default http.DefaultClient).
func HTTPClient(client *http.Client) Option {
	return func(c *config) { c.http = client }
}

// FetchTimeout bounds one JWKS fetch (default 5 s).
func FetchTimeout(d time.Duration) Option {
	return func(c *config) { c.fetchTimeout = d }
}

// Clock sets the time tokens are checked against (default time.Now).
func Clock(now func() time.Time) Option {
	return func(c *config) { c.now = now }
}

// JWKSURL uses this key set instead of the discovery document's jwks_uri.
func JWKSURL(u string) Option {
	return func(c *config) { c.jwksURL = u }
}

// Realm names the realm of the WWW-Authenticate challenges the middleware
// answers with (default "api").
func Realm(realm string) Option {
	return func(c *config) { c.realm = realm }
}

// OnError replaces the middleware's answer to a refused or unverifiable
// request. err is a *puguh.TokenVerificationError for a refused token;
// anything else means the token could not be checked (answer 503).
func OnError(f func(w http.ResponseWriter, r *http.Request, err error)) Option {
	return func(c *config) { c.onError = f }
}

// Introspection enables RequireActive and Introspect: the resource server
// asks the issuer's introspection endpoint (RFC 7662) whether a token is
// still active, authenticating with HTTP Basic as this client (an
// application or service account of the organization whose tokens it
// checks: Puguh tells a client only about its own organization's tokens).
func Introspection(clientID, clientSecret string) Option {
	return func(c *config) { c.introspectID, c.introspectSec = clientID, clientSecret }
}

// OnKeySetFetch is called after every JWKS fetch with its HTTP status (0
// without an answer) and error: for metrics and tests.
func OnKeySetFetch(f func(status int, err error)) Option {
	return func(c *config) { c.onFetch = f }
}

// New reads the issuer's discovery document, checks that it names the same
// issuer, and fetches its JWKS, so that a misconfiguration fails at start-up.
// A discovery document or JWKS that cannot be fetched is a
// *puguh.ConnectionError.
func New(ctx context.Context, issuer string, opts ...Option) (*Verifier, error) {
	var c config
	for _, o := range opts {
		o(&c)
	}
	issuer = discovery.NormalizeIssuer(issuer)
	if issuer == "" {
		return nil, errors.New("verifier: no issuer")
	}
	var audiences []string
	for _, a := range c.audiences {
		if a != "" {
			audiences = append(audiences, a)
		}
	}
	if len(audiences) == 0 {
		return nil, errors.New("verifier: verifier.Audience(…) is required: your application's client_id, or <issuer>/api")
	}
	v := &Verifier{
		issuer:    issuer,
		audiences: audiences,
		leeway:    DefaultLeeway,
		now:       c.now,
		realm:     DefaultRealm,
		onError:   c.onError,
		http:      c.http,

		introspectionID:     c.introspectID,
		introspectionSecret: c.introspectSec,
	}
	if c.hasLeeway {
		v.leeway = c.leeway
	}
	if v.now == nil {
		v.now = time.Now
	}
	if v.http == nil {
		v.http = http.DefaultClient
	}
	if c.realm != "" {
		v.realm = c.realm
	}
	jwksURL := c.jwksURL
	if jwksURL == "" || c.introspectID != "" {
		doc, err := discovery.Fetch(ctx, v.http, issuer, "puguh-sdk-go/"+puguh.Version)
		if err != nil {
			return nil, connectionError("GET", issuer+"/.well-known/openid-configuration", err)
		}
		if jwksURL == "" {
			jwksURL = doc.JWKSURI
		}
		v.introspectionEndpoint = doc.IntrospectionEndpoint
		if c.introspectID != "" && v.introspectionEndpoint == "" {
			return nil, errors.New("verifier: the issuer's discovery document names no introspection_endpoint")
		}
	}
	cooldown := DefaultCooldown
	if c.hasCooldown {
		cooldown = c.cooldown
		if cooldown == 0 {
			cooldown = -1 // keyset: negative is none
		}
	}
	v.keys = keyset.New(keyset.Options{
		URL: jwksURL, HTTPClient: v.http, Cooldown: cooldown, Timeout: c.fetchTimeout,
		Now: v.now, UserAgent: "puguh-sdk-go/" + puguh.Version, OnFetch: c.onFetch,
	})
	if err := v.keys.Refresh(ctx); err != nil {
		return nil, connectionError("GET", jwksURL, err)
	}
	return v, nil
}

// Issuer is the issuer tokens must name.
func (v *Verifier) Issuer() string { return v.issuer }

// KeySetFetches counts the JWKS requests this verifier has made.
func (v *Verifier) KeySetFetches() int64 { return v.keys.Fetches() }

// RefreshKeys fetches the JWKS now, whatever the cooldown.
func (v *Verifier) RefreshKeys(ctx context.Context) error {
	if err := v.keys.Refresh(ctx); err != nil {
		return connectionError("GET", "jwks", err)
	}
	return nil
}

// Claims are the claims of a Puguh access token (docs/identity.md,
// docs/oauth.md), with the token's own names in their json tags.
type Claims struct {
	Issuer    string      `json:"iss"`
	Subject   string      `json:"sub"`
	Audience  Audiences   `json:"aud"`
	Expiry    NumericDate `json:"exp"`
	NotBefore NumericDate `json:"nbf,omitempty"`
	IssuedAt  NumericDate `json:"iat"`
	ID        string      `json:"jti"`
	ClientID  string      `json:"client_id,omitempty"`
	// Scope is the space-separated granted scopes.
	Scope string `json:"scope,omitempty"`
	// OrganizationID is the organization the token acts in; for browser
	// grants the application's organization, not a membership of the user.
	OrganizationID string `json:"org_id,omitempty"`
	// SessionID is the refresh family.
	SessionID string `json:"sid,omitempty"`
	// Kind is "user" or "service_account" for tokens of Puguh's REST API.
	Kind string `json:"kind,omitempty"`
}

// HasScope reports whether the token was granted scope.
func (c *Claims) HasScope(scope string) bool {
	for s := range strings.FieldsSeq(c.Scope) {
		if s == scope {
			return true
		}
	}
	return false
}

// Scopes are the granted scopes.
func (c *Claims) Scopes() []string { return strings.Fields(c.Scope) }

// Audiences is the aud claim: one string or an array of them (RFC 7519 §4.1.3).
type Audiences []string

// UnmarshalJSON takes a string or an array of strings.
func (a *Audiences) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*a = Audiences{s}
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return err
	}
	*a = list
	return nil
}

// Contains reports whether aud is one of the audiences.
func (a Audiences) Contains(aud string) bool {
	for _, x := range a {
		if x == aud {
			return true
		}
	}
	return false
}

// NumericDate is a JWT time: seconds since the epoch (RFC 7519 §2), a JSON
// number that may have a fraction. Zero means absent.
type NumericDate int64

// UnmarshalJSON takes an integer or a fraction (truncated to the second).
func (d *NumericDate) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		*d = 0
		return nil
	}
	return d.parse(string(b))
}

func (d *NumericDate) parse(s string) error {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("not a NumericDate: %w", err)
	}
	if f < 0 || f > 1<<53 {
		return errors.New("NumericDate out of range")
	}
	*d = NumericDate(f)
	return nil
}

// Time is the date as a time.Time (the zero Time when absent).
func (d NumericDate) Time() time.Time {
	if d == 0 {
		return time.Time{}
	}
	return time.Unix(int64(d), 0)
}

// refuse builds the invalid_token refusal with a description safe to show.
func refuse(description string, err error) *puguh.TokenVerificationError {
	return &puguh.TokenVerificationError{Code: puguh.InvalidToken, Description: description, Err: err}
}

// Verify checks an access token and the scopes it must hold, and returns its
// claims. A bad token is a *puguh.TokenVerificationError (invalid_token,
// insufficient_scope); a JWKS that cannot be fetched is a
// *puguh.ConnectionError (answer 503, not 401).
func (v *Verifier) Verify(ctx context.Context, token string, scopes ...string) (*Claims, error) {
	if token == "" {
		return nil, &puguh.TokenVerificationError{Code: puguh.MissingToken, Description: "no access token"}
	}
	t, err := jws.Parse(token)
	if err != nil {
		return nil, refuse(err.Error(), err)
	}
	// RFC 9068 §4: the typ tells an access token from an ID token (typ JWT)
	// signed by the same keys.
	if !jws.TypeIs(t.Header.Typ, "at+jwt") {
		return nil, refuse("the token is not an access token (typ is not at+jwt)", nil)
	}
	key, err := v.keys.Key(ctx, t.Header.Kid)
	if err != nil {
		if errors.Is(err, keyset.ErrUnknownKey) {
			return nil, refuse("the token is not signed by a key of the issuer", err)
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, connectionError("GET", "jwks", err)
	}
	if err := t.Verify(key); err != nil {
		return nil, refuse(err.Error(), err)
	}
	c := new(Claims)
	if err := decodeClaims(t.Payload, c); err != nil {
		return nil, refuse(errClaims.Error(), err)
	}
	if err := v.checkClaims(c); err != nil {
		return nil, err
	}
	if err := checkScopes(c, scopes); err != nil {
		return nil, err
	}
	return c, nil
}

func (v *Verifier) checkClaims(c *Claims) error {
	if c.Issuer != v.issuer {
		return refuse("the token's issuer (iss) is not accepted", nil)
	}
	ok := false
	for _, a := range v.audiences {
		if c.Audience.Contains(a) {
			ok = true
			break
		}
	}
	if !ok {
		return refuse("the token's audience (aud) is not accepted", nil)
	}
	if c.Subject == "" || c.ID == "" || c.Expiry == 0 || c.IssuedAt == 0 {
		return refuse("the token lacks exp, iat, sub or jti", nil)
	}
	now := v.now()
	if !now.Before(c.Expiry.Time().Add(v.leeway)) {
		return refuse("the token has expired (exp)", nil)
	}
	if c.NotBefore != 0 && now.Add(v.leeway).Before(c.NotBefore.Time()) {
		return refuse("the token is not valid yet (nbf)", nil)
	}
	if now.Add(v.leeway).Before(c.IssuedAt.Time()) {
		return refuse("the token was issued in the future (iat)", nil)
	}
	return nil
}

func checkScopes(c *Claims, required []string) error {
	for _, s := range required {
		if !c.HasScope(s) {
			return &puguh.TokenVerificationError{
				Code:        puguh.InsufficientScope,
				Description: "the token lacks the scope " + strings.Join(missing(c, required), " "),
				Scopes:      append([]string(nil), required...),
			}
		}
	}
	return nil
}

func missing(c *Claims, required []string) []string {
	var out []string
	for _, s := range required {
		if !c.HasScope(s) {
			out = append(out, s)
		}
	}
	return out
}

func connectionError(method, u string, err error) error {
	var ce *puguh.ConnectionError
	if errors.As(err, &ce) {
		return err
	}
	return &puguh.ConnectionError{Method: method, URL: u, Timeout: errors.Is(err, context.DeadlineExceeded), Err: err}
}
