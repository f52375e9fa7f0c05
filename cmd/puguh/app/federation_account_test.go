package app_test

import (
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
)

// signedInBrowser signs u in on e's sign-in page.
func signedInBrowser(t *testing.T, e *apptest.Env, u *apptest.User) *browser {
	t.Helper()
	b := newBrowser(t, e)
	form := b.get("/login?return_to=/account/sso")
	fields := formFields(t, form.Body)
	fields.Set("email", u.Email)
	fields.Set("password", u.Password)
	if p := b.post("/login", fields); p.Status != http.StatusSeeOther {
		t.Fatalf("sign in: %d %.500s", p.Status, p.Body)
	}
	return b
}

// TestAccountSingleSignOn: owners and admins connect and disconnect their
// organization's identity provider on /account/sso with the REST API's
// rules; the secret is never shown; others are refused.
func TestAccountSingleSignOn(t *testing.T) {
	t.Parallel()
	e := apptest.Start(t, apptest.Options{})
	owner := e.NewUser()
	b := signedInBrowser(t, e, owner)

	p := b.get("/account/sso")
	if p.Status != 200 || !strings.Contains(p.Body, `id="no-connections"`) || !strings.Contains(p.Body, `id="tab-sso"`) {
		t.Fatalf("empty page: %d %.800s", p.Status, p.Body)
	}
	fields := formFields(t, p.Body)

	// Bad input: the fields' messages, the REST API's status.
	p = b.post("/account/sso", fields)
	if p.Status != 422 || strings.Count(p.Body, `class="field-error"`) != 5 || !strings.Contains(p.Body, `id="sso-domains-error">ensure this value has at least 1 items<`) {
		t.Fatalf("empty form: %d %.3000s", p.Status, p.Body)
	}
	good := url.Values{"csrf_token": {fields.Get("csrf_token")}, "name": {"Acme IdP"}, "issuer": {"https://idp.acme.example"},
		"client_id": {"puguh"}, "client_secret": {"page-secret-value"}, "domains": {"acme.example, corp.acme.example"}, "default_role": {"viewer"}}
	bad := url.Values{}
	for k, v := range good {
		bad[k] = v
	}
	bad.Set("issuer", "http://idp.acme.example")
	p = b.post("/account/sso", bad)
	if p.Status != 422 || !strings.Contains(p.Body, `id="sso-issuer-error">must be an https URL without query or fragment (http only on localhost)<`) ||
		strings.Contains(p.Body, "page-secret-value") || !strings.Contains(p.Body, `value="Acme IdP"`) {
		t.Fatalf("bad issuer: %d %.3000s", p.Status, p.Body)
	}

	p = b.post("/account/sso", good)
	if p.Status != http.StatusSeeOther || p.Location.String() != e.URL+"/account/sso?done=connected" {
		t.Fatalf("connect: %d %v %.500s", p.Status, p.Location, p.Body)
	}
	p = b.get(p.Location.String())
	if p.Status != 200 || !strings.Contains(p.Body, "acme.example, corp.acme.example") || !strings.Contains(p.Body, e.URL+"/federation/") ||
		strings.Contains(p.Body, "page-secret-value") || !strings.Contains(p.Body, `id="notice"`) {
		t.Fatalf("after connect: %d %.3000s", p.Status, p.Body)
	}
	p = b.post("/account/sso", good)
	if p.Status != 409 || !strings.Contains(p.Body, "Domain acme.example is already connected to another connection") {
		t.Fatalf("taken domain: %d %.3000s", p.Status, p.Body)
	}

	// A member of the organization may not see the tab.
	member := e.NewUser()
	if r := e.Do(http.MethodPost, "/api/v1/organizations/"+owner.OrganizationID+"/members",
		map[string]string{"email": member.Email, "role": "member"}, owner.Bearer()...); r.Status != 201 {
		t.Fatalf("add member: %d", r.Status)
	}
	mb := signedInBrowser(t, e, member)
	switchTo := formFields(t, mb.get("/account").Body)
	switchTo.Set("organization_id", owner.OrganizationID)
	switchTo.Set("return_to", "/account")
	mb.post("/account/organization", switchTo)
	if p := mb.get("/account/sso"); p.Status != 403 || !strings.Contains(p.Body, "Missing permission: organization.update") {
		t.Fatalf("member: %d %.800s", p.Status, p.Body)
	}

	// Disconnect, after confirmation.
	r := e.Do(http.MethodGet, "/api/v1/organizations/"+owner.OrganizationID+"/connections", nil, owner.Bearer()...)
	var list struct{ Items []struct{ ID string } }
	r.JSON(t, &list)
	confirm := b.get("/account/sso/" + list.Items[0].ID + "/delete")
	if confirm.Status != 200 || !strings.Contains(confirm.Body, "Disconnect identity provider?") {
		t.Fatalf("confirm: %d %.800s", confirm.Status, confirm.Body)
	}
	p = b.post("/account/sso/"+list.Items[0].ID+"/delete", formFields(t, confirm.Body))
	if p.Status != http.StatusSeeOther || p.Location.String() != e.URL+"/account/sso?done=disconnected" {
		t.Fatalf("disconnect: %d %v", p.Status, p.Location)
	}
	if p := b.get("/account/sso/" + list.Items[0].ID + "/delete"); p.Status != 404 || !strings.Contains(p.Body, "Connection not found") {
		t.Fatalf("confirm a deleted one: %d %.800s", p.Status, p.Body)
	}
}

// TestAccountSingleSignOnSAML: the SAML form of /account/sso takes the
// identity provider's metadata (URL or XML) with the REST API's rules; its
// errors show on its own fields; a connected SAML provider is listed with
// its assertion consumer service and Puguh's service-provider metadata URL.
func TestAccountSingleSignOnSAML(t *testing.T) {
	t.Parallel()
	e := apptest.Start(t, apptest.Options{})
	owner := e.NewUser()
	b := signedInBrowser(t, e, owner)
	fields := formFields(t, b.get("/account/sso").Body)
	if fields.Get("protocol") != "" {
		t.Fatal("the OpenID Connect form would post protocol")
	}
	md, err := os.ReadFile("../../../provider/federation/testdata/idp-metadata.xml")
	if err != nil {
		t.Fatal(err)
	}
	post := func(values ...string) *page {
		t.Helper()
		v := url.Values{"csrf_token": {fields.Get("csrf_token")}, "protocol": {"saml"}, "default_role": {"member"}}
		for i := 0; i+1 < len(values); i += 2 {
			v.Set(values[i], values[i+1])
		}
		return b.post("/account/sso", v)
	}
	p := post("name", "Acme SAML", "domains", "saml.acme.example")
	if p.Status != 422 || !strings.Contains(p.Body, `id="saml-metadata-url-error">metadata_url or metadata_xml is required<`) ||
		strings.Contains(p.Body, `id="sso-name-error"`) || !strings.Contains(p.Body, `id="saml-name" name="name" type="text" required value="Acme SAML"`) {
		t.Fatalf("no metadata: %d %.4000s", p.Status, p.Body)
	}
	p = post("name", "Acme SAML", "domains", "saml.acme.example", "metadata_xml", "<EntityDescriptor")
	if p.Status != 422 || !strings.Contains(p.Body, `id="saml-metadata-xml-error">not valid SAML metadata`) {
		t.Fatalf("bad metadata: %d %.4000s", p.Status, p.Body)
	}
	p = post("name", "Acme SAML", "domains", "saml.acme.example", "metadata_xml", string(md), "email_claim", "mail")
	if p.Status != http.StatusSeeOther || p.Location.String() != e.URL+"/account/sso?done=connected" {
		t.Fatalf("connect: %d %v %.2000s", p.Status, p.Location, p.Body)
	}
	p = b.get("/account/sso")
	if p.Status != 200 || !strings.Contains(p.Body, "https://idp.acme.example/saml") ||
		!regexp.MustCompile(`<code class="redirect-uri">`+regexp.QuoteMeta(e.URL)+`/federation/saml/[0-9a-f-]{36}/acs</code>`).MatchString(p.Body) ||
		!regexp.MustCompile(`<code class="sp-metadata">`+regexp.QuoteMeta(e.URL)+`/federation/saml/[0-9a-f-]{36}/metadata</code>`).MatchString(p.Body) {
		t.Fatalf("after connect: %d %.4000s", p.Status, p.Body)
	}
}
