package web

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gorilla/mux"

	"github.com/arsaka/puguh/provider/httpapi"
	"github.com/arsaka/puguh/provider/mfa"
	"github.com/arsaka/puguh/storage"
	"github.com/arsaka/puguh/templates"
)

// SignInPolicies is the organization second-factor policy at sign-in
// (mfa.Policies).
type SignInPolicies interface {
	AtSignIn(ctx context.Context, userID string) (*mfa.Enforcement, error)
}

// SignInEnrolment is the enrolment a sign-in stops at (mfa.Service).
type SignInEnrolment interface {
	StartEnrolment(ctx context.Context, userID string, amr []string) (*mfa.Pending, error)
	BeginEnrolment(ctx context.Context, token string) (*mfa.Enrolment, error)
	CompleteEnrolment(ctx context.Context, token string, code *string) (*mfa.Proof, []string, error)
	SkipEnrolment(ctx context.Context, token string) (*mfa.Proof, error)
	EnrollingUser(ctx context.Context, token string) (string, error)
}

type mfaPolicyDeps struct {
	policies SignInPolicies
	enrol    SignInEnrolment
}

// UseMFAPolicy turns on organizations' second-factor policies at sign-in:
// a member without a second factor is sent through enrolment, which they
// may skip until the grace period ends (docs/mfa.md, "Organization policy").
func (p *Pages) UseMFAPolicy(policies SignInPolicies, enrol SignInEnrolment) error {
	t, err := template.ParseFS(templates.FS, "layout.html", "login_enrol.html")
	if err != nil {
		return fmt.Errorf("web: parse login_enrol: %w", err)
	}
	p.pages["login_enrol"] = t
	p.mfaPolicy = &mfaPolicyDeps{policies: policies, enrol: enrol}
	return nil
}

func (p *Pages) mountEnrolment(r *mux.Router) {
	r.HandleFunc("/login/enroll", p.loginEnrol).Methods(http.MethodPost)
	r.HandleFunc("/login/enroll/skip", p.loginEnrolSkip).Methods(http.MethodPost)
}

// enrolCookie holds the secret of the pending enrolment challenge between
// the password and the first code, like mfaCookie.
const enrolCookie = "puguh_enrol"

// loginEnrolPage is the data of login_enrol.html.
type loginEnrolPage struct {
	CSRF        string
	Challenge   string
	ReturnTo    string
	Application string
	Error       string
	CodeError   string

	Enrolment *mfa.Enrolment
	QR        template.HTML
	// Organizations name who requires it; Deadline is when the grace period
	// ends; Enforced: it has (no "Not now").
	Organizations string
	Deadline      string
	Enforced      bool

	// RecoveryCodes, once set up; Continue is where the sign-in goes next.
	RecoveryCodes []string
	Continue      string
}

// askEnrolment applies the organization policies after a correct password
// for a user who was not asked for a second factor: when one of their
// organizations requires one, the sign-in stops at enrolment (skippable
// within the grace period). False when nothing is required.
func (p *Pages) askEnrolment(w http.ResponseWriter, r *http.Request, user *storage.User, data loginPage, formTargets []string) bool {
	if p.mfaPolicy == nil {
		return false
	}
	ctx := r.Context()
	e, err := p.mfaPolicy.policies.AtSignIn(ctx, user.ID)
	if err == nil && !e.Required {
		return false
	}
	var pending *mfa.Pending
	if err == nil {
		pending, err = p.mfaPolicy.enrol.StartEnrolment(ctx, user.ID, []string{mfa.AMRPassword})
	}
	if err != nil {
		p.unavailable(w, r, err)
		return true
	}
	p.setCookie(w, enrolCookie, pending.Token, int(mfa.EnrolmentLifetime.Seconds()))
	page := loginEnrolPage{CSRF: data.CSRF, Challenge: data.Challenge, ReturnTo: data.ReturnTo, Application: data.Application}
	p.renderEnrolment(w, r, http.StatusOK, pending.Token, e, page, formTargets)
	return true
}

// renderEnrolment shows the enrolment of token with what e requires.
func (p *Pages) renderEnrolment(w http.ResponseWriter, r *http.Request, status int, token string, e *mfa.Enforcement, page loginEnrolPage, formTargets []string) {
	en, err := p.mfaPolicy.enrol.BeginEnrolment(r.Context(), token)
	if err != nil {
		p.enrolmentGone(w, r, err, page, formTargets)
		return
	}
	page.Enrolment = en
	page.QR = template.HTML(en.QRSVG) // #nosec G203 -- mfa.QRSVG builds it from numbers only
	names := make([]string, 0, len(e.Organizations))
	for _, o := range e.Organizations {
		names = append(names, o.Name)
	}
	page.Organizations = strings.Join(names, ", ")
	page.Deadline = formatTime(e.Deadline)
	page.Enforced = e.Enforced
	p.Render(w, r, status, "login_enrol", page, formTargets...)
}

// enrolmentGone handles an enrolment challenge that cannot go on: gone or
// expired, back to the password; anything else is the error page.
func (p *Pages) enrolmentGone(w http.ResponseWriter, r *http.Request, err error, page loginEnrolPage, formTargets []string) {
	he, ok := httpapi.AsError(err)
	if !ok || he.Status >= 500 {
		p.unavailable(w, r, err)
		return
	}
	msg, _ := he.Detail.(string)
	if msg == "" {
		msg = "Sign-in failed (" + strconv.Itoa(he.Status) + ")."
	}
	p.setCookie(w, enrolCookie, "", -1)
	p.Render(w, r, he.Status, "login", loginPage{CSRF: page.CSRF, Challenge: page.Challenge, ReturnTo: page.ReturnTo,
		Application: page.Application, Error: msg}, formTargets...)
}

// enrolForm reads the fields every enrolment form carries.
func (p *Pages) enrolForm(w http.ResponseWriter, r *http.Request) (page loginEnrolPage, c *challengeRef, formTargets []string, ok bool) {
	if !p.CheckForm(w, r) {
		return page, nil, nil, false
	}
	page = loginEnrolPage{CSRF: p.CSRFToken(w, r), ReturnTo: localPath(r.PostForm.Get("return_to"))}
	if token := r.PostForm.Get("challenge"); token != "" {
		if c, ok = p.challenge(w, r, token); !ok {
			return page, nil, nil, false
		}
		page.Challenge = token
		page.Application, formTargets = p.challengeApplication(r, c)
	}
	if p.mfaPolicy == nil {
		p.RenderError(w, r, http.StatusNotFound, "Not found", "Second-factor policies are not enabled.", "", "")
		return page, nil, nil, false
	}
	return page, c, formTargets, true
}

// continueTo is where a finished sign-in goes: back to the authorization
// request, or to return_to.
func continueTo(c *challengeRef, returnTo string) string {
	if c != nil {
		return "/oauth/authorize?challenge=" + url.QueryEscape(c.token)
	}
	if returnTo == "" {
		return defaultReturnTo
	}
	return returnTo
}

// loginEnrol sets up the authenticator app with its first code (POST
// /login/enroll), starts the session with both factors, and shows the
// recovery codes once, with the way on.
func (p *Pages) loginEnrol(w http.ResponseWriter, r *http.Request) {
	page, c, formTargets, ok := p.enrolForm(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	token := p.cookie(r, enrolCookie)
	code := r.PostForm.Get("code")
	proof, codes, err := p.mfaPolicy.enrol.CompleteEnrolment(ctx, token, &code)
	if err != nil {
		fields, msg, status, ok := fieldErrors(err)
		if !ok || status == http.StatusUnauthorized || status == http.StatusNotFound || status == http.StatusConflict {
			p.enrolmentGone(w, r, err, page, formTargets)
			return
		}
		page.CodeError, page.Error = fields["code"], msg
		userID, uerr := p.mfaPolicy.enrol.EnrollingUser(ctx, token)
		var e *mfa.Enforcement
		if uerr == nil {
			e, uerr = p.mfaPolicy.policies.AtSignIn(ctx, userID)
		}
		if uerr != nil {
			p.enrolmentGone(w, r, uerr, page, formTargets)
			return
		}
		p.renderEnrolment(w, r, status, token, e, page, formTargets)
		return
	}
	p.setCookie(w, enrolCookie, "", -1)
	if !p.finishSignIn(w, r, proof) {
		return
	}
	page.RecoveryCodes = codes
	page.Continue = continueTo(c, page.ReturnTo)
	p.Render(w, r, http.StatusOK, "login_enrol", page, formTargets...)
}

// loginEnrolSkip signs in without a second factor (POST
// /login/enroll/skip), only while every grace period lasts; past one it is
// refused (403) and the enrolment shown again.
func (p *Pages) loginEnrolSkip(w http.ResponseWriter, r *http.Request) {
	page, c, formTargets, ok := p.enrolForm(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	token := p.cookie(r, enrolCookie)
	userID, err := p.mfaPolicy.enrol.EnrollingUser(ctx, token)
	if err != nil {
		p.enrolmentGone(w, r, err, page, formTargets)
		return
	}
	e, err := p.mfaPolicy.policies.AtSignIn(ctx, userID)
	if err != nil {
		p.unavailable(w, r, err)
		return
	}
	if e.Enforced {
		page.Error = "The grace period is over: set up a second factor to continue."
		p.renderEnrolment(w, r, http.StatusForbidden, token, e, page, formTargets)
		return
	}
	proof, err := p.mfaPolicy.enrol.SkipEnrolment(ctx, token)
	if err != nil {
		p.enrolmentGone(w, r, err, page, formTargets)
		return
	}
	p.setCookie(w, enrolCookie, "", -1)
	if !p.finishSignIn(w, r, proof) {
		return
	}
	p.Headers(w, formTargets...)
	redirect(w, continueTo(c, page.ReturnTo))
}

// finishSignIn starts the SSO session of proof; false when it answered.
func (p *Pages) finishSignIn(w http.ResponseWriter, r *http.Request, proof *mfa.Proof) bool {
	ctx := r.Context()
	previous, err := p.CurrentSession(r)
	if err != nil {
		httpapi.Logger(ctx).Warn("web: read previous session", "error", err)
	}
	if _, err := p.startSessionAMR(w, r, proof.User, previous, proof.AMR); err != nil {
		p.unavailable(w, r, err)
		return false
	}
	httpapi.Logger(ctx).Info("user signed in", "user_id", proof.User.ID, "amr", mfa.JoinAMR(proof.AMR))
	return true
}
