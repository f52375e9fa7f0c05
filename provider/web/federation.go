package web

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/gorilla/mux"
	"golang.org/x/oauth2"

	"github.com/arsaka/puguh/keys"
	"github.com/arsaka/puguh/provider/federation"
	"github.com/arsaka/puguh/provider/httpapi"
	"github.com/arsaka/puguh/provider/problem"
	"github.com/arsaka/puguh/storage"
)

// Federation is what the sign-in asks of the federation rules
// (federation.Service): which connection an email belongs to, a connection
// ready to sign in with, and the user an upstream sign-in becomes.
type Federation interface {
	Discover(ctx context.Context, email string) (*storage.FederationConnection, bool, error)
	ForLogin(ctx context.Context, id string) (*federation.LoginConnection, error)
	SignIn(ctx context.Context, c *federation.LoginConnection, up federation.Upstream) (*storage.User, error)
	// Failed records a sign-in the provider refused or answered wrongly.
	Failed(ctx context.Context, c *federation.Connection, reason string)
}

// FederatedSessions marks the SSO sessions that began upstream, and
// remembers the SAML assertions already accepted.
type FederatedSessions interface {
	CreateFederatedSession(ctx context.Context, fs *storage.FederatedSession) error
	FederatedSession(ctx context.Context, sessionID string) (*storage.FederatedSession, error)
	ConsumeSAMLAssertion(ctx context.Context, connectionID, assertionID string, expiresAt, now time.Time) error
}

// federationCookie carries the upstream login's state, nonce and PKCE
// verifier between the redirect to the identity provider and its callback.
// It is sealed (AES-GCM under a key derived from PUGUH_SECRET) and bound to
// the browser's pre-session cookie, so it opens only in the browser that
// started the sign-in.
const federationCookie = "puguh_federation"

// federationLifetime bounds how long a person may spend at the identity provider.
const federationLifetime = 10 * time.Minute

// upstreamTimeout bounds each call to an identity provider (discovery, token).
const upstreamTimeout = 10 * time.Second

// federationState is the sealed content of federationCookie.
type federationState struct {
	Connection string `json:"c"`
	State      string `json:"s"`
	Nonce      string `json:"n"`
	Verifier   string `json:"v"`
	Challenge  string `json:"ch,omitempty"`
	ReturnTo   string `json:"r,omitempty"`
	Expires    int64  `json:"e"`
}

// federationDeps are the parts of federated sign-in.
type federationDeps struct {
	rules    Federation
	sessions FederatedSessions
	box      *keys.Box
	client   *http.Client
	cache    *upstreamCache
}

// EnableFederation turns on sign-in through organizations' own identity
// providers (docs/federation.md): home-realm discovery on /login, the
// callback at /federation/{id}/callback, and the amr and idp claims.
// secret is PUGUH_SECRET; client is the HTTP client for the providers (nil:
// one with upstreamTimeout).
func (p *Pages) EnableFederation(rules Federation, sessions FederatedSessions, secret []byte, client *http.Client) error {
	box, err := keys.NewBox(secret, "federation-login-state")
	if err != nil {
		return err
	}
	if client == nil {
		client = &http.Client{Timeout: upstreamTimeout}
	}
	p.federation = &federationDeps{rules: rules, sessions: sessions, box: box, client: client, cache: newUpstreamCache(p.now)}
	return nil
}

// mountFederation registers the callback, and the SAML service provider's
// metadata and assertion consumer service.
func (p *Pages) mountFederation(r *mux.Router) {
	r.HandleFunc("/federation/{id}/callback", p.federationCallback).Methods(http.MethodGet)
	r.HandleFunc("/federation/saml/{id}/metadata", p.samlMetadataDocument).Methods(http.MethodGet)
	r.HandleFunc("/federation/saml/{id}/acs", p.samlACS).Methods(http.MethodPost)
}

// discover returns the connection to sign in through for an email, the
// connection parameter of the authorization request, or nil.
func (p *Pages) discover(ctx context.Context, email string) (string, error) {
	if p.federation == nil || email == "" {
		return "", nil
	}
	c, ok, err := p.federation.rules.Discover(ctx, email)
	if err != nil || !ok {
		return "", err
	}
	return c.ID, nil
}

// startFederation sends the browser to the connection's identity provider:
// OpenID Connect (authorization code with PKCE S256, state and nonce) or
// SAML (an AuthnRequest with the HTTP-Redirect binding).
func (p *Pages) startFederation(w http.ResponseWriter, r *http.Request, connectionID, loginHint, challenge, returnTo string) {
	lc, ok := p.loginConnection(w, r, connectionID)
	if !ok {
		return
	}
	if lc.Protocol == storage.ProtocolSAML {
		p.startSAML(w, r, lc, loginHint, challenge, returnTo)
		return
	}
	cfg, _, ok := p.upstream(w, r, lc)
	if !ok {
		return
	}
	st := federationState{
		Connection: lc.ID, State: randomToken(), Nonce: randomToken(), Verifier: oauth2.GenerateVerifier(),
		Challenge: challenge, ReturnTo: returnTo, Expires: p.now().Add(federationLifetime).Unix(),
	}
	plain, _ := json.Marshal(st)
	sealed, err := p.federation.box.Seal(digest(p.Browser(w, r)), plain)
	if err != nil {
		p.unavailable(w, r, err)
		return
	}
	p.setCookie(w, federationCookie, base64.RawURLEncoding.EncodeToString(sealed), int(federationLifetime.Seconds()))
	opts := []oauth2.AuthCodeOption{oidc.Nonce(st.Nonce), oauth2.S256ChallengeOption(st.Verifier)}
	if loginHint != "" {
		opts = append(opts, oauth2.SetAuthURLParam("login_hint", loginHint))
	}
	p.sendUpstream(w, r, lc, cfg.AuthCodeURL(st.State, opts...), loginHint)
}

// sendUpstream sends the browser to its identity provider.
func (p *Pages) sendUpstream(w http.ResponseWriter, r *http.Request, lc *federation.LoginConnection, target, loginHint string) {
	httpapi.Logger(r.Context()).Info("federation: sign-in sent upstream", "connection_id", lc.ID, "protocol", lc.Protocol)
	if r.Method == http.MethodPost {
		// CSP form-action of the sign-in page (its own origin) governs the
		// redirects that follow its form post, so the answer to the post is
		// a page that moves on to the provider by itself (and a link).
		p.Render(w, r, http.StatusOK, "federation", federationPage{Email: loginHint, Target: target})
		return
	}
	p.Headers(w)
	redirect(w, target)
}

// federationPage is the data of federation.html.
type federationPage struct {
	Email  string
	Target string
}

// loginConnection loads a connection ready to sign in. On failure it has
// shown the error page.
func (p *Pages) loginConnection(w http.ResponseWriter, r *http.Request, id string) (*federation.LoginConnection, bool) {
	lc, err := p.federation.rules.ForLogin(r.Context(), id)
	if err != nil {
		if problem.Is(err, problem.NotFound) {
			p.RenderError(w, r, http.StatusNotFound, "Unknown sign-in connection", "This organization's sign-in connection does not exist (any more).", "", "")
			return nil, false
		}
		p.unavailable(w, r, err)
		return nil, false
	}
	return lc, true
}

// upstreamUnavailable is the page of an identity provider whose discovery
// document or metadata cannot be had.
func (p *Pages) upstreamUnavailable(w http.ResponseWriter, r *http.Request, lc *federation.LoginConnection, err error) {
	httpapi.Logger(r.Context()).Warn("federation: identity provider discovery failed", "connection_id", lc.ID, "issuer", lc.Issuer, "error", err)
	p.federation.rules.Failed(r.Context(), &lc.Connection, "provider_unavailable")
	p.RenderError(w, r, http.StatusBadGateway, "Identity provider unavailable",
		"Your organization's identity provider could not be reached. Try again in a moment, or ask your administrator.", "", "")
}

// upstream reads an OpenID Connect connection's provider (its discovery
// document, cached). On failure it has shown the error page.
func (p *Pages) upstream(w http.ResponseWriter, r *http.Request, lc *federation.LoginConnection) (*oauth2.Config, *oidc.Provider, bool) {
	provider, err := p.oidcProvider(r.Context(), lc.Issuer)
	if err != nil {
		p.upstreamUnavailable(w, r, lc, err)
		return nil, nil, false
	}
	cfg := &oauth2.Config{
		ClientID: lc.ClientID, ClientSecret: lc.ClientSecret, Endpoint: provider.Endpoint(),
		RedirectURL: strings.TrimSuffix(p.issuer.String(), "/") + federation.CallbackPath(lc.ID), Scopes: lc.Scopes,
	}
	return cfg, provider, true
}

// federationCallback completes an upstream sign-in
// (GET /federation/{id}/callback): the state must be the one this browser
// was sent with, the code is redeemed with the PKCE verifier, the ID token
// verified (issuer, audience, signature, expiry) and its nonce compared;
// then the federation rules decide who the user is, and the SSO session
// starts. Every failure is a page, never a 500 from the provider's answer.
func (p *Pages) federationCallback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if p.federation == nil {
		p.RenderError(w, r, http.StatusNotFound, "Not found", "There is nothing here.", "", "")
		return
	}
	id := mux.Vars(r)["id"]
	st, ok := p.federationState(r)
	p.setCookie(w, federationCookie, "", -1)
	expired := func() {
		p.RenderError(w, r, http.StatusBadRequest, "Sign-in expired",
			"This sign-in was not started in this browser, or took too long. Return to the application and try again.", "", "")
	}
	q := r.URL.Query()
	if !ok || st.Connection != id || subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(st.State)) != 1 {
		expired()
		return
	}
	lc, ok := p.loginConnection(w, r, id)
	if !ok {
		return
	}
	if code := q.Get("error"); code != "" {
		httpapi.Logger(ctx).Info("federation: identity provider refused the sign-in", "connection_id", id, "error", code)
		p.federation.rules.Failed(ctx, &lc.Connection, "provider_refused")
		p.RenderError(w, r, http.StatusForbidden, "Sign-in refused",
			"Your organization's identity provider did not sign you in.", limit(code, 100), limit(q.Get("error_description"), 300))
		return
	}
	if q.Get("code") == "" {
		p.federation.rules.Failed(ctx, &lc.Connection, "invalid_response")
		p.RenderError(w, r, http.StatusBadRequest, "Sign-in failed", "The identity provider's answer carries no authorization code.", "invalid_request", "")
		return
	}
	cfg, provider, ok := p.upstream(w, r, lc)
	if !ok {
		return
	}
	octx, cancel := context.WithTimeout(oidc.ClientContext(ctx, p.federation.client), upstreamTimeout)
	defer cancel()
	badGateway := func(what string, err error) {
		httpapi.Logger(ctx).Warn("federation: "+what, "connection_id", id, "error", err)
		p.federation.rules.Failed(ctx, &lc.Connection, "invalid_response")
		p.RenderError(w, r, http.StatusBadGateway, "Sign-in failed",
			"Puguh could not complete the sign-in with your organization's identity provider ("+what+").", "", "")
	}
	tok, err := cfg.Exchange(octx, q.Get("code"), oauth2.VerifierOption(st.Verifier))
	if err != nil {
		badGateway("the code was not accepted", err)
		return
	}
	rawID, _ := tok.Extra("id_token").(string)
	if rawID == "" {
		badGateway("no ID token", errors.New("token response without id_token"))
		return
	}
	idt, err := provider.Verifier(&oidc.Config{ClientID: lc.ClientID}).Verify(octx, rawID)
	if err != nil {
		badGateway("the ID token is not valid", err)
		return
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(st.Nonce)) != 1 {
		badGateway("the ID token is not for this sign-in", errors.New("nonce mismatch"))
		return
	}
	claims := map[string]any{}
	if err := idt.Claims(&claims); err != nil {
		badGateway("the ID token cannot be read", err)
		return
	}
	p.completeFederation(w, r, lc, federation.FromClaims(&lc.Connection, claims), storage.FederatedSession{
		IDP: lc.Issuer, EndSessionURL: endSessionURL(provider, lc.ClientID, rawID),
	}, st.Challenge, st.ReturnTo)
}

// completeFederation is the end of every upstream sign-in, OpenID Connect
// or SAML: the federation rules decide who the person is (provisioning and
// linking), the SSO session starts with amr "fed" and is marked with the
// provider (the idp claim; fs), and the browser returns to the pending
// authorization request or to returnTo.
func (p *Pages) completeFederation(w http.ResponseWriter, r *http.Request, lc *federation.LoginConnection, up federation.Upstream,
	fs storage.FederatedSession, challenge, returnTo string) {
	ctx := r.Context()
	user, err := p.federation.rules.SignIn(ctx, lc, up)
	if err != nil {
		he, isHTTP := httpapi.AsError(err)
		detail, _ := he.Detail.(string)
		if !isHTTP || he.Status >= 500 || detail == "" {
			p.unavailable(w, r, err)
			return
		}
		httpapi.Logger(ctx).Info("federation: sign-in refused", "connection_id", lc.ID, "reason", detail)
		p.RenderError(w, r, he.Status, "Sign-in refused", detail, "", "")
		return
	}
	previous, err := p.CurrentSession(r)
	if err != nil {
		httpapi.Logger(ctx).Warn("web: read previous session", "error", err)
	}
	sess, err := p.startSessionAMR(w, r, user, previous, []string{"fed"})
	if err != nil {
		p.unavailable(w, r, err)
		return
	}
	fs.SessionID, fs.ConnectionID = sess.ID, lc.ID
	if err := p.federation.sessions.CreateFederatedSession(ctx, &fs); err != nil {
		p.unavailable(w, r, err)
		return
	}
	httpapi.Logger(ctx).Info("user signed in", "user_id", user.ID, "connection_id", lc.ID)
	p.Headers(w)
	switch {
	case challenge != "":
		redirect(w, "/oauth/authorize?challenge="+url.QueryEscape(challenge))
	case returnTo != "":
		redirect(w, returnTo)
	default:
		redirect(w, defaultReturnTo)
	}
}

// federationState opens this browser's federation cookie.
func (p *Pages) federationState(r *http.Request) (*federationState, bool) {
	raw := p.cookie(r, federationCookie)
	browser := p.cookie(r, browserCookie)
	if raw == "" || len(browser) != 43 || len(raw) > 4096 {
		return nil, false
	}
	sealed, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil {
		return nil, false
	}
	plain, err := p.federation.box.Open(digest(browser), sealed)
	if err != nil {
		return nil, false
	}
	var st federationState
	if json.Unmarshal(plain, &st) != nil || p.now().Unix() > st.Expires {
		return nil, false
	}
	return &st, true
}

// endSessionURL is where signing out sends the browser to end the upstream
// session too (OpenID Connect RP-Initiated Logout), when the provider
// publishes an end_session_endpoint; "" otherwise.
func endSessionURL(provider *oidc.Provider, clientID, idToken string) string {
	var meta struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if provider.Claims(&meta) != nil || meta.EndSession == "" {
		return ""
	}
	u, err := url.Parse(meta.EndSession)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return ""
	}
	q := u.Query()
	q.Set("client_id", clientID)
	q.Set("id_token_hint", idToken)
	u.RawQuery = q.Encode()
	return u.String()
}

// federatedSession returns the mark of an SSO session, or nil.
func (p *Pages) federatedSession(ctx context.Context, sessionID string) *storage.FederatedSession {
	if p.federation == nil {
		return nil
	}
	fs, err := p.federation.sessions.FederatedSession(ctx, sessionID)
	if err != nil {
		if !errors.Is(err, storage.ErrNotFound) {
			httpapi.Logger(ctx).Warn("federation: read federated session", "error", err)
		}
		return nil
	}
	return fs
}

func limit(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
