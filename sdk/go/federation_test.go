package puguh_test

import (
	"strings"
	"testing"

	puguh "github.com/arsaka/puguh/sdk/go"
)

// exerciseConnections runs the connections rows of SURFACE.md as the owner
// of orgID (called by TestResources, which checks every operation answered).
func exerciseConnections(t *testing.T, c *puguh.Client, orgID string) {
	t.Helper()
	created := must[*puguh.Connection](t)(c.Organizations.Connections.Create(ctx, orgID, puguh.ConnectionFields{
		Name: "Acme IdP", Issuer: "https://idp.acme.example", ClientID: "puguh", ClientSecret: "sdk-secret-value",
		Domains: []string{"sdk-go.acme.example"}, RoleMapping: map[string]puguh.Role{"admins": puguh.RoleAdmin},
	}))
	if created.Protocol != "oidc" || created.DefaultRole != puguh.RoleMember || created.RoleMapping["admins"] != puguh.RoleAdmin ||
		!strings.HasSuffix(created.RedirectURI, "/federation/"+created.ID+"/callback") {
		t.Fatalf("created %+v", created)
	}
	page := must[*puguh.Page[puguh.Connection]](t)(c.Organizations.Connections.List(ctx, orgID))
	if len(page.Items) != 1 || page.Items[0].ID != created.ID {
		t.Fatalf("list %+v", page.Items)
	}
	if got := must[*puguh.Connection](t)(c.Organizations.Connections.Get(ctx, orgID, created.ID)); got.Name != "Acme IdP" {
		t.Fatalf("get %+v", got)
	}
	updated := must[*puguh.Connection](t)(c.Organizations.Connections.Update(ctx, orgID, created.ID, puguh.ConnectionFields{Name: "Renamed"}))
	if updated.Name != "Renamed" || updated.Domains[0] != "sdk-go.acme.example" {
		t.Fatalf("updated %+v", updated)
	}
	if _, err := c.Organizations.Connections.Create(ctx, orgID, puguh.ConnectionFields{Name: "x"}); !puguh.IsStatus(err, 422) {
		t.Fatalf("incomplete create: %v", err)
	}
	if err := c.Organizations.Connections.Delete(ctx, orgID, created.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Organizations.Connections.Get(ctx, orgID, created.ID); !puguh.IsNotFound(err) {
		t.Fatalf("deleted: %v", err)
	}
	// A SAML 2.0 connection: the ACS is its redirect URI, and Puguh's
	// service-provider metadata has its own URL.
	saml := must[*puguh.Connection](t)(c.Organizations.Connections.Create(ctx, orgID, puguh.ConnectionFields{
		Protocol: "saml", Name: "Acme SAML", MetadataURL: "https://idp.acme.example/saml/metadata", Domains: []string{"sdk-go-saml.acme.example"},
	}))
	if saml.Protocol != "saml" || saml.MetadataURL != "https://idp.acme.example/saml/metadata" ||
		!strings.HasSuffix(saml.RedirectURI, "/federation/saml/"+saml.ID+"/acs") || !strings.HasSuffix(saml.SPMetadataURL, "/federation/saml/"+saml.ID+"/metadata") {
		t.Fatalf("saml connection %+v", saml)
	}
	if err := c.Organizations.Connections.Delete(ctx, orgID, saml.ID); err != nil {
		t.Fatal(err)
	}
}
