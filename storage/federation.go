package storage

import (
	"context"
	"time"
)

// Federation protocols.
const (
	ProtocolOIDC = "oidc"
	ProtocolSAML = "saml"
)

// FederationConnection is an organization's own identity provider: its users
// (those of Domains) sign in there and come back to Puguh. ClientSecretSealed
// is encrypted at rest (keys.Box); RoleMapping maps upstream groups to
// organization roles as JSON ({"group": "role"}).
type FederationConnection struct {
	ID                 string   `db:"id"`
	OrganizationID     string   `db:"organization_id"`
	Name               string   `db:"name"`
	Protocol           string   `db:"protocol"`
	Issuer             string   `db:"issuer"`
	ClientID           string   `db:"client_id"`
	ClientSecretSealed []byte   `db:"client_secret_sealed"`
	Scopes             []string `db:"-"`
	EmailClaim         string   `db:"email_claim"`
	NameClaim          string   `db:"name_claim"`
	GroupsClaim        string   `db:"groups_claim"`
	RoleMapping        string   `db:"role_mapping"`
	DefaultRole        string   `db:"default_role"`
	Domains            []string `db:"-"`
	// SAML connections: the identity provider's metadata (fetched from
	// SAMLMetadataURL, or SAMLMetadataXML as given), and Puguh's own
	// service-provider key (sealed like the client secret) and certificate
	// (PEM). Issuer holds the identity provider's entity ID.
	SAMLMetadataURL   string    `db:"saml_metadata_url"`
	SAMLMetadataXML   string    `db:"saml_metadata_xml"`
	SAMLSPKeySealed   []byte    `db:"saml_sp_key_sealed"`
	SAMLSPCertificate string    `db:"saml_sp_certificate"`
	CreatedAt         time.Time `db:"created_at"`
	UpdatedAt         time.Time `db:"updated_at"`
}

// FederatedIdentity links an upstream account (the provider's subject) to a
// Puguh user.
type FederatedIdentity struct {
	ConnectionID string    `db:"connection_id"`
	Subject      string    `db:"subject"`
	UserID       string    `db:"user_id"`
	CreatedAt    time.Time `db:"created_at"`
}

// FederatedSession marks an SSO session that began at an upstream provider.
type FederatedSession struct {
	SessionID     string `db:"session_id"`
	ConnectionID  string `db:"connection_id"`
	IDP           string `db:"idp"`
	EndSessionURL string `db:"end_session_url"`
}

// FederationStore keeps federation connections, their domains, linked
// identities and federated sessions.
type FederationStore interface {
	// CreateConnection stores c with its domains in one transaction;
	// ErrConflict if a domain belongs to another connection.
	CreateConnection(ctx context.Context, c *FederationConnection) error
	// UpdateConnection rewrites c and replaces its domains; ErrNotFound,
	// ErrConflict as CreateConnection.
	UpdateConnection(ctx context.Context, c *FederationConnection) error
	// ConnectionByID finds a connection whatever its organization.
	ConnectionByID(ctx context.Context, id string) (*FederationConnection, error)
	// ConnectionByDomain finds the connection a domain signs in through.
	ConnectionByDomain(ctx context.Context, domain string) (*FederationConnection, error)
	ListConnections(ctx context.Context, orgID string) ([]FederationConnection, error)
	DeleteConnection(ctx context.Context, orgID, id string) error

	// FederatedIdentity finds the user linked to an upstream subject.
	FederatedIdentity(ctx context.Context, connectionID, subject string) (*FederatedIdentity, error)
	// LinkIdentity stores a link; ErrConflict if the subject is linked already.
	LinkIdentity(ctx context.Context, fi *FederatedIdentity) error

	CreateFederatedSession(ctx context.Context, fs *FederatedSession) error
	FederatedSession(ctx context.Context, sessionID string) (*FederatedSession, error)

	// ConsumeSAMLAssertion records that the connection accepted the
	// assertion, until expiresAt; ErrConflict if it did already (a replay).
	// Records expired before now are deleted on the way.
	ConsumeSAMLAssertion(ctx context.Context, connectionID, assertionID string, expiresAt, now time.Time) error
}
