package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gorilla/mux"
	"github.com/ory/fosite"

	"github.com/arsaka/puguh/keys"
	"github.com/arsaka/puguh/provider/httpapi"
	"github.com/arsaka/puguh/storage"
)

// Endpoints serves the OAuth 2.0 endpoints of the public composition. Errors
// here are RFC 6749 JSON, written by fosite, not the REST API's FastAPI shape.
type Endpoints struct {
	P     *Provider
	Users UserLookup
	// JWKS is the published key set (keys.Manager), served at /.well-known/jwks.json.
	JWKS JWKSSource
	// MaxBody is PUGUH_MAX_BODY_BYTES, the largest body an endpoint reads.
	MaxBody int64
	// Limits are the token endpoint's rate limits (httpapi.ClientLimits);
	// nil: none.
	Limits TokenLimits
	// ClientCredentialsConcurrency is how many client_credentials requests
	// run at once (PUGUH_CLIENT_CREDENTIALS_CONCURRENCY); the others wait
	// their turn in arrival order. 0: no bound.
	ClientCredentialsConcurrency int
	// IntrospectionConcurrency is how many introspections of a JWT run at
	// once (PUGUH_INTROSPECTION_CONCURRENCY), the same way. 0: no bound.
	IntrospectionConcurrency int

	admitClientCredentials, admitIntrospection *admission
}

// TokenLimits take a token request from a budget and set its X-RateLimit-*
// headers, returning the Throttled problem when the budget is spent: a
// confidential client that authenticated pays from its own, anything else
// from its address's.
type TokenLimits interface {
	LimitClient(w http.ResponseWriter, r *http.Request, clientID string) error
	LimitAddress(w http.ResponseWriter, r *http.Request) error
}

// Mount registers /oauth/token, /oauth/revoke, /oauth/introspect,
// /oauth/userinfo, the discovery document and the JWKS. The browser-facing endpoints
// (/oauth/authorize, /oauth/logout) live in package web.
//
// fosite and net/http parse these endpoints' forms and would answer a body
// over the limit with an error of their own (net/http reads up to 10 MB);
// the routes share one limit instead, answered with 413 in RFC 6749's shape.
func (e *Endpoints) Mount(r *mux.Router) {
	if e.MaxBody <= 0 {
		panic("oauth: Endpoints.MaxBody must be positive") // a wiring mistake
	}
	e.admitClientCredentials = newAdmission(e.ClientCredentialsConcurrency)
	e.admitIntrospection = newAdmission(e.IntrospectionConcurrency)
	r.Handle("/.well-known/jwks.json", JWKSHandler(e.JWKS)).Methods(http.MethodGet, http.MethodHead)
	r = r.NewRoute().Subrouter()
	r.Use(httpapi.LimitBody(e.MaxBody, e.refuseBody))
	r.HandleFunc("/oauth/token", e.token).Methods(http.MethodPost)
	r.HandleFunc("/oauth/revoke", e.revoke).Methods(http.MethodPost)
	r.HandleFunc("/oauth/introspect", e.introspect).Methods(http.MethodPost)
	r.HandleFunc("/oauth/userinfo", e.userinfo).Methods(http.MethodGet, http.MethodPost)
	r.HandleFunc("/.well-known/openid-configuration", e.discovery).Methods(http.MethodGet, http.MethodHead)
}

// waitTurn waits for the request's slot in a (admission). If the request's
// context ends first (the client went away) it answers 503
// temporarily_unavailable, which normally nobody reads, and reports false.
func waitTurn(w http.ResponseWriter, r *http.Request, a *admission) (release func(), ok bool) {
	release, err := a.enter(r.Context())
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "The request ended while it waited for its turn.")
		return nil, false
	}
	return release, true
}

// refuseBody answers a body LimitBody refused: invalid_request (RFC 6749
// §5.2) with 413 for a body over the limit, or 400 for one that could not
// be read.
func (e *Endpoints) refuseBody(w http.ResponseWriter, r *http.Request, status int) {
	if e.Limits != nil && r.URL.Path == "/oauth/token" {
		// Refused before any client could authenticate: the address pays.
		if err := e.Limits.LimitAddress(w, r); err != nil {
			httpapi.WriteError(w, r, err)
			return
		}
	}
	description := fmt.Sprintf("The request body is larger than %d bytes.", e.MaxBody)
	if status != http.StatusRequestEntityTooLarge {
		description = "The request body could not be read."
	}
	writeError(w, status, "invalid_request", description)
}

// writeError writes an error in RFC 6749 §5.2's shape, for the answers
// Puguh gives before fosite has a request to write one for.
func writeError(w http.ResponseWriter, status int, code, description string) {
	body, _ := json.Marshal(map[string]string{"error": code, "error_description": description})
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=UTF-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// token is RFC 6749 §3.2. fosite parses, authenticates the client and runs
// the grant; we only shape the session of grants that start here.
func (e *Endpoints) token(w http.ResponseWriter, r *http.Request) {
	ctx, ok := e.limitToken(w, r)
	if !ok {
		return
	}
	r = r.WithContext(ctx)
	p := e.P.public
	sess := NewSession().(*Session)
	// fosite answers an unknown grant_type with invalid_request; RFC 6749
	// §5.2 says unsupported_grant_type (docs/security.md, "Token endpoint": password, implicit…).
	if err := r.ParseForm(); err == nil && r.PostForm.Get("grant_type") != "" && !supportedGrantTypes[r.PostForm.Get("grant_type")] {
		rfc := fosite.ErrUnsupportedGrantType.WithHintf("Puguh does not support grant_type %q.", r.PostForm.Get("grant_type"))
		p.WriteAccessError(ctx, w, fosite.NewAccessRequest(sess), rfc)
		return
	}
	// After the rate limits, which may wait for Redis: a slot is held only
	// for the request's own CPU work (admission).
	if r.PostForm.Get("grant_type") == "client_credentials" {
		release, ok := waitTurn(w, r, e.admitClientCredentials)
		if !ok {
			return
		}
		defer release()
	}
	ar, err := p.NewAccessRequest(ctx, r, sess)
	if err != nil {
		e.logError(r, err)
		p.WriteAccessError(ctx, w, ar, challenge(w, tokenError(w, err)))
		return
	}
	if ar.GetGrantTypes().ExactOne("client_credentials") {
		e.clientCredentialsSession(ar, sess)
	} else if err := e.P.userStillActive(ctx, ar); err != nil {
		e.logError(r, err)
		p.WriteAccessError(ctx, w, ar, challenge(w, tokenError(w, err)))
		return
	}
	// The tokens are signed with the algorithms the client registered
	// (RS256 unless it chose ES256 or EdDSA).
	if c, ok := ar.GetClient().(*Client); ok {
		ctx = keys.WithAlgorithms(ctx, c.signingAlgorithms())
		atHashFor(ar, c.IDTokenAlg)
	}
	resp, err := p.NewAccessResponse(ctx, ar)
	if err != nil {
		e.logError(r, err)
		p.WriteAccessError(ctx, w, ar, challenge(w, tokenError(w, err)))
		return
	}
	// fosite writes "bearer". RFC 6749 §5.1 makes the value case-insensitive,
	// but the API guide and the REST login spell it "Bearer" (RFC 6750's
	// scheme name), and clients that compare it literally exist: one spelling
	// everywhere.
	resp.SetTokenType(TokenTypeBearer)
	p.WriteAccessResponse(ctx, w, ar, resp)
}

// atHashFor tells the session the algorithm of the ID token it will carry,
// for at_hash (Session.IDTokenHeaders).
func atHashFor(ar fosite.AccessRequester, idTokenAlg string) {
	if sess, ok := ar.GetSession().(*Session); ok {
		sess.idTokenAlg = idTokenAlg
	}
}

// TokenTypeBearer is the token_type of every token response Puguh writes.
const TokenTypeBearer = "Bearer"

// limitToken decides the token request's rate limit before any grant work:
// it authenticates the client first (fosite's own authentication, which
// NewAccessRequest then reuses through the context instead of running it
// again), and charges a confidential client that authenticated to its own
// budget, anything else to its address's. It answers the 429 itself and
// reports false then.
func (e *Endpoints) limitToken(w http.ResponseWriter, r *http.Request) (context.Context, bool) {
	ctx := r.Context()
	if e.Limits == nil {
		return ctx, true
	}
	var client fosite.Client
	var authErr error = fosite.ErrInvalidClient
	// fosite parses the form the same way; a body it cannot parse is its
	// invalid_request, from an address that pays for it.
	if err := r.ParseMultipartForm(1 << 20); err == nil || errors.Is(err, http.ErrNotMultipart) {
		client, authErr = e.P.authenticateClient(ctx, r, r.PostForm)
		ctx = withClientAuthentication(ctx, client, authErr)
	}
	var err error
	if authErr == nil && !client.IsPublic() {
		err = e.Limits.LimitClient(w, r, client.GetID())
	} else {
		err = e.Limits.LimitAddress(w, r)
	}
	if err != nil {
		httpapi.WriteError(w, r, err)
		return ctx, false
	}
	return ctx, true
}

// tokenError corrects what fosite reports when storage decides a grant:
// fosite wraps every storage error of the response phase as server_error.
//   - A code redeemed by a concurrent request (the storage's conditional
//     update lost) is the client's problem: invalid_grant (RFC 6749 §5.2),
//     like any other second redemption.
//   - A database outage is temporary: 503 temporarily_unavailable with
//     Retry-After, so clients retry instead of giving up.
func tokenError(w http.ResponseWriter, err error) error {
	switch {
	case errors.Is(err, fosite.ErrInvalidatedAuthorizeCode):
		return fosite.ErrInvalidGrant.WithHint("The authorization code has already been used.").WithWrap(err)
	case errors.Is(err, storage.ErrUnavailable):
		w.Header().Set("Retry-After", "5")
		return fosite.ErrTemporarilyUnavailable.WithWrap(err)
	}
	return err
}

// challenge adds the HTTP Basic challenge to a 401 of the token,
// revocation and introspection endpoints: RFC 6749 §5.2 asks for it when
// the client authenticated with Basic, and a client that posted its
// credentials in the form learns from it which scheme to use. fosite writes
// the 401 without one.
func challenge(w http.ResponseWriter, err error) error {
	if err != nil && fosite.ErrorToRFC6749Error(err).CodeField == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="puguh"`)
	}
	return err
}

// supportedGrantTypes are the grants of the public composition.
var supportedGrantTypes = map[string]bool{"authorization_code": true, "refresh_token": true, "client_credentials": true}

// clientCredentialsSession makes the token's subject the service account (or
// the application itself), acting in its organization. fosite checked the
// requested scopes and audience against the client; granting is ours.
func (e *Endpoints) clientCredentialsSession(ar fosite.AccessRequester, sess *Session) {
	client, _ := ar.GetClient().(*Client)
	for _, s := range ar.GetRequestedScopes() {
		ar.GrantScope(s)
	}
	for _, a := range ar.GetRequestedAudience() {
		ar.GrantAudience(a)
	}
	sess.ClientID = ar.GetClient().GetID()
	sess.FamilyID = ar.GetID()
	if client == nil {
		sess.Subject = sess.ClientID
		return
	}
	sess.OrganizationID = client.OrganizationID
	switch client.Kind {
	case ClientServiceAccount:
		// Service-account tokens are for Puguh's REST API.
		sess.Subject, sess.Kind = client.ServiceAccountID, KindServiceAccount
		ar.GrantAudience(e.P.cfg.APIAudience())
	default:
		sess.Subject = client.GetID()
		if len(ar.GetGrantedAudience()) == 0 {
			ar.GrantAudience(client.GetID())
		}
	}
}

// revoke is RFC 7009. fosite answers 200 for unknown tokens, as §2.2 asks,
// but also for any error other than invalid_request and invalid_client,
// storage failures included: that would tell the client a token was revoked
// when nothing was recorded. Those are 503 temporarily_unavailable with
// Retry-After instead (§2.2.1), so the client retries.
func (e *Endpoints) revoke(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	err := e.P.public.NewRevocationRequest(ctx, r)
	if err != nil {
		e.logError(r, err)
	}
	if revocationFailed(err) {
		w.Header().Set("Retry-After", "5")
		e.P.public.WriteAccessError(ctx, w, fosite.NewAccessRequest(NewSession()), fosite.ErrTemporarilyUnavailable.WithWrap(err))
		return
	}
	e.P.public.WriteRevocationResponse(ctx, w, challenge(w, err))
}

// revocationFailed reports an error of the revocation itself, not of the
// request: fosite's temporarily_unavailable (a storage error in its handler)
// or server_error, and a database outage wherever it surfaced (the client's
// lookup reports it as invalid_client).
func revocationFailed(err error) bool {
	return errors.Is(err, fosite.ErrTemporarilyUnavailable) || errors.Is(err, fosite.ErrServerError) ||
		errors.Is(err, storage.ErrUnavailable)
}

// introspect is RFC 7662. The caller must authenticate as a client with HTTP
// Basic (fosite would also take any access token as the caller's
// credentials), and it learns about tokens of its own organization only:
// any other token is {"active": false} (§2.2), so one tenant cannot read
// another's users through introspection.
func (e *Endpoints) introspect(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	callerID, _, ok := r.BasicAuth()
	if !ok {
		e.P.public.WriteIntrospectionError(ctx, w, challenge(w, fosite.ErrRequestUnauthorized.WithHint("Authenticate with HTTP Basic client credentials.")))
		return
	}
	// fosite takes an access_token parameter as the caller's credentials
	// before it looks at Basic, and then never checks the Basic secret: a
	// valid token of any tenant plus another client's id would pass as that
	// client. Only the client's own credentials authenticate here.
	if err := r.ParseForm(); err != nil || r.Form.Has("access_token") {
		e.P.public.WriteIntrospectionError(ctx, w, challenge(w, fosite.ErrRequestUnauthorized.WithHint("Authenticate with HTTP Basic client credentials only.")))
		return
	}
	// A JWT is introspected from its signature and claims, CPU work only; a
	// refresh token is looked up in storage and does not hold a slot while
	// it waits for the database (admission).
	if strings.Count(r.PostForm.Get("token"), ".") == 2 {
		release, ok := waitTurn(w, r, e.admitIntrospection)
		if !ok {
			return
		}
		defer release()
	}
	ir, err := e.P.public.NewIntrospectionRequest(ctx, r, NewSession())
	if err != nil {
		e.logError(r, err)
		e.P.public.WriteIntrospectionError(ctx, w, challenge(w, err))
		return
	}
	if ir.IsActive() && !e.sameOrganization(r, callerID, ir.GetAccessRequester()) {
		e.P.public.WriteIntrospectionResponse(ctx, w, &fosite.IntrospectionResponse{Active: false})
		return
	}
	e.P.public.WriteIntrospectionResponse(ctx, w, ir)
}

// sameOrganization reports whether the token belongs to the caller's
// organization: the organization it acts in, else its client's.
func (e *Endpoints) sameOrganization(r *http.Request, callerID string, token fosite.Requester) bool {
	if token == nil {
		return false
	}
	caller, err := e.P.publicClients.GetClient(r.Context(), callerID)
	if err != nil {
		return false
	}
	cc, ok := caller.(*Client)
	if !ok || cc.OrganizationID == "" {
		return false
	}
	org := ""
	if sess, ok := token.GetSession().(*Session); ok {
		org = sess.OrganizationID
	}
	if tc, ok := token.GetClient().(*Client); ok && org == "" {
		org = tc.OrganizationID
	}
	return org == cc.OrganizationID
}

// logError logs the fosite error's debug text, which never goes to clients.
func (e *Endpoints) logError(r *http.Request, err error) {
	rfc := fosite.ErrorToRFC6749Error(err)
	log := httpapi.Logger(r.Context())
	if rfc.CodeField >= 500 && httpapi.Abandoned(r) {
		log.Info("request abandoned by the client", "error", rfc.ErrorField, "debug", rfc.DebugField)
		return
	}
	if rfc.CodeField >= 500 {
		log.Error("oauth: request failed", "error", rfc.ErrorField, "debug", rfc.DebugField)
		return
	}
	log.Info("oauth: request refused", "error", rfc.ErrorField, "hint", rfc.HintField, "debug", rfc.DebugField)
}
