package web

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/arsaka/puguh/provider/httpapi"
	"github.com/arsaka/puguh/provider/mfa"
	"github.com/arsaka/puguh/storage"
)

// SecondFactor is the second step of sign-in (mfa.Service): whether a user
// has a second factor, the challenge after their password, and its answer.
type SecondFactor interface {
	StatusOf(ctx context.Context, userID string) (*mfa.Status, error)
	StartLogin(ctx context.Context, userID string, amr []string) (*mfa.Pending, error)
	CompleteLogin(ctx context.Context, token, code string) (*mfa.Proof, error)
}

// UseMFA turns on the second step of sign-in for users with a second factor.
func (p *Pages) UseMFA(m SecondFactor) { p.mfa = m }

// mfaCookie holds the secret of the pending second-factor challenge between
// the password and the code; it is never in a URL or a form.
const mfaCookie = "puguh_mfa"

// loginMFAPage is the data of login_mfa.html.
type loginMFAPage struct {
	CSRF        string
	Challenge   string // the pending authorization request, if any
	ReturnTo    string
	Application string
	Error       string
	TOTP        bool
	// Passkey offers answering with one of the user's passkeys.
	Passkey bool
}

// askSecondFactor starts the second step after a correct password when the
// user has a second factor, and shows the code form; false when the user
// has none and the sign-in goes on as before.
func (p *Pages) askSecondFactor(w http.ResponseWriter, r *http.Request, user *storage.User, data loginPage, formTargets []string) bool {
	ctx := r.Context()
	st, err := p.mfa.StatusOf(ctx, user.ID)
	if err == nil && !st.Enabled() {
		return false
	}
	var pending *mfa.Pending
	if err == nil {
		pending, err = p.mfa.StartLogin(ctx, user.ID, []string{mfa.AMRPassword})
	}
	if err != nil {
		httpapi.Logger(ctx).Error("web: start second factor", "error", err)
		p.RenderError(w, r, http.StatusServiceUnavailable, "Try again", "Puguh could not sign you in right now. Try again in a moment.", "", "")
		return true
	}
	p.setCookie(w, mfaCookie, pending.Token, int(mfa.ChallengeLifetime.Seconds()))
	p.Render(w, r, http.StatusOK, "login_mfa", loginMFAPage{
		CSRF: data.CSRF, Challenge: data.Challenge, ReturnTo: data.ReturnTo, Application: data.Application,
		TOTP:    slices.Contains(pending.Methods, mfa.FactorTOTP),
		Passkey: p.passkeys != nil && slices.Contains(pending.Methods, mfa.FactorPasskey),
	}, formTargets...)
	return true
}

// loginMFA checks the second factor (POST /login/mfa): an authenticator
// code or a recovery code answers the challenge the password started; then
// the SSO session starts, recording both factors, and the browser goes on
// as after a password.
func (p *Pages) loginMFA(w http.ResponseWriter, r *http.Request) {
	if !p.CheckForm(w, r) {
		return
	}
	ctx := r.Context()
	data := loginMFAPage{CSRF: p.CSRFToken(w, r), ReturnTo: localPath(r.PostForm.Get("return_to")), TOTP: true}
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
	if p.mfa == nil {
		p.RenderError(w, r, http.StatusNotFound, "Not found", "Second factors are not enabled.", "", "")
		return
	}
	proof, err := p.mfa.CompleteLogin(ctx, p.cookie(r, mfaCookie), r.PostForm.Get("code"))
	if err != nil {
		he, ok := httpapi.AsError(err)
		if !ok || he.Status >= 500 {
			httpapi.Logger(ctx).Error("web: second factor failed", "error", err)
			p.RenderError(w, r, http.StatusServiceUnavailable, "Try again", "Puguh could not sign you in right now. Try again in a moment.", "", "")
			return
		}
		if v, ok := he.Headers["Retry-After"]; ok {
			w.Header().Set("Retry-After", v)
		}
		data.Error, _ = he.Detail.(string)
		if data.Error == "" {
			data.Error = "Sign-in failed (" + strconv.Itoa(he.Status) + ")."
		}
		if data.Error == mfa.ErrChallenge {
			// The challenge is gone: start over with the password.
			p.setCookie(w, mfaCookie, "", -1)
			p.Render(w, r, he.Status, "login", loginPage{CSRF: data.CSRF, Challenge: data.Challenge, ReturnTo: data.ReturnTo,
				Application: data.Application, Error: data.Error}, formTargets...)
			return
		}
		p.Render(w, r, he.Status, "login_mfa", data, formTargets...)
		return
	}
	p.setCookie(w, mfaCookie, "", -1)
	user := proof.User
	previous, err := p.CurrentSession(r)
	if err != nil {
		httpapi.Logger(ctx).Warn("web: read previous session", "error", err)
	}
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
	if data.ReturnTo == "" {
		data.ReturnTo = defaultReturnTo
	}
	redirect(w, data.ReturnTo)
}
