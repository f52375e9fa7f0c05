package puguh

import (
	"context"
	"time"
)

// Connection is an organization's own OpenID Connect or SAML 2.0 identity
// provider (docs/federation.md). The client secret is write-only: never
// returned. For SAML, RedirectURI is the assertion consumer service and
// SPMetadataURL Puguh's service-provider metadata (and entity ID).
type Connection struct {
	ID             string          `json:"id"`
	OrganizationID string          `json:"organization_id"`
	Name           string          `json:"name"`
	Protocol       string          `json:"protocol"`
	Issuer         string          `json:"issuer"`
	ClientID       string          `json:"client_id"`
	Scopes         []string        `json:"scopes"`
	EmailClaim     string          `json:"email_claim"`
	NameClaim      string          `json:"name_claim"`
	GroupsClaim    string          `json:"groups_claim"`
	RoleMapping    map[string]Role `json:"role_mapping"`
	DefaultRole    Role            `json:"default_role"`
	Domains        []string        `json:"domains"`
	RedirectURI    string          `json:"redirect_uri"`
	MetadataURL    string          `json:"metadata_url,omitempty"`
	MetadataXML    string          `json:"metadata_xml,omitempty"`
	SPMetadataURL  string          `json:"sp_metadata_url,omitempty"`
	CreatedAt      time.Time       `json:"created_at"`
	UpdatedAt      time.Time       `json:"updated_at"`
}

// ConnectionFields is the body of createConnection (name and domains
// required; OpenID Connect: issuer, client_id, client_secret; SAML, with
// Protocol "saml": MetadataURL or MetadataXML) and updateConnection (the
// fields to change).
type ConnectionFields struct {
	Protocol     string          `json:"protocol,omitempty"`
	Name         string          `json:"name,omitempty"`
	Issuer       string          `json:"issuer,omitempty"`
	ClientID     string          `json:"client_id,omitempty"`
	ClientSecret string          `json:"client_secret,omitempty"`
	Scopes       []string        `json:"scopes,omitempty"`
	EmailClaim   string          `json:"email_claim,omitempty"`
	NameClaim    string          `json:"name_claim,omitempty"`
	GroupsClaim  string          `json:"groups_claim,omitempty"`
	RoleMapping  map[string]Role `json:"role_mapping,omitempty"`
	DefaultRole  Role            `json:"default_role,omitempty"`
	Domains      []string        `json:"domains,omitempty"`
	MetadataURL  string          `json:"metadata_url,omitempty"`
	MetadataXML  string          `json:"metadata_xml,omitempty"`
}

// ConnectionsService is /api/v1/organizations/{id}/connections (owners and admins).
type ConnectionsService struct{ c *Client }

// List (listConnections): every connection of the organization.
func (s *ConnectionsService) List(ctx context.Context, organizationID string, opts ...RequestOption) (*Page[Connection], error) {
	return list[Connection](ctx, s.c, call{op: "listConnections", path: []string{organizationID}, opts: opts}, PageParams{})
}

// Create (createConnection) connects an identity provider.
func (s *ConnectionsService) Create(ctx context.Context, organizationID string, body ConnectionFields, opts ...RequestOption) (*Connection, error) {
	return one[Connection](ctx, s.c, call{op: "createConnection", path: []string{organizationID}, body: body, opts: opts})
}

// Get (getConnection).
func (s *ConnectionsService) Get(ctx context.Context, organizationID, connectionID string, opts ...RequestOption) (*Connection, error) {
	return one[Connection](ctx, s.c, call{op: "getConnection", path: []string{organizationID, connectionID}, opts: opts})
}

// Update (updateConnection) changes the fields sent.
func (s *ConnectionsService) Update(ctx context.Context, organizationID, connectionID string, body ConnectionFields, opts ...RequestOption) (*Connection, error) {
	return one[Connection](ctx, s.c, call{op: "updateConnection", path: []string{organizationID, connectionID}, body: body, opts: opts})
}

// Delete (deleteConnection) disconnects the identity provider.
func (s *ConnectionsService) Delete(ctx context.Context, organizationID, connectionID string, opts ...RequestOption) error {
	_, err := s.c.do(ctx, call{op: "deleteConnection", path: []string{organizationID, connectionID}, opts: opts})
	return err
}
