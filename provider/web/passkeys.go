package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gorilla/mux"

	"github.com/arsaka/puguh/provider/httpapi"
	"github.com/arsaka/puguh/provider/mfa"
)

// PasskeySignIn is signing in with a passkey (mfa.Passkeys): alone, or as
// the second step after a password.
type PasskeySignIn interface {
	BeginLogin(ctx context.Context) (*mfa.Ceremony, error)
	FinishLogin(ctx context.Context, token string, response []byte) (*mfa.Proof, error)
	BeginStep(ctx context.Context, loginToken string) (*mfa.Ceremony, error)
	CompleteStep(ctx context.Context, loginToken, stepToken string, response []byte) (*mfa.Proof, error)
}

// UsePasskeys turns on passkey sign-in on /login and /login/mfa.
func (p *Pages) UsePasskeys(k PasskeySignIn) { p.passkeys = k }

// Cookies holding the secret of a begun WebAuthn ceremony: the ceremony is
// bound to the browser that began it, and spent by its first answer.
const (
	passkeyLoginCookie = "puguh_passkey"
	passkeyStepCookie  = "puguh_passkey_step"
)

// passkeyPages are the pages that run static/passkeys.js.
var passkeyPages = map[string]bool{"login": true, "login_mfa": true}

// passkeyData marks the sign-in page's data for passkeys when they are on.
func (p *Pages) passkeyData(data any) any {
	if lp, ok := data.(loginPage); ok && p.passkeys != nil {
		lp.Passkeys = true
		return lp
	}
	return data
}

// passkeyHeaders lets the sign-in pages run our own script and call our
// own endpoints: script-src and connect-src 'self', never inline script.
func (p *Pages) passkeyHeaders(w http.ResponseWriter, page string) {
	if p.passkeys != nil && passkeyPages[page] {
		allowOwnScripts(w.Header())
	}
}

// allowOwnScripts adds script-src and connect-src 'self' to the page's CSP.
func allowOwnScripts(h http.Header) {
	csp := h.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src") {
		h.Set("Content-Security-Policy", strings.Replace(csp, "default-src 'none';",
			"default-src 'none'; script-src 'self'; connect-src 'self';", 1))
	}
}

func (p *Pages) mountPasskeys(r *mux.Router) {
	r.HandleFunc("/login/passkey/options", p.passkeyLoginOptions).Methods(http.MethodPost)
	r.HandleFunc("/login/passkey", p.passkeyLogin).Methods(http.MethodPost)
	r.HandleFunc("/login/mfa/passkey/options", p.passkeyStepOptions).Methods(http.MethodPost)
	r.HandleFunc("/login/mfa/passkey", p.passkeyStep).Methods(http.MethodPost)
}

// writeCeremony answers a begun ceremony: its options as JSON, its secret
// in an HttpOnly cookie for the ceremony's lifetime.
func (p *Pages) writeCeremony(w http.ResponseWriter, r *http.Request, cookie string, c *mfa.Ceremony, err error) {
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	p.setCookie(w, cookie, c.Token, int(mfa.ChallengeLifetime.Seconds()))
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(c.Options)
}

// passkeyLoginOptions begins a sign-in with a passkey alone
// (POST /login/passkey/options, from static/passkeys.js).
func (p *Pages) passkeyLoginOptions(w http.ResponseWriter, r *http.Request) {
	if p.passkeys == nil {
		httpapi.WriteError(w, r, httpapi.NotFound(""))
		return
	}
	if !p.CheckForm(w, r) {
		return
	}
	c, err := p.passkeys.BeginLogin(r.Context())
	p.writeCeremony(w, r, passkeyLoginCookie, c, err)
}

// passkeyLogin finishes a sign-in with a passkey alone (POST /login/passkey,
// the credential as JSON in the form's credential field) and goes on as
// after a password: to the pending authorization request or return_to.
func (p *Pages) passkeyLogin(w http.ResponseWriter, r *http.Request) {
	if !p.CheckForm(w, r) {
		return
	}
	data := loginPage{CSRF: p.CSRFToken(w, r), ReturnTo: localPath(r.PostForm.Get("return_to"))}
	c, formTargets, ok := p.pendingRequest(w, r, &data.Challenge, &data.Application)
	if !ok {
		return
	}
	if p.passkeys == nil {
		p.RenderError(w, r, http.StatusNotFound, "Not found", "Passkeys are not enabled.", "", "")
		return
	}
	token := p.cookie(r, passkeyLoginCookie)
	p.setCookie(w, passkeyLoginCookie, "", -1)
	proof, err := p.passkeys.FinishLogin(r.Context(), token, []byte(r.PostForm.Get("credential")))
	if err != nil {
		if data.Error, ok = p.signInRefusal(w, r, err); ok {
			p.Render(w, r, statusOf(err), "login", data, formTargets...)
		}
		return
	}
	p.signedInWith(w, r, proof, c, data.ReturnTo, formTargets)
}

// passkeyStepOptions begins the passkey answer to the second step after a
// password (POST /login/mfa/passkey/options): the pending login challenge
// is in the puguh_mfa cookie.
func (p *Pages) passkeyStepOptions(w http.ResponseWriter, r *http.Request) {
	if p.passkeys == nil {
		httpapi.WriteError(w, r, httpapi.NotFound(""))
		return
	}
	if !p.CheckForm(w, r) {
		return
	}
	c, err := p.passkeys.BeginStep(r.Context(), p.cookie(r, mfaCookie))
	p.writeCeremony(w, r, passkeyStepCookie, c, err)
}

// passkeyStep finishes the second step with a passkey (POST /login/mfa/passkey).
func (p *Pages) passkeyStep(w http.ResponseWriter, r *http.Request) {
	if !p.CheckForm(w, r) {
		return
	}
	data := loginMFAPage{CSRF: p.CSRFToken(w, r), ReturnTo: localPath(r.PostForm.Get("return_to")), Passkey: true}
	c, formTargets, ok := p.pendingRequest(w, r, &data.Challenge, &data.Application)
	if !ok {
		return
	}
	if p.passkeys == nil {
		p.RenderError(w, r, http.StatusNotFound, "Not found", "Passkeys are not enabled.", "", "")
		return
	}
	step := p.cookie(r, passkeyStepCookie)
	p.setCookie(w, passkeyStepCookie, "", -1)
	proof, err := p.passkeys.CompleteStep(r.Context(), p.cookie(r, mfaCookie), step, []byte(r.PostForm.Get("credential")))
	if err != nil {
		msg, ok := p.signInRefusal(w, r, err)
		if !ok {
			return
		}
		if msg == mfa.ErrChallenge {
			// The password's challenge is gone: start over with the password.
			p.setCookie(w, mfaCookie, "", -1)
			p.Render(w, r, statusOf(err), "login", loginPage{CSRF: data.CSRF, Challenge: data.Challenge, ReturnTo: data.ReturnTo,
				Application: data.Application, Error: msg}, formTargets...)
			return
		}
		data.Error = msg
		p.Render(w, r, statusOf(err), "login_mfa", data, formTargets...)
		return
	}
	p.setCookie(w, mfaCookie, "", -1)
	p.signedInWith(w, r, proof, c, data.ReturnTo, formTargets)
}

// pendingRequest reads the form's pending authorization request, if any,
// into challenge and application; false when it answered (a bad request).
func (p *Pages) pendingRequest(w http.ResponseWriter, r *http.Request, challenge, application *string) (*challengeRef, []string, bool) {
	token := r.PostForm.Get("challenge")
	if token == "" {
		return nil, nil, true
	}
	c, ok := p.challenge(w, r, token)
	if !ok {
		return nil, nil, false
	}
	*challenge = token
	var formTargets []string
	*application, formTargets = p.challengeApplication(r, c)
	return c, formTargets, true
}

// signInRefusal is the message of a refused sign-in step, with its
// Retry-After; ok is false when it was a server error, already answered.
func (p *Pages) signInRefusal(w http.ResponseWriter, r *http.Request, err error) (msg string, ok bool) {
	he, isHTTP := httpapi.AsError(err)
	if !isHTTP || he.Status >= 500 {
		httpapi.Logger(r.Context()).Error("web: passkey sign-in failed", "error", err)
		p.RenderError(w, r, http.StatusServiceUnavailable, "Try again", "Puguh could not sign you in right now. Try again in a moment.", "", "")
		return "", false
	}
	if v, has := he.Headers["Retry-After"]; has {
		w.Header().Set("Retry-After", v)
	}
	msg, _ = he.Detail.(string)
	if msg == "" {
		msg = "Sign-in failed (" + strconv.Itoa(he.Status) + ")."
	}
	return msg, true
}

// statusOf is the HTTP status of a client error.
func statusOf(err error) int {
	if he, ok := httpapi.AsError(err); ok {
		return he.Status
	}
	return http.StatusInternalServerError
}

// signedInWith starts the SSO session of a completed sign-in, recording
// its amr, and sends the browser on: to the pending authorization request,
// else to return_to or the account.
func (p *Pages) signedInWith(w http.ResponseWriter, r *http.Request, proof *mfa.Proof, c *challengeRef, returnTo string, formTargets []string) {
	ctx := r.Context()
	previous, err := p.CurrentSession(r)
	if err != nil {
		httpapi.Logger(ctx).Warn("web: read previous session", "error", err)
	}
	user := proof.User
	if _, err := p.startSessionAMR(w, r, user, previous, proof.AMR); err != nil {
		httpapi.Logger(ctx).Error("web: start session", "error", err)
		p.RenderError(w, r, http.StatusServiceUnavailable, "Try again", "Puguh could not sign you in right now. Try again in a moment.", "", "")
		return
	}
	httpapi.Logger(ctx).Info("user signed in", "user_id", user.ID, "amr", mfa.JoinAMR(proof.AMR))
	p.Headers(w, formTargets...)
	if c != nil {
		redirect(w, "/oauth/authorize?challenge="+url.QueryEscape(c.token))
		return
	}
	if returnTo == "" {
		returnTo = defaultReturnTo
	}
	redirect(w, returnTo)
}
