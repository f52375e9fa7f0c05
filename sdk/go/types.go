package puguh

import "time"

// The request and result types are the REST API's JSON objects
// (provider/rest/openapi.yaml), with the same snake_case names in their json
// tags: what the REST docs show is what the SDK takes and returns.

// Role is an organization role.
type Role string

// The roles, highest first.
const (
	RoleOwner  Role = "owner"
	RoleAdmin  Role = "admin"
	RoleMember Role = "member"
	RoleViewer Role = "viewer"
)

// Plan names.
const (
	PlanFree       = "free"
	PlanPro        = "pro"
	PlanBusiness   = "business"
	PlanEnterprise = "enterprise"
)

// Ptr returns a pointer to v, for the optional fields of request bodies
// (ApplicationFields.Public and the like).
func Ptr[T any](v T) *T { return &v }

// Health is GET /api/v1/health.
type Health struct {
	Status    string     `json:"status"`   // ok, unavailable
	Database  string     `json:"database"` // ok, unavailable
	Redis     string     `json:"redis"`    // ok, unavailable, disabled
	Principal *Principal `json:"principal,omitempty"`
}

// Principal is the caller, echoed by the health check when credentials were sent.
type Principal struct {
	Type           string `json:"type"` // user, service_account, api_key
	ID             string `json:"id"`
	OrganizationID string `json:"organization_id"`
}

// RegisterRequest is the body of POST /api/v1/auth/register.
type RegisterRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	FullName string `json:"full_name"`
}

// Registration is a new user and their personal organization.
type Registration struct {
	UserID         string `json:"user_id"`
	Email          string `json:"email"`
	OrganizationID string `json:"organization_id"`
}

// LoginRequest is the body of POST /api/v1/auth/login.
type LoginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// TokenPair is the answer of a login or a refresh.
type TokenPair struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	// MFAEnrollment is set by a login within an organization's grace period
	// to set up a second factor: until when, and for whom.
	MFAEnrollment *MFAEnrollmentNotice `json:"mfa_enrollment,omitempty"`
}

// MFAEnrollmentNotice tells a login that a second factor is required from Deadline.
type MFAEnrollmentNotice struct {
	Required      bool                    `json:"required"`
	Deadline      time.Time               `json:"deadline"`
	Organizations []RequiringOrganization `json:"organizations"`
	EnrollURL     string                  `json:"enroll_url"`
}

// Organization is one organization, with the caller's role in it.
type Organization struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Plan      string    `json:"plan"`
	Personal  bool      `json:"personal"`
	Role      Role      `json:"role,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// CreateOrganizationRequest is the body of POST /api/v1/organizations.
type CreateOrganizationRequest struct {
	Name string `json:"name"`
}

// PlanRequest is the body of PATCH /api/v1/organizations/{id}/plan.
type PlanRequest struct {
	Plan      string `json:"plan"`
	RateLimit int    `json:"rate_limit,omitempty"` // requests a minute; 0: the plan's
}

// Plan is an organization's plan and rate limit (the JS SDK's OrganizationPlan).
type Plan struct {
	OrganizationID    string `json:"organization_id"`
	Plan              string `json:"plan"`
	RateLimit         int    `json:"rate_limit"`
	RequestsPerMinute int    `json:"requests_per_minute"`
}

// Member is a user of an organization.
type Member struct {
	UserID    string    `json:"user_id"`
	Email     string    `json:"email"`
	FullName  string    `json:"full_name"`
	Role      Role      `json:"role"`
	CreatedAt time.Time `json:"created_at"`
}

// AddMemberRequest is the body of POST /api/v1/organizations/{id}/members.
type AddMemberRequest struct {
	Email string `json:"email"`
	Role  Role   `json:"role"`
}

// UpdateMemberRequest is the body of PATCH /api/v1/organizations/{id}/members/{user_id}.
type UpdateMemberRequest struct {
	Role Role `json:"role"`
}

// Me is the caller: a user's profile, or the API key or service account.
type Me struct {
	ID             string     `json:"id"`
	Type           string     `json:"type"` // user, service_account, api_key
	Email          string     `json:"email,omitempty"`
	FullName       string     `json:"full_name,omitempty"`
	EmailVerified  *bool      `json:"email_verified,omitempty"` // users only
	OrganizationID string     `json:"organization_id"`
	Role           Role       `json:"role,omitempty"`
	Permissions    []string   `json:"permissions"`
	CreatedAt      *time.Time `json:"created_at,omitempty"`
}

// UserState is a user after disable or enable.
type UserState struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	FullName  string    `json:"full_name"`
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"created_at"`
}

// APIKeyRequest is the body of POST /api/v1/api-keys and
// POST /api/v1/service-accounts/{id}/api-keys. Give Role or Permissions, not
// both; with neither the key gets its creator's.
type APIKeyRequest struct {
	Name        string     `json:"name"`
	ExpiresAt   *time.Time `json:"expires_at,omitempty"`
	Role        Role       `json:"role,omitempty"`
	Permissions []string   `json:"permissions,omitempty"`
}

// APIKey is a key as listed: never its secret.
type APIKey struct {
	ID               string     `json:"id"`
	Name             string     `json:"name"`
	Prefix           string     `json:"prefix"`
	Permissions      []string   `json:"permissions"`
	Role             *Role      `json:"role"`
	CreatedBy        string     `json:"created_by"`
	ServiceAccountID *string    `json:"service_account_id"`
	CreatedAt        time.Time  `json:"created_at"`
	LastUsedAt       *time.Time `json:"last_used_at"`
	ExpiresAt        *time.Time `json:"expires_at"`
	// ReplacedBy and RotationEndsAt are set once the key is rotated: its
	// successor, and when this key stops working.
	ReplacedBy     *string    `json:"replaced_by"`
	RotationEndsAt *time.Time `json:"rotation_ends_at"`
	AgeDays        int        `json:"age_days"`
	RotationDue    bool       `json:"rotation_due"` // 90 days old or more: rotate it
}

// CreatedAPIKey is a new key with its secret (pgh_…), shown in this answer only.
type CreatedAPIKey struct {
	APIKey
	Key string `json:"key"`
}

// CreateServiceAccountRequest is the body of POST /api/v1/service-accounts.
type CreateServiceAccountRequest struct {
	Name string `json:"name"`
	Role Role   `json:"role"`
}

// ServiceAccount is a non-human identity of an organization.
type ServiceAccount struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Role      Role      `json:"role"`
	ClientID  string    `json:"client_id"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	// SecretCreatedAt is when the current client secret was made;
	// PreviousSecretEndsAt until when the one it replaced still works.
	SecretCreatedAt      time.Time  `json:"secret_created_at"`
	PreviousSecretEndsAt *time.Time `json:"previous_secret_ends_at"`
	RotationDue          bool       `json:"rotation_due"`
}

// CreatedServiceAccount is a new service account with its client secret
// (pghs_…), shown in this answer only.
type CreatedServiceAccount struct {
	ServiceAccount
	ClientSecret string `json:"client_secret"`
}

// ApplicationFields is the body of POST and PATCH /api/v1/applications. On
// create, omitted fields take defaults; on PATCH, omitted fields stay as they
// are. A nil slice is omitted; an empty non-nil one is sent (and clears).
type ApplicationFields struct {
	Name                    string   `json:"name,omitempty"`
	RedirectURIs            []string `json:"redirect_uris,omitzero"`
	PostLogoutRedirectURIs  []string `json:"post_logout_redirect_uris,omitzero"`
	GrantTypes              []string `json:"grant_types,omitzero"`
	ResponseTypes           []string `json:"response_types,omitzero"`
	Scopes                  []string `json:"scopes,omitzero"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method,omitempty"` // client_secret_basic, client_secret_post, none
	Public                  *bool    `json:"public,omitempty"`
	Trusted                 *bool    `json:"trusted,omitempty"`
	// The JWS algorithms of the application's ID tokens and access tokens:
	// RS256 (the default), ES256 or EdDSA, among the server's enabled ones.
	IDTokenSignedResponseAlg     string `json:"id_token_signed_response_alg,omitempty"`
	AccessTokenSignedResponseAlg string `json:"access_token_signed_response_alg,omitempty"`
}

// Application is an OAuth client of an organization. ClientSecret is set only
// in the answer that created the secret (a confidential client's creation).
type Application struct {
	ID                      string    `json:"id"`
	ClientID                string    `json:"client_id"`
	Name                    string    `json:"name"`
	RedirectURIs            []string  `json:"redirect_uris"`
	PostLogoutRedirectURIs  []string  `json:"post_logout_redirect_uris"`
	GrantTypes              []string  `json:"grant_types"`
	ResponseTypes           []string  `json:"response_types"`
	Scopes                  []string  `json:"scopes"`
	TokenEndpointAuthMethod string    `json:"token_endpoint_auth_method"`
	Public                  bool      `json:"public"`
	Trusted                 bool      `json:"trusted"`
	CreatedAt               time.Time `json:"created_at"`
	UpdatedAt               time.Time `json:"updated_at"`
	ClientSecret            string    `json:"client_secret,omitempty"`
	// IDTokenSignedResponseAlg and AccessTokenSignedResponseAlg: RS256, ES256 or EdDSA.
	IDTokenSignedResponseAlg     string `json:"id_token_signed_response_alg,omitempty"`
	AccessTokenSignedResponseAlg string `json:"access_token_signed_response_alg,omitempty"`
}

// RotatedSecret is an application's new client secret.
type RotatedSecret struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
}

// Grant is the consent a user gave an application.
type Grant struct {
	UserID    string    `json:"user_id"`
	Email     string    `json:"email"`
	Scopes    []string  `json:"scopes"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// PageParams is the query of a paginated list: Limit 1 to 100 (0: the
// server's default, 50), Cursor from a previous page's NextCursor.
type PageParams struct {
	Limit  int
	Cursor string
}

// RotateRequest is the body of POST /api/v1/api-keys/{id}/rotate and
// POST /api/v1/service-accounts/{id}/rotate-secret: how long the old
// credential keeps working, as a duration ("24h", the default when empty;
// at most "168h"; "0s" for a compromised one).
type RotateRequest struct {
	Overlap string `json:"overlap,omitempty"`
}

// RotatedAPIKey is a rotation's answer: the new key with its secret (shown
// in this answer only), and when the key it replaces stops working.
type RotatedAPIKey struct {
	CreatedAPIKey
	Replaces          string    `json:"replaces"`
	ReplacedKeyEndsAt time.Time `json:"replaced_key_ends_at"`
}

// RotatedServiceAccountSecret is a service account's new client secret
// (shown in this answer only) and when the previous one stops working.
type RotatedServiceAccountSecret struct {
	ClientID             string    `json:"client_id"`
	ClientSecret         string    `json:"client_secret"`
	PreviousSecretEndsAt time.Time `json:"previous_secret_ends_at"`
}
