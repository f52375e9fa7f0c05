package web

import (
	"context"
	"html/template"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/arsaka/puguh/provider/authz"
	"github.com/arsaka/puguh/provider/httpapi"
	"github.com/arsaka/puguh/provider/mfa"
	"github.com/arsaka/puguh/storage"
)

// AccountMFA is the second-factor rules (mfa.Service) as the account area
// uses them.
type AccountMFA interface {
	Status(ctx context.Context, p *authz.Principal) (*mfa.Status, error)
	BeginTOTP(ctx context.Context, p *authz.Principal) (*mfa.Enrolment, error)
	PendingTOTP(ctx context.Context, p *authz.Principal) (*mfa.Enrolment, error)
	ConfirmTOTP(ctx context.Context, p *authz.Principal, code *string) ([]string, error)
	RemoveTOTP(ctx context.Context, p *authz.Principal, password *string) error
	RegenerateRecoveryCodes(ctx context.Context, p *authz.Principal, password *string) ([]string, error)
}

// securityPage is the data of account_security.html.
type securityPage struct {
	frame
	Status        *mfa.Status
	Enrolment     *mfa.Enrolment
	QR            template.HTML
	RecoveryCodes []string
	Errors        map[string]string
	// PasskeysOn shows the passkeys section; Passkeys are the user's, and
	// PasskeyName the name typed for a passkey that was not added.
	PasskeysOn  bool
	Passkeys    []storage.WebAuthnCredential
	PasskeyName string
}

func (a *Account) mountSecurity(r *mux.Router) {
	if a.d.MFA == nil {
		return
	}
	r.HandleFunc("/account/security", a.security).Methods(http.MethodGet)
	r.HandleFunc("/account/security/totp", a.beginTOTP).Methods(http.MethodPost)
	r.HandleFunc("/account/security/totp/confirm", a.confirmTOTP).Methods(http.MethodPost)
	r.HandleFunc("/account/security/totp/remove", a.removeTOTP).Methods(http.MethodPost)
	r.HandleFunc("/account/security/recovery-codes", a.regenerateRecoveryCodes).Methods(http.MethodPost)
}

// security shows the second factors (GET /account/security).
func (a *Account) security(w http.ResponseWriter, r *http.Request) {
	ac, ok := a.signedIn(w, r)
	if !ok {
		return
	}
	data := securityPage{frame: a.frame(w, r, ac, "security")}
	data.Notice = noticeOf(r)
	a.renderSecurity(w, r, http.StatusOK, ac, data)
}

func (a *Account) renderSecurity(w http.ResponseWriter, r *http.Request, status int, ac *accountContext, data securityPage) {
	st, err := a.d.MFA.Status(r.Context(), ac.principal())
	if err != nil {
		a.p.unavailable(w, r, err)
		return
	}
	data.Status = st
	if data.Passkeys, err = a.passkeys(r.Context(), ac); err != nil {
		a.p.unavailable(w, r, err)
		return
	}
	data.PasskeysOn = a.d.Passkeys != nil
	if data.Enrolment != nil {
		data.QR = template.HTML(data.Enrolment.QRSVG) // #nosec G203 -- mfa.QRSVG builds it from numbers only
	}
	a.render(w, r, status, "account_security", data, data.RecoveryCodes != nil || data.PasskeysOn)
}

// beginTOTP starts an authenticator-app enrolment and shows its QR code
// (POST /account/security/totp).
func (a *Account) beginTOTP(w http.ResponseWriter, r *http.Request) {
	ac, ok := a.postForm(w, r)
	if !ok {
		return
	}
	e, err := a.d.MFA.BeginTOTP(r.Context(), ac.principal())
	if err != nil {
		a.securityError(w, r, ac, err, securityPage{})
		return
	}
	a.renderSecurity(w, r, http.StatusOK, ac, securityPage{frame: a.frame(w, r, ac, "security"), Enrolment: e})
}

// confirmTOTP turns the authenticator app on with its first code and shows
// the recovery codes, this once (POST /account/security/totp/confirm).
func (a *Account) confirmTOTP(w http.ResponseWriter, r *http.Request) {
	ac, ok := a.postForm(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	code := r.PostForm.Get("code")
	codes, err := a.d.MFA.ConfirmTOTP(ctx, ac.principal(), &code)
	if err != nil {
		data := securityPage{}
		if e, perr := a.d.MFA.PendingTOTP(ctx, ac.principal()); perr == nil {
			data.Enrolment = e
		}
		a.securityError(w, r, ac, err, data)
		return
	}
	httpapi.Logger(ctx).Info("second factor added", "user_id", ac.user.ID, "factor", mfa.FactorTOTP)
	data := securityPage{frame: a.frame(w, r, ac, "security"), RecoveryCodes: codes}
	data.Notice = "Your authenticator app is set up. Sign-ins now ask for a code."
	a.renderSecurity(w, r, http.StatusOK, ac, data)
}

// removeTOTP turns the authenticator app off, with the password
// (POST /account/security/totp/remove).
func (a *Account) removeTOTP(w http.ResponseWriter, r *http.Request) {
	ac, ok := a.postForm(w, r)
	if !ok {
		return
	}
	pw := r.PostForm.Get("password")
	if err := a.d.MFA.RemoveTOTP(r.Context(), ac.principal(), &pw); err != nil {
		a.securityError(w, r, ac, err, securityPage{})
		return
	}
	httpapi.Logger(r.Context()).Info("second factor removed", "user_id", ac.user.ID, "factor", mfa.FactorTOTP)
	a.afterPost(w, "/account/security", "totp-removed")
}

// regenerateRecoveryCodes replaces the recovery codes, with the password,
// and shows the new ones once (POST /account/security/recovery-codes).
func (a *Account) regenerateRecoveryCodes(w http.ResponseWriter, r *http.Request) {
	ac, ok := a.postForm(w, r)
	if !ok {
		return
	}
	pw := r.PostForm.Get("password")
	codes, err := a.d.MFA.RegenerateRecoveryCodes(r.Context(), ac.principal(), &pw)
	if err != nil {
		a.securityError(w, r, ac, err, securityPage{})
		return
	}
	data := securityPage{frame: a.frame(w, r, ac, "security"), RecoveryCodes: codes}
	data.Notice = "New recovery codes were made. The old ones no longer work."
	a.renderSecurity(w, r, http.StatusOK, ac, data)
}

// securityError shows a refused change on the security page, with the
// status the REST API would answer.
func (a *Account) securityError(w http.ResponseWriter, r *http.Request, ac *accountContext, err error, data securityPage) {
	fields, msg, status, ok := fieldErrors(err)
	if !ok {
		a.p.unavailable(w, r, err)
		return
	}
	if v, ok := fields["code"]; ok && data.Enrolment != nil {
		fields = map[string]string{"code": v}
	} else if v, ok := fields["password"]; ok {
		msg = "Password: " + v
	}
	data.frame = a.frame(w, r, ac, "security")
	data.Errors = fields
	data.Error = msg
	a.renderSecurity(w, r, status, ac, data)
}
