package rest_test

import (
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
)

// TestSAMLConnectionsAPI: a SAML connection from metadata XML answers with
// the identity provider's entity ID, the ACS as redirect_uri and Puguh's
// service-provider metadata URL, which serves the metadata; a metadata URL
// replaces the XML; every bad SAML input has its exact answer.
func TestSAMLConnectionsAPI(t *testing.T) {
	t.Parallel()
	e := apptest.Start(t, apptest.Options{})
	owner := e.NewUser()
	base := "/api/v1/organizations/" + owner.OrganizationID + "/connections"
	md, err := os.ReadFile("../federation/testdata/idp-metadata.xml")
	if err != nil {
		t.Fatal(err)
	}
	body := map[string]any{"protocol": "saml", "name": "Acme SAML", "metadata_xml": string(md), "domains": []string{"saml.example"},
		"email_claim": "mail"}
	r := e.Do(http.MethodPost, base, body, actingIn(owner)...)
	if r.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	m := object(t, r, "id", "organization_id", "name", "protocol", "issuer", "client_id", "scopes", "email_claim",
		"name_claim", "groups_claim", "role_mapping", "default_role", "domains", "redirect_uri", "metadata_xml",
		"sp_metadata_url", "created_at", "updated_at")
	id := wantUUID(t, "id", m["id"])
	if m["protocol"] != "saml" || m["issuer"] != "https://idp.acme.example/saml" || m["client_id"] != "" ||
		m["redirect_uri"] != e.URL+"/federation/saml/"+id+"/acs" || m["sp_metadata_url"] != e.URL+"/federation/saml/"+id+"/metadata" ||
		len(m["scopes"].([]any)) != 0 || strings.Contains(string(r.Body), "PRIVATE KEY") {
		t.Fatalf("created %s", r.Body)
	}
	sp := e.Do(http.MethodGet, "/federation/saml/"+id+"/metadata", nil)
	if sp.Status != http.StatusOK || !strings.Contains(string(sp.Body), `entityID="`+e.URL+"/federation/saml/"+id+`/metadata"`) ||
		!strings.Contains(string(sp.Body), `AuthnRequestsSigned="true"`) || !strings.Contains(string(sp.Body), `WantAssertionsSigned="true"`) {
		t.Fatalf("sp metadata: %d %s", sp.Status, sp.Body)
	}
	r = e.Do(http.MethodPatch, base+"/"+id, map[string]any{"metadata_url": "https://idp.acme.example/saml/metadata"}, actingIn(owner)...)
	m = object(t, r, "id", "organization_id", "name", "protocol", "issuer", "client_id", "scopes", "email_claim",
		"name_claim", "groups_claim", "role_mapping", "default_role", "domains", "redirect_uri", "metadata_url",
		"sp_metadata_url", "created_at", "updated_at")
	if r.Status != http.StatusOK || m["metadata_url"] != "https://idp.acme.example/saml/metadata" || m["issuer"] != "" {
		t.Fatalf("patch: %d %s", r.Status, r.Body)
	}

	t.Run("bad input", func(t *testing.T) {
		e := at(t, e)
		want(t, e.Do(http.MethodPost, base, map[string]any{"protocol": "saml", "name": "x", "domains": []string{"x.example"},
			"issuer": "https://x.example", "client_secret": "s"}, actingIn(owner)...), 422,
			`{"detail":[{"loc":["body","client_secret"],"msg":"not used by saml connections","type":"value_error.protocol"},`+
				`{"loc":["body","issuer"],"msg":"not used by saml connections","type":"value_error.protocol"},`+
				`{"loc":["body","metadata_url"],"msg":"metadata_url or metadata_xml is required","type":"value_error.missing"}]}`)
		want(t, e.Do(http.MethodPost, base, map[string]any{"protocol": "saml", "name": "x", "domains": []string{"x.example"},
			"metadata_url": "https://x.example/md", "metadata_xml": string(md)}, actingIn(owner)...), 422,
			`{"detail":[{"loc":["body","metadata_xml"],"msg":"send metadata_url or metadata_xml, not both","type":"value_error"}]}`)
		want(t, e.Do(http.MethodPost, base, map[string]any{"protocol": "saml", "name": "x", "domains": []string{"x.example"},
			"metadata_xml": `<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://sp.example"/>`}, actingIn(owner)...), 422,
			`{"detail":[{"loc":["body","metadata_xml"],"msg":"not identity provider metadata (no IDPSSODescriptor)","type":"value_error.metadata"}]}`)
		want(t, e.Do(http.MethodPost, base, map[string]any{"protocol": "wsfed", "name": "x", "domains": []string{"x.example"},
			"issuer": "https://x.example", "client_id": "c", "client_secret": "s"}, actingIn(owner)...), 422,
			`{"detail":[{"loc":["body","protocol"],"msg":"value is not a valid enumeration member; permitted: 'oidc', 'saml'","type":"type_error.enum"}]}`)
		want(t, e.Do(http.MethodPatch, base+"/"+id, map[string]any{"protocol": "oidc"}, actingIn(owner)...), 422,
			`{"detail":[{"loc":["body","protocol"],"msg":"a connection's protocol cannot be changed","type":"value_error.const"}]}`)
		want(t, e.Do(http.MethodPatch, base+"/"+id, map[string]any{"metadata_url": "http://idp.example/md"}, actingIn(owner)...), 422,
			`{"detail":[{"loc":["body","metadata_url"],"msg":"must be an https URL without query or fragment (http only on localhost)","type":"value_error.url"}]}`)
		if r := e.Do(http.MethodGet, "/federation/saml/00000000-0000-4000-8000-000000000000/metadata", nil); r.Status != http.StatusNotFound {
			t.Fatalf("metadata of no connection: %d", r.Status)
		}
	})
}
