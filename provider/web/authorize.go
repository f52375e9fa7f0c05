package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ory/fosite"

	"github.com/arsaka/puguh/provider/httpapi"
	"github.com/arsaka/puguh/provider/mfa"
	"github.com/arsaka/puguh/provider/oauth"
	"github.com/arsaka/puguh/storage"
)

// authorize is the authorization endpoint (RFC 6749 §3.1, OIDC Core §3.1.2).
// fosite parses and validates the request (client, exact redirect URI, scope,
// response type, PKCE) and issues the code; this handler decides who the user
// is and whether they consented:
//
//  1. no SSO session, prompt=login, or an authentication older than max_age:
//     store the request as a login challenge and send the browser to /login
//     (prompt=none answers login_required instead);
//  2. consent unless the application is trusted or a remembered grant covers
//     the scopes (prompt=consent always asks; prompt=none answers consent_required);
//  3. fosite issues the code; the response carries code, state and iss (RFC 9207).
//
// After /login and /consent the browser comes back here with ?challenge=ID,
// and the stored request is parsed again, so every check runs every time.
func (p *Pages) authorize(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	now := p.now().UTC()
	requestedAt := now
	req := r
	var challenge *challengeRef
	if id := r.URL.Query().Get("challenge"); id != "" && r.URL.Query().Get("client_id") == "" {
		c, ok := p.challenge(w, r, id)
		if !ok {
			return
		}
		challenge, requestedAt = c, c.RequestedAt
		req = requestFromQuery(r, c.Query)
	}

	public := p.provider.Public()
	ar, err := public.NewAuthorizeRequest(ctx, req)
	if err != nil {
		p.authorizeError(w, r, ar, err)
		return
	}
	// From here on the redirect URI is registered; still, only the answers
	// of answersClient go back to the client.
	prompts := fosite.RemoveEmpty(strings.Split(ar.GetRequestForm().Get("prompt"), " "))
	promptNone := fosite.Arguments(prompts).Has("none")
	maxAge, err := parseMaxAge(ar.GetRequestForm().Get("max_age"))
	if err == nil {
		err = precheck(ar, prompts)
	}
	if err != nil {
		p.authorizeError(w, r, ar, err)
		return
	}

	sess, err := p.CurrentSession(r)
	if err != nil {
		p.authorizeError(w, r, ar, fosite.ErrServerError.WithWrap(err))
		return
	}
	// A sign-in made for this very request satisfies prompt=login and max_age
	// (OIDC Core §3.1.2.1); otherwise prompt=login always asks again and
	// max_age asks when the last sign-in is older.
	signedInForThis := sess != nil && challenge != nil &&
		!sess.AuthTime.Truncate(time.Second).Before(challenge.RequestedAt.Truncate(time.Second))
	needLogin := sess == nil || (!signedInForThis &&
		(fosite.Arguments(prompts).Has("login") || (maxAge >= 0 && now.Sub(sess.AuthTime) > time.Duration(maxAge)*time.Second) ||
			needsStepUp(ar.GetRequestForm().Get("acr_values"), sess)))
	if needLogin {
		if promptNone {
			// OIDC Core §3.1.2.6: prompt=none must not show a page.
			p.authorizeError(w, r, ar, fosite.ErrLoginRequired.WithHint("The user is not signed in, or must sign in again."))
			return
		}
		if challenge == nil {
			if challenge, err = p.newChallenge(w, r, ar, now); err != nil {
				p.authorizeError(w, r, ar, fosite.ErrServerError.WithWrap(err))
				return
			}
		}
		redirect(w, "/login?challenge="+url.QueryEscape(challenge.token))
		return
	}

	user, err := p.store.UserByID(ctx, sess.UserID)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		p.authorizeError(w, r, ar, fosite.ErrLoginRequired.WithWrap(err))
		return
	case err != nil:
		p.authorizeError(w, r, ar, fosite.ErrServerError.WithWrap(err))
		return
	case user.Disabled:
		p.authorizeError(w, r, ar, fosite.ErrLoginRequired.WithWrap(errors.New("user disabled")))
		return
	}
	client, ok := ar.GetClient().(*oauth.Client)
	if !ok {
		p.authorizeError(w, r, ar, fosite.ErrServerError.WithDebug("unexpected client type"))
		return
	}

	consented, err := p.consented(r, ar, client, sess, challenge, prompts)
	if err != nil {
		p.authorizeError(w, r, ar, fosite.ErrServerError.WithWrap(err))
		return
	}
	if !consented {
		if promptNone {
			p.authorizeError(w, r, ar, fosite.ErrConsentRequired.WithHint("The user has not consented to these scopes."))
			return
		}
		if challenge == nil {
			if challenge, err = p.newChallenge(w, r, ar, now); err != nil {
				p.authorizeError(w, r, ar, fosite.ErrServerError.WithWrap(err))
				return
			}
		}
		redirect(w, "/consent?challenge="+url.QueryEscape(challenge.token))
		return
	}

	// Consent covers everything requested: fosite checked the scopes and
	// audience against the client's registration.
	for _, s := range ar.GetRequestedScopes() {
		ar.GrantScope(s)
	}
	for _, a := range ar.GetRequestedAudience() {
		ar.GrantAudience(a)
	}
	ar.GrantAudience(client.GetID())
	osess := oauth.NewUserSession(user, client, ar.GetGrantedScopes(), sess.AuthTime, requestedAt, ar.GetID())
	amr := mfa.SplitAMR(sess.AMR)
	osess.Claims.AuthenticationMethodsReferences = amr
	osess.Claims.AuthenticationContextClassReference = mfa.ACROf(amr)
	if fs := p.federatedSession(ctx, sess.ID); fs != nil {
		// Where the user signed in (docs/federation.md); amr says how ("fed").
		osess.Claims.Add("idp", fs.IDP)
	}
	resp, err := public.NewAuthorizeResponse(ctx, ar, osess)
	if err != nil {
		p.authorizeError(w, r, ar, err)
		return
	}
	// Recorded before the code leaves, so sign-out and grant revocation can
	// always find the tokens it will be exchanged for.
	if err := p.store.AddSessionFamily(ctx, &storage.SessionFamily{
		FamilyID: ar.GetID(), SessionID: sess.ID, UserID: user.ID, ApplicationID: client.GetID(),
		CreatedAt: now, ExpiresAt: now.Add(maxFamilyLifetime),
	}); err != nil {
		p.authorizeError(w, r, ar, fosite.ErrServerError.WithWrap(err))
		return
	}
	if challenge != nil {
		if err := p.store.DeleteLoginChallenge(ctx, challenge.ID); err != nil {
			httpapi.Logger(ctx).Warn("web: delete login challenge", "error", err)
		}
	}
	httpapi.Logger(ctx).Info("oauth: authorization code issued", "client_id", client.GetID(), "user_id", user.ID)
	public.WriteAuthorizeResponse(ctx, p.withIssuer(w), ar, resp)
}

// maxFamilyLifetime bounds how long a family record is kept: the refresh
// family cap of package oauthstore.
const maxFamilyLifetime = 90 * 24 * time.Hour

// consented reports whether the user has agreed to this request: a trusted
// application, consent given on this very challenge, or (unless prompt=consent)
// a remembered grant that covers every requested scope.
func (p *Pages) consented(r *http.Request, ar fosite.AuthorizeRequester, client *oauth.Client, sess *storage.BrowserSession,
	challenge *challengeRef, prompts []string) (bool, error) {
	if client.Trusted {
		return true, nil
	}
	if challenge != nil && challenge.ConsentedAt != nil && challenge.UserID == sess.UserID {
		return true, nil
	}
	if fosite.Arguments(prompts).Has("consent") {
		return false, nil
	}
	g, err := p.store.ConsentGrant(r.Context(), client.GetID(), sess.UserID)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for _, s := range ar.GetRequestedScopes() {
		if !fosite.Arguments(g.Scopes).Has(s) {
			return false, nil
		}
	}
	return true, nil
}

// precheck refuses, before any page is shown, requests that fosite would
// refuse only when issuing the code, or never: an unknown prompt value or
// prompt=none with others (OIDC Core §3.1.2.1), a public client without an
// S256 PKCE challenge (RFC 7636 §4.4.1; RFC 9700 §2.1.1), and, from any
// client, a code_challenge that cannot be an S256 challenge or comes without
// code_challenge_method=S256. fosite still enforces what it enforces.
func precheck(ar fosite.AuthorizeRequester, prompts []string) error {
	for _, v := range prompts {
		if v != "none" && v != "login" && v != "consent" {
			return fosite.ErrInvalidRequest.WithHintf("Unsupported prompt value %q.", v)
		}
	}
	if fosite.Arguments(prompts).Has("none") && len(prompts) > 1 {
		return fosite.ErrInvalidRequest.WithHint("prompt=none cannot be combined with other values.")
	}
	form := ar.GetRequestForm()
	if ar.GetClient().IsPublic() && (form.Get("code_challenge") == "" || form.Get("code_challenge_method") != "S256") {
		return fosite.ErrInvalidRequest.WithHint("Public clients must send a PKCE code_challenge with code_challenge_method=S256.")
	}
	// An empty parameter is an absent one (RFC 6749 §3.1): a confidential
	// client may go without PKCE.
	if c := form.Get("code_challenge"); c != "" {
		if !isS256Challenge(c) {
			return fosite.ErrInvalidRequest.WithHint("code_challenge must be the S256 challenge of the code verifier: " +
				"43 characters of base64url without padding (RFC 7636 §4.2).")
		}
		if form.Get("code_challenge_method") != "S256" {
			return fosite.ErrInvalidRequest.WithHint("A code_challenge must come with code_challenge_method=S256.")
		}
	}
	return nil
}

// isS256Challenge reports whether c can be BASE64URL(SHA256(code_verifier))
// (RFC 7636 §4.2): 43 characters of the base64url alphabet, no padding, whose
// last character carries no bits beyond the 32 bytes of the digest. fosite
// does not look at the challenge's form: any other value would be stored
// with the code, which then no verifier could redeem, after the user had
// signed in and consented for nothing.
func isS256Challenge(c string) bool {
	if len(c) != base64.RawURLEncoding.EncodedLen(sha256.Size) {
		return false
	}
	for i := 0; i < len(c); i++ {
		switch ch := c[i]; {
		case 'A' <= ch && ch <= 'Z', 'a' <= ch && ch <= 'z', '0' <= ch && ch <= '9', ch == '-', ch == '_':
		default:
			return false
		}
	}
	// Strict refuses a last character with stray low bits.
	b, err := base64.RawURLEncoding.Strict().DecodeString(c)
	return err == nil && len(b) == sha256.Size
}

// parseMaxAge reads max_age (OIDC Core §3.1.2.1); -1 when absent.
func parseMaxAge(v string) (int64, error) {
	if v == "" {
		return -1, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, fosite.ErrInvalidRequest.WithHint("max_age must be a non-negative integer.")
	}
	return n, nil
}

// MaxChallengesPerBrowser bounds the pending authorization requests one
// browser keeps: storing another deletes its oldest beyond the bound. Ten
// covers a user who opens several applications, or tabs, at once; a client
// that sends a browser here in a loop cannot fill the table through it.
// Clients that keep no cookie get a new pre-session cookie, so a new browser,
// on every request: the per-IP budget of /oauth/authorize bounds those
// (docs/rate-limits.md).
const MaxChallengesPerBrowser = 10

// newChallenge stores the authorization request, bound to this browser's
// pre-session cookie, or reuses the pending challenge of the identical
// request from the same browser (a reload, a double click), so repeating a
// request stores nothing new.
//
// The challenge id is an HMAC of the pre-session cookie and the request's
// parameters (in canonical order) under a key derived from PUGUH_SECRET: it is
// as unguessable as a random one without the cookie and the key, and the same
// browser sending the same request finds the same id. Only its digest is
// stored.
func (p *Pages) newChallenge(w http.ResponseWriter, r *http.Request, ar fosite.AuthorizeRequester, now time.Time) (*challengeRef, error) {
	ctx := r.Context()
	browser := p.Browser(w, r)
	query := ar.GetRequestForm().Encode()
	token := p.challengeToken(browser, query)
	id := digest(token)
	c, err := p.store.LoginChallengeByID(ctx, id, now)
	switch {
	case err == nil && c.Browser == digest(browser) && c.Query == query:
		return &challengeRef{LoginChallenge: c, token: token}, nil
	case err != nil && !errors.Is(err, storage.ErrNotFound):
		return nil, err
	}
	// An expired challenge of the same request may linger until the janitor
	// sweeps it; a concurrent identical request may have just stored one.
	// Either way the row is replaced by an equivalent one under the same id.
	if err := p.store.DeleteLoginChallenge(ctx, id); err != nil {
		return nil, err
	}
	c = &storage.LoginChallenge{
		ID: id, Browser: digest(browser), ClientID: ar.GetClient().GetID(),
		Query: query, RequestedAt: now, ExpiresAt: now.Add(ChallengeLifetime),
	}
	if err := p.store.CreateLoginChallenge(ctx, c); err != nil && !errors.Is(err, storage.ErrConflict) {
		return nil, err
	}
	if err := p.store.TrimLoginChallenges(ctx, c.Browser, MaxChallengesPerBrowser); err != nil {
		// The bound is restored by the next challenge of this browser.
		httpapi.Logger(ctx).Warn("web: trim login challenges", "error", err)
	}
	return &challengeRef{LoginChallenge: c, token: token}, nil
}

// challengeToken is the challenge id of query from browser (43 characters,
// base64url, like randomToken).
func (p *Pages) challengeToken(browser, query string) string {
	m := hmac.New(sha256.New, p.challengeKey)
	m.Write([]byte("challenge\x00" + browser + "\x00" + query))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// challengeRef is a stored challenge together with the secret the browser
// holds in the URL; only its digest is stored.
type challengeRef struct {
	*storage.LoginChallenge
	token string
}

// challenge loads the challenge the browser presents and checks it belongs to
// this browser. On failure it has shown the error page.
func (p *Pages) challenge(w http.ResponseWriter, r *http.Request, token string) (*challengeRef, bool) {
	bad := func() (*challengeRef, bool) {
		p.RenderError(w, r, http.StatusBadRequest, "Sign-in request expired",
			"This sign-in request has expired or was started in another browser. Return to the application and try again.", "", "")
		return nil, false
	}
	if len(token) != 43 {
		return bad()
	}
	c, err := p.store.LoginChallengeByID(r.Context(), digest(token), p.now())
	if errors.Is(err, storage.ErrNotFound) {
		return bad()
	}
	if err != nil {
		httpapi.Logger(r.Context()).Error("web: load login challenge", "error", err)
		p.RenderError(w, r, http.StatusServiceUnavailable, "Try again", "Puguh could not load this request. Try again in a moment.", "", "")
		return nil, false
	}
	if c.Browser != digest(p.cookie(r, browserCookie)) {
		return bad()
	}
	return &challengeRef{LoginChallenge: c, token: token}, true
}

// requestFromQuery rebuilds the original authorization request from its
// stored parameters, as a GET, so fosite parses and validates it again.
func requestFromQuery(r *http.Request, query string) *http.Request {
	r2 := r.Clone(r.Context())
	r2.Method = http.MethodGet
	u := *r.URL
	u.RawQuery = query
	r2.URL = &u
	r2.Body = http.NoBody
	r2.ContentLength = 0
	r2.Header.Del("Content-Type")
	r2.Form, r2.PostForm, r2.MultipartForm = nil, nil, nil
	return r2
}

// authorizeError answers an authorization error. It redirects to the client
// (with error, state and iss) only when the error is the outcome of a valid
// request — the user's refusal, or a prompt=none answer (answersClient) —
// and fosite verified the redirect URI. Every other error shows the error
// page and never redirects: tenants register their own clients, so a redirect
// on an error anyone can provoke (an unknown scope, a bad parameter) would
// make Puguh an open redirector to any URI an attacker registered
// (RFC 9700 §4.11.2; RFC 6749 §4.1.2.1 for an unverified URI).
func (p *Pages) authorizeError(w http.ResponseWriter, r *http.Request, ar fosite.AuthorizeRequester, err error) {
	rfc := fosite.ErrorToRFC6749Error(err)
	log := httpapi.Logger(r.Context())
	switch {
	case rfc.CodeField >= 500 && httpapi.Abandoned(r):
		log.Info("request abandoned by the client", "error", rfc.ErrorField, "debug", rfc.DebugField)
	case rfc.CodeField >= 500:
		log.Error("oauth: authorize failed", "error", rfc.ErrorField, "debug", rfc.DebugField, "cause", rfc.Unwrap())
	default:
		log.Info("oauth: authorize refused", "error", rfc.ErrorField, "hint", rfc.HintField, "debug", rfc.DebugField)
	}
	if ar != nil && ar.IsRedirectURIValid() && answersClient(rfc) {
		p.provider.Public().WriteAuthorizeError(r.Context(), p.withIssuer(w), ar, err)
		return
	}
	status, message := rfc.CodeField, "The application sent an invalid sign-in request, so Puguh does not send you back to it."
	switch {
	case status >= 500:
		message = "Puguh could not complete this sign-in request. Return to the application and try again in a moment."
	case status < 400:
		status = http.StatusBadRequest
	}
	p.RenderError(w, r, status, "Authorization failed", message, rfc.ErrorField, rfc.GetDescription())
}

// answersClient reports whether an authorization error is an answer the
// client asked for with a valid request, and so goes back to it: the user
// refused (access_denied), or prompt=none could not be honoured without a
// page (login_required, consent_required, interaction_required; OIDC Core
// §3.1.2.6), which silent authentication relies on.
func answersClient(e *fosite.RFC6749Error) bool {
	switch e.ErrorField {
	case fosite.ErrAccessDenied.ErrorField, fosite.ErrLoginRequired.ErrorField,
		fosite.ErrConsentRequired.ErrorField, fosite.ErrInteractionRequired.ErrorField:
		return true
	}
	return false
}

// withIssuer wraps w so that the redirect fosite writes carries iss
// (RFC 9207 §2): on success and on error alike, which defeats mix-up attacks.
func (p *Pages) withIssuer(w http.ResponseWriter) http.ResponseWriter {
	return &issuerWriter{ResponseWriter: w, issuer: p.provider.Config().Issuer}
}

type issuerWriter struct {
	http.ResponseWriter
	issuer string
}

func (w *issuerWriter) WriteHeader(code int) {
	if code >= 300 && code < 400 {
		if loc, err := url.Parse(w.Header().Get("Location")); err == nil && loc.Host != "" {
			if loc.Fragment != "" {
				f, _ := url.ParseQuery(loc.Fragment)
				f.Set("iss", w.issuer)
				loc.Fragment = f.Encode()
			} else {
				q := loc.Query()
				q.Set("iss", w.issuer)
				loc.RawQuery = q.Encode()
			}
			w.Header().Set("Location", loc.String())
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *issuerWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
