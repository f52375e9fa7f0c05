package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/arsaka/puguh/provider/httpapi"
	"github.com/arsaka/puguh/provider/identity"
)

// loginPage is the data of login.html.
type loginPage struct {
	CSRF        string
	Challenge   string
	ReturnTo    string
	Application string
	Email       string
	Error       string
	// Unverified: the password was right but the address is not confirmed
	// (PUGUH_REQUIRE_VERIFIED_EMAIL); the page offers a new link.
	Unverified bool
	// Passkeys offers signing in with a passkey (static/passkeys.js).
	Passkeys bool
}

// defaultReturnTo is where a sign-in without an authorization request lands.
const defaultReturnTo = "/account"

// loginForm shows the sign-in form (GET /login[?challenge=…][&return_to=…]).
func (p *Pages) loginForm(w http.ResponseWriter, r *http.Request) {
	data := loginPage{CSRF: p.CSRFToken(w, r), ReturnTo: localPath(r.URL.Query().Get("return_to"))}
	var formTargets []string
	if token := r.URL.Query().Get("challenge"); token != "" {
		c, ok := p.challenge(w, r, token)
		if !ok {
			return
		}
		data.Challenge = token
		data.Application, formTargets = p.challengeApplication(r, c)
		// Home-realm discovery from the authorization request: connection
		// names the organization's identity provider, login_hint an email of
		// a connected domain; either skips the question (docs/federation.md).
		q, _ := url.ParseQuery(c.Query)
		data.Email = strings.TrimSpace(q.Get("login_hint"))
		if p.federation != nil && (q.Get("connection") != "" || data.Email != "") {
			conn := q.Get("connection")
			if conn == "" {
				var err error
				if conn, err = p.discover(r.Context(), data.Email); err != nil {
					p.unavailable(w, r, err)
					return
				}
			}
			if conn != "" {
				p.startFederation(w, r, conn, data.Email, token, "")
				return
			}
		}
	}
	p.Render(w, r, http.StatusOK, "login", data, formTargets...)
}

// login checks the password (POST /login) with the REST login's own check,
// starts the SSO session and answers 303: back to /oauth/authorize when a
// challenge is pending, else to return_to.
func (p *Pages) login(w http.ResponseWriter, r *http.Request) {
	if !p.CheckForm(w, r) {
		return
	}
	ctx := r.Context()
	data := loginPage{
		CSRF: p.CSRFToken(w, r), Email: strings.TrimSpace(r.PostForm.Get("email")),
		ReturnTo: localPath(r.PostForm.Get("return_to")),
	}
	var c *challengeRef
	var formTargets []string
	if token := r.PostForm.Get("challenge"); token != "" {
		var ok bool
		if c, ok = p.challenge(w, r, token); !ok {
			return
		}
		data.Challenge = token
		data.Application, formTargets = p.challengeApplication(r, c)
	}
	// Home-realm discovery: an email of a connected domain signs in at its
	// organization's identity provider, never with a password here.
	if conn, err := p.discover(ctx, data.Email); err != nil {
		p.unavailable(w, r, err)
		return
	} else if conn != "" {
		challenge := ""
		if c != nil {
			challenge = c.token
		}
		p.startFederation(w, r, conn, data.Email, challenge, data.ReturnTo)
		return
	}
	user, err := p.passwords.CheckPassword(ctx, data.Email, r.PostForm.Get("password"))
	if err != nil {
		he, ok := httpapi.AsError(err)
		if !ok || he.Status >= 500 {
			httpapi.Logger(ctx).Error("web: sign-in failed", "error", err)
			p.RenderError(w, r, http.StatusServiceUnavailable, "Try again", "Puguh could not sign you in right now. Try again in a moment.", "", "")
			return
		}
		// The REST login's own answer: the same for an unknown email and a
		// wrong password (docs/security.md, "Accounts and sessions"), or the throttle's 429 with Retry-After.
		for k, v := range he.Headers {
			if k == "Retry-After" {
				w.Header().Set(k, v)
			}
		}
		data.Error, _ = he.Detail.(string)
		if data.Error == "" {
			data.Error = "Sign-in failed (" + strconv.Itoa(he.Status) + ")."
		}
		data.Unverified = data.Error == identity.EmailNotVerified
		p.Render(w, r, he.Status, "login", data, formTargets...)
		return
	}
	if p.mfa != nil && p.askSecondFactor(w, r, user, data, formTargets) {
		return
	}
	previous, err := p.CurrentSession(r)
	if err != nil {
		httpapi.Logger(ctx).Warn("web: read previous session", "error", err)
	}
	if _, err := p.startSession(w, r, user, previous); err != nil {
		httpapi.Logger(ctx).Error("web: start session", "error", err)
		p.RenderError(w, r, http.StatusServiceUnavailable, "Try again", "Puguh could not sign you in right now. Try again in a moment.", "", "")
		return
	}
	p.Headers(w, formTargets...)
	if c != nil {
		redirect(w, "/oauth/authorize?challenge="+url.QueryEscape(c.token))
		return
	}
	if data.ReturnTo == "" {
		data.ReturnTo = defaultReturnTo
	}
	redirect(w, data.ReturnTo)
}

// challengeApplication names the application of a pending request and the
// origin its redirect will go to (for CSP form-action).
func (p *Pages) challengeApplication(r *http.Request, c *challengeRef) (name string, formTargets []string) {
	app, err := p.store.ApplicationByID(r.Context(), c.ClientID)
	if err != nil {
		return "", nil
	}
	q, _ := url.ParseQuery(c.Query)
	redir := q.Get("redirect_uri")
	if redir == "" && len(app.RedirectURIs) == 1 {
		redir = app.RedirectURIs[0]
	}
	if u, err := url.Parse(redir); err == nil {
		formTargets = []string{origin(u)}
	}
	return app.Name, formTargets
}

// localPath accepts only a path on this host ("/account"), never another
// origin ("//evil", "https://evil", "/\evil"): return_to must not become an
// open redirect.
func localPath(v string) string {
	if v == "" || !strings.HasPrefix(v, "/") || strings.HasPrefix(v, "//") || strings.ContainsAny(v, "\\\r\n\t") {
		return ""
	}
	u, err := url.Parse(v)
	if err != nil || u.Scheme != "" || u.Host != "" {
		return ""
	}
	return u.RequestURI()
}
