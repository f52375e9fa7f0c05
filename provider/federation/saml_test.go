package federation_test

import (
	"bytes"
	"context"
	"os"
	"sync"
	"testing"

	"github.com/crewjam/saml"

	"github.com/arsaka/puguh/provider/audit"
	"github.com/arsaka/puguh/provider/federation"
	"github.com/arsaka/puguh/provider/problem"
)

func metadataXML(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("testdata/idp-metadata.xml")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func samlInput(xml string, domains ...string) federation.Input {
	return federation.Input{Protocol: ptr("saml"), Name: ptr("Acme SAML"), MetadataXML: &xml, Domains: &domains,
		EmailClaim: ptr("mail"), GroupsClaim: ptr("eduPersonAffiliation"), RoleMapping: &map[string]string{"staff": "admin"}}
}

// recorder keeps the audit events.
type recorder struct {
	mu     sync.Mutex
	events []audit.Event
}

func (r *recorder) Record(_ context.Context, e audit.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) types() []audit.Type {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []audit.Type
	for _, e := range r.events {
		out = append(out, e.Type)
	}
	return out
}

// TestSAMLConnectionRules: a SAML connection takes the identity provider's
// metadata (its entity ID becomes the issuer), gets its own sealed
// service-provider key, and refuses the OpenID Connect fields, both
// metadata sources at once, none, bad metadata and a change of protocol.
func TestSAMLConnectionRules(t *testing.T) {
	f := newFixture(t)
	_, p := f.user(t, "owner@acme.example")
	md := metadataXML(t)
	c, err := f.svc.Create(f.ctx, p, p.OrganizationID, samlInput(md, "saml.acme.example"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Protocol != "saml" || c.Issuer != "https://idp.acme.example/saml" || c.SAMLSPKeySealed != nil ||
		len(c.Scopes) != 0 || c.EmailClaim != "mail" || c.ClientID != "" {
		t.Fatalf("created %+v", c)
	}
	stored, _ := f.store.ConnectionByID(f.ctx, c.ID)
	if len(stored.SAMLSPKeySealed) == 0 || bytes.Contains(stored.SAMLSPKeySealed, []byte("PRIVATE")) {
		t.Fatalf("sp key at rest: %d bytes", len(stored.SAMLSPKeySealed))
	}
	// Sealed under the connection: the client-secret name does not open it.
	if _, err := f.box.Open(c.ID, stored.SAMLSPKeySealed); err == nil {
		t.Fatal("the sp key opens as the connection's client secret")
	}
	lc, err := f.svc.ForLogin(f.ctx, c.ID)
	if err != nil || lc.SP == nil || !lc.SP.Key.PublicKey.Equal(lc.SP.Certificate.PublicKey) {
		t.Fatalf("ForLogin: %+v %v", lc, err)
	}

	for _, tc := range []struct {
		name string
		in   federation.Input
		want []string
	}{
		{"oidc fields", func() federation.Input {
			in := samlInput(md, "x.example")
			in.Issuer, in.ClientSecret, in.Scopes = ptr("https://x.example"), ptr("s"), &[]string{"openid"}
			return in
		}(), []string{"not used by saml connections", "not used by saml connections", "not used by saml connections"}},
		{"both sources", func() federation.Input {
			in := samlInput(md, "x.example")
			in.MetadataURL = ptr("https://idp.x.example/md")
			return in
		}(), []string{"send metadata_url or metadata_xml, not both"}},
		{"no source", federation.Input{Protocol: ptr("saml"), Name: ptr("x"), Domains: &[]string{"x.example"}},
			[]string{"metadata_url or metadata_xml is required"}},
		{"bad url", federation.Input{Protocol: ptr("saml"), Name: ptr("x"), Domains: &[]string{"x.example"}, MetadataURL: ptr("http://idp.x.example/md")},
			[]string{"must be an https URL without query or fragment (http only on localhost)"}},
		{"not xml", samlInput("<EntityDescriptor", "x.example"), nil},
		{"sp metadata", samlInput(`<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://sp.example"><SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"></SPSSODescriptor></EntityDescriptor>`, "x.example"),
			[]string{"not identity provider metadata (no IDPSSODescriptor)"}},
		{"unknown protocol", federation.Input{Protocol: ptr("ws-fed"), Name: ptr("x"), Domains: &[]string{"x.example"}},
			[]string{"value is not a valid enumeration member; permitted: 'oidc', 'saml'", "field required", "field required", "field required"}},
		{"oidc with metadata", func() federation.Input {
			in := input("x.example")
			in.MetadataXML = &md
			return in
		}(), []string{"not used by oidc connections"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.svc.Create(f.ctx, p, p.OrganizationID, tc.in)
			if tc.want == nil {
				if pr := problem.As(err); pr == nil || pr.Kind != problem.Invalid || len(pr.Issues) != 1 || pr.Issues[0].Loc[len(pr.Issues[0].Loc)-1] != "metadata_xml" {
					t.Fatalf("err = %v", err)
				}
				return
			}
			wantIssues(t, tc.name, err, tc.want...)
		})
	}
	_, err = f.svc.Update(f.ctx, p, p.OrganizationID, c.ID, federation.Input{Protocol: ptr("oidc")})
	wantIssues(t, "protocol change", err, "a connection's protocol cannot be changed")

	// A metadata URL replaces the XML; the entity ID is read at sign-in then.
	u, err := f.svc.Update(f.ctx, p, p.OrganizationID, c.ID, federation.Input{MetadataURL: ptr("https://idp.acme.example/saml/metadata")})
	if err != nil || u.SAMLMetadataURL != "https://idp.acme.example/saml/metadata" || u.SAMLMetadataXML != "" || u.Issuer != "" {
		t.Fatalf("update: %+v %v", u, err)
	}
}

// TestFromAssertion: the subject is the NameID (none when transient), the
// attributes match by Name or FriendlyName, an emailAddress NameID stands
// in for a missing email attribute, and the address counts as confirmed.
func TestFromAssertion(t *testing.T) {
	c := &federation.Connection{Mapping: map[string]string{}}
	c.EmailClaim, c.NameClaim, c.GroupsClaim = "mail", "urn:oid:2.5.4.3", "groups"
	a := &saml.Assertion{
		Subject: &saml.Subject{NameID: &saml.NameID{Format: string(saml.PersistentNameIDFormat), Value: "u-123"}},
		AttributeStatements: []saml.AttributeStatement{{Attributes: []saml.Attribute{
			{FriendlyName: "mail", Name: "urn:oid:0.9.2342.19200300.100.1.3", Values: []saml.AttributeValue{{Value: "ann@acme.example"}}},
			{FriendlyName: "cn", Name: "urn:oid:2.5.4.3", Values: []saml.AttributeValue{{Value: "Ann"}}},
			{Name: "groups", Values: []saml.AttributeValue{{Value: "staff"}, {Value: "eng"}}},
		}}},
	}
	up := federation.FromAssertion(c, a)
	if up.Subject != "u-123" || up.Email != "ann@acme.example" || up.Name != "Ann" || len(up.Groups) != 2 || up.Groups[1] != "eng" || !up.EmailVerified {
		t.Fatalf("upstream %+v", up)
	}
	a.Subject.NameID = &saml.NameID{Format: string(saml.EmailAddressNameIDFormat), Value: "bob@acme.example"}
	a.AttributeStatements = nil
	if up := federation.FromAssertion(c, a); up.Subject != "bob@acme.example" || up.Email != "bob@acme.example" {
		t.Fatalf("email NameID: %+v", up)
	}
	a.Subject.NameID = &saml.NameID{Format: string(saml.TransientNameIDFormat), Value: "_t1"}
	if up := federation.FromAssertion(c, a); up.Subject != "" || up.Email != "" {
		t.Fatalf("transient NameID: %+v", up)
	}
}

// TestFederationAudit: connections created, changed and deleted, a
// provisioning, a link, a refusal and a protocol failure are recorded with
// the connection, and nothing secret.
func TestFederationAudit(t *testing.T) {
	f := newFixture(t)
	rec := &recorder{}
	f.svc.Audit = rec
	owner, p := f.user(t, "owner@acme.example")
	c, err := f.svc.Create(f.ctx, p, p.OrganizationID, input("acme.example"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Update(f.ctx, p, p.OrganizationID, c.ID, federation.Input{ClientSecret: ptr("n3w-secret")}); err != nil {
		t.Fatal(err)
	}
	lc, err := f.svc.ForLogin(f.ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SignIn(f.ctx, lc, federation.Upstream{Subject: "s-new", Email: "new@acme.example"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SignIn(f.ctx, lc, federation.Upstream{Subject: "s-owner", Email: owner.Email, EmailVerified: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SignIn(f.ctx, lc, federation.Upstream{Subject: "s-evil", Email: "evil@else.example"}); err == nil {
		t.Fatal("another domain signed in")
	}
	f.svc.Failed(f.ctx, &lc.Connection, "invalid_response")
	if err := f.svc.Delete(f.ctx, p, p.OrganizationID, c.ID); err != nil {
		t.Fatal(err)
	}
	want := []audit.Type{audit.FederationConnectionCreated, audit.FederationConnectionUpdated,
		audit.FederationUserProvisioned, audit.SignInSucceeded, audit.FederationAccountLinked, audit.SignInSucceeded,
		audit.SignInFailed, audit.SignInFailed, audit.FederationConnectionDeleted}
	got := rec.types()
	if len(got) != len(want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("events %v, want %v", got, want)
		}
	}
	for _, e := range rec.events {
		if e.OrganizationID != p.OrganizationID {
			t.Fatalf("%s in organization %q", e.Type, e.OrganizationID)
		}
		for k, v := range e.Details {
			if bytes.Contains([]byte(v), []byte("secret")) {
				t.Fatalf("%s detail %s=%q", e.Type, k, v)
			}
		}
		if e.Type == audit.SignInSucceeded || e.Type == audit.SignInFailed || e.Type == audit.FederationUserProvisioned {
			if e.Details["connection_id"] != c.ID {
				t.Fatalf("%s without the connection: %v", e.Type, e.Details)
			}
		}
	}
	if r := rec.events[6].Details["reason"]; r != "domain_not_connected" {
		t.Fatalf("refusal reason %q", r)
	}
	if r := rec.events[2].Details["role"]; r != "member" {
		t.Fatalf("provisioned role %q", r)
	}
}
