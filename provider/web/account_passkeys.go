package web

import (
	"context"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/arsaka/puguh/provider/authz"
	"github.com/arsaka/puguh/provider/httpapi"
	"github.com/arsaka/puguh/provider/mfa"
	"github.com/arsaka/puguh/storage"
)

// AccountPasskeys is the passkey rules (mfa.Passkeys) as the Security tab
// uses them.
type AccountPasskeys interface {
	BeginRegistration(ctx context.Context, p *authz.Principal) (*mfa.Ceremony, error)
	FinishRegistration(ctx context.Context, p *authz.Principal, token string, name, password *string, response []byte) (*storage.WebAuthnCredential, error)
	List(ctx context.Context, p *authz.Principal) ([]storage.WebAuthnCredential, error)
	Remove(ctx context.Context, p *authz.Principal, id string, password *string) error
}

// passkeyRegisterCookie binds a begun registration to this browser.
const passkeyRegisterCookie = "puguh_passkey_reg"

func (a *Account) mountPasskeys(r *mux.Router) {
	if a.d.MFA == nil || a.d.Passkeys == nil {
		return
	}
	r.HandleFunc("/account/security/passkeys/options", a.passkeyOptions).Methods(http.MethodPost)
	r.HandleFunc("/account/security/passkeys", a.addPasskey).Methods(http.MethodPost)
	r.HandleFunc("/account/security/passkeys/{id}/remove", a.removePasskey).Methods(http.MethodPost)
}

// passkeys lists the user's passkeys for the Security tab; nil when
// passkeys are off.
func (a *Account) passkeys(ctx context.Context, ac *accountContext) ([]storage.WebAuthnCredential, error) {
	if a.d.Passkeys == nil {
		return nil, nil
	}
	return a.d.Passkeys.List(ctx, ac.principal())
}

// passkeyOptions begins adding a passkey (POST
// /account/security/passkeys/options, from static/passkeys.js).
func (a *Account) passkeyOptions(w http.ResponseWriter, r *http.Request) {
	if !a.p.CheckForm(w, r) {
		return
	}
	ac, ok := a.signedIn(w, r)
	if !ok {
		return
	}
	c, err := a.d.Passkeys.BeginRegistration(r.Context(), ac.principal())
	a.p.writeCeremony(w, r, passkeyRegisterCookie, c, err)
}

// addPasskey stores the passkey the browser made (POST
// /account/security/passkeys: name, and the credential as JSON).
func (a *Account) addPasskey(w http.ResponseWriter, r *http.Request) {
	ac, ok := a.postForm(w, r)
	if !ok {
		return
	}
	token := a.p.cookie(r, passkeyRegisterCookie)
	a.p.setCookie(w, passkeyRegisterCookie, "", -1)
	name, pw := r.PostForm.Get("name"), r.PostForm.Get("password")
	c, err := a.d.Passkeys.FinishRegistration(r.Context(), ac.principal(), token, &name, &pw, []byte(r.PostForm.Get("credential")))
	if err != nil {
		a.securityError(w, r, ac, err, securityPage{PasskeyName: name})
		return
	}
	httpapi.Logger(r.Context()).Info("second factor added", "user_id", ac.user.ID, "factor", mfa.FactorPasskey, "credential_id", c.ID)
	a.afterPost(w, "/account/security", "passkey-new")
}

// removePasskey deletes a passkey, with the password (POST
// /account/security/passkeys/{id}/remove).
func (a *Account) removePasskey(w http.ResponseWriter, r *http.Request) {
	ac, ok := a.postForm(w, r)
	if !ok {
		return
	}
	pw := r.PostForm.Get("password")
	id := mux.Vars(r)["id"]
	if err := a.d.Passkeys.Remove(r.Context(), ac.principal(), id, &pw); err != nil {
		a.securityError(w, r, ac, err, securityPage{})
		return
	}
	httpapi.Logger(r.Context()).Info("second factor removed", "user_id", ac.user.ID, "factor", mfa.FactorPasskey, "credential_id", id)
	a.afterPost(w, "/account/security", "passkey-gone")
}
