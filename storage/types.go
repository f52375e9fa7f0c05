package storage

import "time"

// Plan names of an organization. Rate limits per plan live with the limiter.
const (
	PlanFree       = "free"
	PlanPro        = "pro"
	PlanBusiness   = "business"
	PlanEnterprise = "enterprise"
)

// Built-in role names. Roles map to permission strings in package authz.
const (
	RoleOwner  = "owner"
	RoleAdmin  = "admin"
	RoleMember = "member"
	RoleViewer = "viewer"
)

// User is a human account. Email is stored normalised (trimmed, lower-cased);
// the database enforces its uniqueness.
type User struct {
	ID           string    `db:"id"`
	Email        string    `db:"email"`
	FullName     string    `db:"full_name"`
	PasswordHash string    `db:"password_hash"` // argon2id in PHC string format
	Disabled     bool      `db:"disabled"`
	CreatedAt    time.Time `db:"created_at"`
	UpdatedAt    time.Time `db:"updated_at"`
}

// Organization is a tenant. Every user has a personal one; RateLimit is the
// custom requests-per-minute figure of the enterprise plan (0 elsewhere).
type Organization struct {
	ID        string    `db:"id"`
	Name      string    `db:"name"`
	Plan      string    `db:"plan"`
	RateLimit int       `db:"rate_limit"`
	Personal  bool      `db:"personal"`
	CreatedAt time.Time `db:"created_at"`
	UpdatedAt time.Time `db:"updated_at"`
}

// Membership puts a user in an organization with one role.
type Membership struct {
	OrganizationID string    `db:"organization_id"`
	UserID         string    `db:"user_id"`
	Role           string    `db:"role"`
	CreatedAt      time.Time `db:"created_at"`
}

// Member is a membership joined with the user it names, for listings.
type Member struct {
	Membership
	Email    string `db:"email"`
	FullName string `db:"full_name"`
}

// UserOrganization is an organization seen from one member, with that member's role.
type UserOrganization struct {
	Organization
	Role string `db:"role"`
}

// APIKey is a long-lived credential of one organization. Only a hash of the
// secret is stored. A key is created by a user or belongs to a service account.
type APIKey struct {
	ID             string   `db:"id"`
	OrganizationID string   `db:"organization_id"`
	Name           string   `db:"name"`
	Prefix         string   `db:"prefix"` // the first characters of the key, shown in listings
	Hash           []byte   `db:"hash"`
	Permissions    []string `db:"-"`
	// Role is the role the key was created with, which bounds the roles it
	// may hand out; empty for a key given explicit permissions (its rank is
	// then what they imply, authz.Set.ImpliedRole).
	Role             string     `db:"role"`
	CreatedBy        string     `db:"created_by"` // user id of the creator
	ServiceAccountID *string    `db:"service_account_id"`
	CreatedAt        time.Time  `db:"created_at"`
	LastUsedAt       *time.Time `db:"last_used_at"`
	ExpiresAt        *time.Time `db:"expires_at"`
	RevokedAt        *time.Time `db:"revoked_at"`
}

// ServiceAccount is a non-human principal of an organization with a role like a
// member's. ClientID/SecretHash are its OAuth client credentials.
type ServiceAccount struct {
	ID             string    `db:"id"`
	OrganizationID string    `db:"organization_id"`
	Name           string    `db:"name"`
	Role           string    `db:"role"`
	ClientID       string    `db:"client_id"`
	SecretHash     []byte    `db:"secret_hash"`
	CreatedBy      string    `db:"created_by"`
	CreatedAt      time.Time `db:"created_at"`
}

// Application is an OAuth 2.0 client registered by an organization.
// Its ID is the client_id. Public clients have no secret.
type Application struct {
	ID                      string   `db:"id"`
	OrganizationID          string   `db:"organization_id"`
	Name                    string   `db:"name"`
	SecretHash              []byte   `db:"secret_hash"`
	RedirectURIs            []string `db:"-"`
	PostLogoutRedirectURIs  []string `db:"-"`
	GrantTypes              []string `db:"-"`
	ResponseTypes           []string `db:"-"`
	Scopes                  []string `db:"-"`
	TokenEndpointAuthMethod string   `db:"token_endpoint_auth_method"`
	// IDTokenSignedResponseAlg and AccessTokenSignedResponseAlg are the JWS
	// algorithms of the application's ID tokens and access tokens: RS256
	// (the default, also for an empty value), ES256 or EdDSA.
	IDTokenSignedResponseAlg     string    `db:"id_token_signed_response_alg"`
	AccessTokenSignedResponseAlg string    `db:"access_token_signed_response_alg"`
	Public                       bool      `db:"public"`
	Trusted                      bool      `db:"trusted"`
	CreatedAt                    time.Time `db:"created_at"`
	UpdatedAt                    time.Time `db:"updated_at"`
	// Version is raised by every update; an update applies only to the
	// version it was read at (storage.ApplicationStore.UpdateApplication).
	Version int `db:"version"`
}

// Signing key states, in lifecycle order. A removed key is deleted from the table.
const (
	KeyStateNext    = "next"
	KeyStateActive  = "active"
	KeyStateRetired = "retired"
)

// SigningKey is one key pair (RS256, ES256 or EdDSA: Algorithm). The private key is stored only encrypted
// (AES-GCM under a key derived from PUGUH_SECRET); package keys owns the format.
type SigningKey struct {
	KID              string     `db:"kid"`
	Algorithm        string     `db:"algorithm"`
	State            string     `db:"state"`
	PrivateKeySealed []byte     `db:"private_key_sealed"`
	PublicKeyDER     []byte     `db:"public_key_der"` // PKIX, for publishing without decrypting
	CreatedAt        time.Time  `db:"created_at"`
	ActivatedAt      *time.Time `db:"activated_at"`
	RetiredAt        *time.Time `db:"retired_at"`
	RemoveAfter      *time.Time `db:"remove_after"`
}

// Page asks for at most Limit rows after the opaque position After (empty: the start).
type Page struct {
	After string
	Limit int
}

// Denial is one entry of the denylist of access tokens (package
// storage/revocation owns the meaning of Key). Seq grows with every write of
// an entry, so readers can ask for what changed since the last Seq they saw.
type Denial struct {
	Seq   int64     `db:"seq"`
	Key   string    `db:"key"`
	Until time.Time `db:"expires_at"`
}
