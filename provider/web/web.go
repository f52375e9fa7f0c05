// Package web serves Puguh's browser-facing pages and the browser leg of
// OAuth 2.0: /oauth/authorize, sign-in (/login), consent (/consent),
// sign-out (/logout), RP-initiated logout (/oauth/logout) and the error page.
//
// Every page shares one layout (templates/layout.html), one set of security
// headers (Headers), the SSO session lookup (Pages.CurrentSession) and the
// CSRF helpers (Pages.CSRFToken, Pages.CheckForm), so later pages (sign-up,
// the account area) are built the same way.
package web

import (
	"bytes"
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/arsaka/puguh/keys"
	"github.com/arsaka/puguh/provider/audit"
	"github.com/arsaka/puguh/provider/httpapi"
	"github.com/arsaka/puguh/provider/oauth"
	"github.com/arsaka/puguh/storage"
	"github.com/arsaka/puguh/templates"
)

// Store is what the pages read and write.
type Store interface {
	storage.SessionStore
	storage.LoginChallengeStore
	storage.ConsentGrantStore
	UserByID(ctx context.Context, id string) (*storage.User, error)
	ApplicationByID(ctx context.Context, id string) (*storage.Application, error)
	OrganizationByID(ctx context.Context, id string) (*storage.Organization, error)
}

// Passwords checks a user's password (identity.SignIn.CheckPassword: the same
// timing-safe check, and the same throttling, as the REST login).
type Passwords interface {
	CheckPassword(ctx context.Context, email, password string) (*storage.User, error)
	// Reauthenticate checks the password of a signed-in user confirming a
	// sensitive change: a success is no sign-in.
	Reauthenticate(ctx context.Context, email, password string) (*storage.User, error)
}

// TokenVerifier checks the signature of our JWTs (keys.Verifier).
type TokenVerifier interface {
	Verify(token string) (*keys.VerifiedToken, error)
}

// Lifetimes of the browser state.
const (
	// SessionLifetime is the absolute lifetime of an SSO session: after it
	// the user enters a password again, however active.
	SessionLifetime = 24 * time.Hour
	// SessionIdleTimeout ends a session unused for this long.
	SessionIdleTimeout = 8 * time.Hour
	// ChallengeLifetime is how long a pending authorization request waits
	// for the user to sign in and consent.
	ChallengeLifetime = 30 * time.Minute
)

// Config configures the pages.
type Config struct {
	Issuer  string // PUGUH_ISSUER; https turns on Secure, __Host- cookies
	Secret  []byte // PUGUH_SECRET; the CSRF key is derived from it
	MaxBody int64  // PUGUH_MAX_BODY_BYTES: a larger body is 413 on every page
	Now     func() time.Time
	// Audit records what the pages do themselves (consent given, a password
	// changed); nil: nothing.
	Audit audit.Recorder
}

// Pages is the browser-facing part of Puguh.
type Pages struct {
	store     Store
	passwords Passwords
	provider  *oauth.Provider
	verifier  TokenVerifier
	log       *slog.Logger
	mfa       SecondFactor // nil: no second factors (UseMFA)
	audit     audit.Recorder

	// passkeys signs in with passkeys; nil: none (UsePasskeys).
	passkeys PasskeySignIn

	issuer       *url.URL
	secure       bool
	csrfKey      []byte
	challengeKey []byte // keys the ids of login challenges (newChallenge)
	maxBody      int64
	now          func() time.Time
	pages        map[string]*template.Template
	static       http.Handler
	// apiDocsAssets are /docs/api's vendored files, apiDocsVersion their
	// release (apidocs.go).
	apiDocsAssets  map[string]*apiDocsAsset
	apiDocsVersion string
	federation     *federationDeps // nil until EnableFederation
}

// New parses the templates and derives the CSRF key.
func New(cfg Config, store Store, passwords Passwords, provider *oauth.Provider, verifier TokenVerifier, log *slog.Logger) (*Pages, error) {
	iss, err := url.Parse(cfg.Issuer)
	if err != nil || iss.Host == "" {
		return nil, fmt.Errorf("web: issuer %q is not an absolute URL", cfg.Issuer)
	}
	if cfg.MaxBody <= 0 {
		return nil, fmt.Errorf("web: MaxBody %d is not a positive size", cfg.MaxBody)
	}
	key, err := hkdf.Key(sha256.New, cfg.Secret, nil, "puguh csrf v1", 32)
	if err != nil {
		return nil, fmt.Errorf("web: derive csrf key: %w", err)
	}
	challengeKey, err := hkdf.Key(sha256.New, cfg.Secret, nil, "puguh login challenge v1", 32)
	if err != nil {
		return nil, fmt.Errorf("web: derive challenge key: %w", err)
	}
	p := &Pages{
		store: store, passwords: passwords, provider: provider, verifier: verifier, log: log, audit: audit.Or(cfg.Audit),
		issuer: iss, secure: iss.Scheme == "https", csrfKey: key, challengeKey: challengeKey, maxBody: cfg.MaxBody, now: cfg.Now, pages: map[string]*template.Template{},
	}
	if p.now == nil {
		p.now = time.Now
	}
	for _, name := range []string{"login", "consent", "logout", "error", "login_mfa", "federation", "api_docs"} {
		t, err := template.ParseFS(templates.FS, "layout.html", name+".html")
		if err != nil {
			return nil, fmt.Errorf("web: parse %s: %w", name, err)
		}
		p.pages[name] = t
	}
	static, err := fs.Sub(templates.FS, "static")
	if err != nil {
		return nil, err
	}
	p.static = http.StripPrefix("/static/", http.FileServer(http.FS(static)))
	if p.apiDocsAssets, p.apiDocsVersion, err = loadAPIDocs(); err != nil {
		return nil, err
	}
	return p, nil
}

// Mount registers the pages and the browser-facing OAuth endpoints.
func (p *Pages) Mount(r *mux.Router) {
	r = p.limitBodies(r)
	r.HandleFunc("/oauth/authorize", p.authorize).Methods(http.MethodGet, http.MethodPost)
	r.HandleFunc("/login", p.loginForm).Methods(http.MethodGet)
	r.HandleFunc("/login", p.login).Methods(http.MethodPost)
	r.HandleFunc("/login/mfa", p.loginMFA).Methods(http.MethodPost)
	p.mountPasskeys(r)
	r.HandleFunc("/consent", p.consentForm).Methods(http.MethodGet)
	r.HandleFunc("/consent", p.consent).Methods(http.MethodPost)
	r.HandleFunc("/logout", p.logoutForm).Methods(http.MethodGet)
	r.HandleFunc("/logout", p.logout).Methods(http.MethodPost)
	p.mountFederation(r)
	r.HandleFunc("/oauth/logout", p.endSessionForm).Methods(http.MethodGet)
	r.HandleFunc("/oauth/logout", p.endSession).Methods(http.MethodPost)
	p.mountAPIDocs(r)
	r.PathPrefix("/static/").Handler(http.HandlerFunc(p.serveStatic)).Methods(http.MethodGet, http.MethodHead)
}

// limitBodies returns a router for pages whose routes read at most
// Config.MaxBody bytes of body: a larger one is the error page with 413,
// before any handler (or fosite, for POST /oauth/authorize) parses it.
func (p *Pages) limitBodies(r *mux.Router) *mux.Router {
	sub := r.NewRoute().Subrouter()
	sub.Use(httpapi.LimitBody(p.maxBody, p.refuseBody))
	return sub
}

// refuseBody shows the error page for a body LimitBody or CheckForm refused.
func (p *Pages) refuseBody(w http.ResponseWriter, r *http.Request, status int) {
	if status == http.StatusRequestEntityTooLarge {
		p.RenderError(w, r, status, "Request too large", "What your browser sent is larger than Puguh accepts.", "", "")
		return
	}
	p.RenderError(w, r, http.StatusBadRequest, "Bad request", "The form could not be read.", "", "")
}

func (p *Pages) serveStatic(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	p.static.ServeHTTP(w, r)
}

// Headers sets the security headers of every page. formTargets are origins a
// form on the page may lead to besides our own (CSP form-action also governs
// the redirects that follow a form post, so the client's redirect origin must
// be listed where a post ends at the client).
func (p *Pages) Headers(w http.ResponseWriter, formTargets ...string) {
	h := w.Header()
	formAction := "'self'"
	for _, o := range formTargets {
		if o != "" && !strings.ContainsAny(o, " ;,'\"") {
			formAction += " " + o
		}
	}
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action "+formAction+
		"; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	// Strict-Transport-Security is set on every response, pages included,
	// by httpapi.StrictTransportSecurity around the whole server.
}

// Render writes a page with the security headers. The page is rendered into a
// buffer first so a template error becomes a clean 500, not half a page.
func (p *Pages) Render(w http.ResponseWriter, r *http.Request, status int, page string, data any, formTargets ...string) {
	var buf bytes.Buffer
	data = p.passkeyData(data)
	if err := p.pages[page].ExecuteTemplate(&buf, "layout", data); err != nil {
		httpapi.Logger(r.Context()).Error("web: render page", "page", page, "error", err)
		p.Headers(w)
		http.Error(w, "Internal server error", http.StatusInternalServerError)
		return
	}
	p.Headers(w, formTargets...)
	p.passkeyHeaders(w, page)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// errorPage is the data of error.html.
type errorPage struct {
	Title       string
	Message     string
	Code        string
	Description string
}

// RenderError shows the error page. It never redirects: it is what the user
// sees whenever the request cannot be trusted to go back to a client
// (RFC 6749 §4.1.2.1). html/template escapes every value (CVE-2019-8400).
func (p *Pages) RenderError(w http.ResponseWriter, r *http.Request, status int, title, message, code, description string) {
	p.Render(w, r, status, "error", errorPage{Title: title, Message: message, Code: code, Description: description})
}

// origin returns scheme://host of u, or "" when u is not absolute.
func origin(u *url.URL) string {
	if u == nil || u.Scheme == "" || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// redirect answers 303 See Other: after a POST the browser must GET the target.
func redirect(w http.ResponseWriter, target string) {
	w.Header().Set("Location", target)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusSeeOther)
}
