package web

import (
	"context"
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/arsaka/puguh/provider/authz"
	"github.com/arsaka/puguh/provider/federation"
	"github.com/arsaka/puguh/storage"
)

// Connections is what the single sign-on tab calls (federation.Service).
type Connections interface {
	List(ctx context.Context, p *authz.Principal, orgID string) ([]federation.Connection, error)
	Get(ctx context.Context, p *authz.Principal, orgID, id string) (*federation.Connection, error)
	Create(ctx context.Context, p *authz.Principal, orgID string, in federation.Input) (*federation.Connection, error)
	Delete(ctx context.Context, p *authz.Principal, orgID, id string) error
}

// permSSOPage is the permission of the single sign-on tab: owners and admins.
const permSSOPage = authz.OrganizationUpdate

// ssoPage is the data of account_sso.html.
type ssoPage struct {
	frame
	Connections []connectionLine
	Roles       []string
	Form        ssoForm
	Errors      map[string]string
	// The SAML form, apart: its errors show on its own fields.
	SAMLForm   ssoForm
	SAMLErrors map[string]string
}

type connectionLine struct {
	federation.Connection
	RedirectURI   string // OIDC: the redirect URI; SAML: the assertion consumer service
	SPMetadataURL string // SAML only
}

// ssoForm is what the owner typed; the secret is never shown back.
type ssoForm struct {
	Name, Issuer, ClientID, Domains, DefaultRole string
	MetadataURL, MetadataXML, EmailClaim         string
}

// sso lists the organization's identity providers (GET /account/sso).
func (a *Account) sso(w http.ResponseWriter, r *http.Request) {
	ac, ok := a.signedIn(w, r)
	if !ok || !a.allowed(w, r, ac, permSSOPage) {
		return
	}
	data := ssoPage{frame: a.frame(w, r, ac, "sso"), Form: ssoForm{DefaultRole: authz.Member}, SAMLForm: ssoForm{DefaultRole: authz.Member}}
	data.Notice = noticeOf(r)
	a.renderSSO(w, r, http.StatusOK, ac, data)
}

func (a *Account) renderSSO(w http.ResponseWriter, r *http.Request, status int, ac *accountContext, data ssoPage) {
	p := ac.principal()
	list, err := a.d.Connections.List(r.Context(), p, ac.org.ID)
	if err != nil {
		a.p.unavailable(w, r, err)
		return
	}
	base := strings.TrimSuffix(a.p.issuer.String(), "/")
	for _, c := range list {
		line := connectionLine{Connection: c, RedirectURI: base + federation.ReturnPath(&c.FederationConnection)}
		if c.Protocol == storage.ProtocolSAML {
			line.SPMetadataURL = base + federation.SAMLMetadataPath(c.ID)
		}
		data.Connections = append(data.Connections, line)
	}
	for _, role := range authz.Roles() {
		if p.MayGrant(role) {
			data.Roles = append(data.Roles, role)
		}
	}
	a.render(w, r, status, "account_sso", data, false)
}

// createConnection connects an identity provider (POST /account/sso) with
// the REST endpoint's rules (federation.Service.Create).
func (a *Account) createConnection(w http.ResponseWriter, r *http.Request) {
	ac, ok := a.postForm(w, r)
	if !ok || !a.allowed(w, r, ac, permSSOPage) {
		return
	}
	f := r.PostForm
	form := ssoForm{Name: f.Get("name"), Domains: f.Get("domains"), DefaultRole: f.Get("default_role")}
	domains := append([]string{}, strings.FieldsFunc(form.Domains, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' })...)
	in := federation.Input{Name: &form.Name, Domains: &domains}
	saml := f.Get("protocol") == storage.ProtocolSAML
	if saml {
		// The URL or the document: the fields filled in.
		form.MetadataURL, form.MetadataXML, form.EmailClaim = strings.TrimSpace(f.Get("metadata_url")), f.Get("metadata_xml"), f.Get("email_claim")
		in.Protocol = &f["protocol"][0]
		if form.MetadataURL != "" {
			in.MetadataURL = &form.MetadataURL
		}
		if strings.TrimSpace(form.MetadataXML) != "" {
			in.MetadataXML = &form.MetadataXML
		}
		if form.EmailClaim != "" {
			in.EmailClaim = &form.EmailClaim
		}
	} else {
		form.Issuer, form.ClientID = f.Get("issuer"), f.Get("client_id")
		secret := f.Get("client_secret")
		in.Issuer, in.ClientID, in.ClientSecret = &form.Issuer, &form.ClientID, &secret
	}
	if form.DefaultRole != "" {
		in.DefaultRole = &form.DefaultRole
	}
	if _, err := a.d.Connections.Create(r.Context(), ac.principal(), ac.org.ID, in); err != nil {
		fields, msg, status, ok := fieldErrors(err)
		if !ok {
			a.p.unavailable(w, r, err)
			return
		}
		data := ssoPage{frame: a.frame(w, r, ac, "sso"), Form: form, Errors: fields, SAMLForm: ssoForm{DefaultRole: authz.Member}}
		if saml {
			data.Form, data.Errors, data.SAMLForm, data.SAMLErrors = ssoForm{DefaultRole: authz.Member}, nil, form, fields
		}
		data.Error = msg
		a.renderSSO(w, r, status, ac, data)
		return
	}
	a.afterPost(w, "/account/sso", "connected")
}

// confirmDeleteConnection asks before disconnecting (GET /account/sso/{id}/delete).
func (a *Account) confirmDeleteConnection(w http.ResponseWriter, r *http.Request) {
	ac, ok := a.signedIn(w, r)
	if !ok || !a.allowed(w, r, ac, permSSOPage) {
		return
	}
	c, err := a.d.Connections.Get(r.Context(), ac.principal(), ac.org.ID, mux.Vars(r)["id"])
	if err != nil {
		_, msg, status, ok := fieldErrors(err)
		if !ok {
			a.p.unavailable(w, r, err)
			return
		}
		a.p.RenderError(w, r, status, "Connection not found", msg, "", "")
		return
	}
	a.render(w, r, http.StatusOK, "account_confirm", confirmPage{
		frame: a.frame(w, r, ac, "sso"), Title: "Disconnect identity provider?",
		Message: "Disconnect “" + c.Name + "” (" + strings.Join(c.Domains, ", ") + ")? Its people will have to sign in with a Puguh password, which they never chose. Their accounts stay.",
		Action:  "/account/sso/" + c.ID + "/delete", Button: "Disconnect", Back: "/account/sso",
	}, false)
}

// deleteConnection disconnects after confirmation (POST /account/sso/{id}/delete).
func (a *Account) deleteConnection(w http.ResponseWriter, r *http.Request) {
	ac, ok := a.postForm(w, r)
	if !ok || !a.allowed(w, r, ac, permSSOPage) {
		return
	}
	if err := a.d.Connections.Delete(r.Context(), ac.principal(), ac.org.ID, mux.Vars(r)["id"]); err != nil {
		_, msg, status, ok := fieldErrors(err)
		if !ok {
			a.p.unavailable(w, r, err)
			return
		}
		a.p.RenderError(w, r, status, "Not disconnected", msg, "", "")
		return
	}
	a.afterPost(w, "/account/sso", "disconnected")
}
