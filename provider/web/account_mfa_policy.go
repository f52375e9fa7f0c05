package web

import (
	"context"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/arsaka/puguh/provider/authz"
	"github.com/arsaka/puguh/provider/mfa"
)

// AccountMFAPolicies is the organization second-factor policy
// (mfa.Policies) as the security tab uses it.
type AccountMFAPolicies interface {
	Get(ctx context.Context, p *authz.Principal, orgID string) (*mfa.Policy, error)
	Set(ctx context.Context, p *authz.Principal, orgID string, in mfa.PolicyInput) (*mfa.Policy, error)
}

// permPolicyPage is what changing the policy takes: owners and admins.
const permPolicyPage = authz.OrganizationUpdate

// mfaPolicyView is the policy section of the security tab, for those who
// may change it.
type mfaPolicyView struct {
	OrgName      string
	Required     bool
	GracePeriod  string
	EnforcedFrom string
	Errors       map[string]string
}

func (a *Account) mountMFAPolicy(r *mux.Router) {
	if a.d.MFAPolicies == nil || a.d.MFA == nil {
		return
	}
	r.HandleFunc("/account/security/policy", a.saveMFAPolicy).Methods(http.MethodPost)
}

// mfaPolicyOf is the policy section for the organization ac acts in; nil
// when the user may not change it.
func (a *Account) mfaPolicyOf(ctx context.Context, ac *accountContext) (*mfaPolicyView, error) {
	if a.d.MFAPolicies == nil || ac.org.ID == "" || !ac.perms.Has(permPolicyPage) {
		return nil, nil
	}
	pol, err := a.d.MFAPolicies.Get(ctx, ac.principal(), ac.org.ID)
	if err != nil {
		return nil, err
	}
	v := &mfaPolicyView{OrgName: ac.org.Name, Required: pol.Required, GracePeriod: mfa.FormatGracePeriod(pol.GracePeriod)}
	if !pol.Required {
		v.GracePeriod = mfa.FormatGracePeriod(mfa.DefaultGracePeriod)
	}
	if from := pol.EnforcedFrom(); from != nil {
		v.EnforcedFrom = formatTime(*from)
	}
	return v, nil
}

// saveMFAPolicy turns the organization's policy on or off (POST
// /account/security/policy), with the REST API's rules and messages.
func (a *Account) saveMFAPolicy(w http.ResponseWriter, r *http.Request) {
	ac, ok := a.postForm(w, r)
	if !ok || !a.allowed(w, r, ac, permPolicyPage) {
		return
	}
	required := r.PostForm.Get("required") == "on"
	grace := r.PostForm.Get("grace_period")
	_, err := a.d.MFAPolicies.Set(r.Context(), ac.principal(), ac.org.ID, mfa.PolicyInput{Required: &required, GracePeriod: &grace})
	if err != nil {
		fields, msg, status, ok := fieldErrors(err)
		if !ok {
			a.p.unavailable(w, r, err)
			return
		}
		data := securityPage{frame: a.frame(w, r, ac, "security")}
		data.Error = msg
		if v, ok := fields["grace_period"]; ok {
			data.Error = "Grace period: " + v
		}
		a.renderSecurity(w, r, status, ac, data)
		return
	}
	data := securityPage{frame: a.frame(w, r, ac, "security")}
	data.Notice = "The second-factor policy of " + ac.org.Name + " was saved."
	if !required {
		data.Notice = "Members of " + ac.org.Name + " are no longer required to use a second factor."
	}
	a.renderSecurity(w, r, http.StatusOK, ac, data)
}
