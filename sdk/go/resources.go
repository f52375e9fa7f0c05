package puguh

import (
	"context"
	"errors"
	"iter"
)

// HealthService is GET /api/v1/health.
type HealthService struct{ c *Client }

// Check (getHealth) reports whether Puguh's database (and Redis) answer. With
// credentials the server also checks them and echoes the caller as
// Principal: the guide's "Test API Key". A 503 is a *ServerError whose Body
// is the Health object.
func (s *HealthService) Check(ctx context.Context, opts ...RequestOption) (*Health, error) {
	var out Health
	if _, err := s.c.do(ctx, call{op: "getHealth", out: &out, opts: opts}); err != nil {
		return nil, err
	}
	return &out, nil
}

// AuthService is the REST sign-in flow with the client as the session: Login
// stores the token pair, every later call sends its access token, an expired
// one is refreshed with the stored refresh token, Logout ends it.
type AuthService struct{ c *Client }

// Register (register) creates a user and their personal organization. It
// does not sign in. Anonymous.
func (s *AuthService) Register(ctx context.Context, body RegisterRequest, opts ...RequestOption) (*Registration, error) {
	var out Registration
	if _, err := s.c.do(ctx, call{op: "register", body: body, out: &out, opts: opts}); err != nil {
		return nil, err
	}
	return &out, nil
}

// Login (login) signs in; the client keeps the pair and acts as the user
// from now on. Anonymous.
func (s *AuthService) Login(ctx context.Context, body LoginRequest, opts ...RequestOption) (*TokenPair, error) {
	var out TokenPair
	if _, err := s.c.do(ctx, call{op: "login", body: body, out: &out, opts: opts}); err != nil {
		return nil, err
	}
	if err := s.c.tokens.store(ctx, out); err != nil {
		return &out, err
	}
	return &out, nil
}

// Refresh (refresh) renews the session with refreshToken, or with the stored
// one when refreshToken is "". The new pair replaces the stored one: the old
// refresh token is used up. Anonymous.
func (s *AuthService) Refresh(ctx context.Context, refreshToken string, opts ...RequestOption) (*TokenPair, error) {
	if refreshToken == "" {
		refreshToken = s.c.tokens.currentRefresh()
	}
	if refreshToken == "" {
		return nil, errNoRefreshToken
	}
	var out TokenPair
	body := map[string]string{"refresh_token": refreshToken}
	if _, err := s.c.do(ctx, call{op: "refresh", body: body, out: &out, opts: opts}); err != nil {
		return nil, err
	}
	if err := s.c.tokens.store(ctx, out); err != nil {
		return &out, err
	}
	return &out, nil
}

// Logout (logout) ends the session on the server: the access token and its
// whole refresh family stop working. The client forgets both tokens once the
// server has answered, also when it answers 401 (the token was dead already).
func (s *AuthService) Logout(ctx context.Context, opts ...RequestOption) error {
	_, err := s.c.do(ctx, call{op: "logout", opts: opts})
	if err == nil || IsUnauthorized(err) {
		s.c.tokens.clear()
	}
	return err
}

// OrganizationsService is /api/v1/organizations.
type OrganizationsService struct {
	c           *Client
	Members     *MembersService
	Connections *ConnectionsService
	Invitations *OrgInvitationsService
}

// List (listOrganizations): every organization the user belongs to (with
// their role), or the credential's one.
func (s *OrganizationsService) List(ctx context.Context, opts ...RequestOption) (*Page[Organization], error) {
	return list[Organization](ctx, s.c, call{op: "listOrganizations", opts: opts}, PageParams{})
}

// ListAutoPaging walks every organization, fetching pages as it goes.
func (s *OrganizationsService) ListAutoPaging(ctx context.Context, opts ...RequestOption) iter.Seq2[Organization, error] {
	return autoPaging(ctx, func(ctx context.Context) (*Page[Organization], error) { return s.List(ctx, opts...) })
}

// Create (createOrganization): the calling user becomes its owner (users only).
func (s *OrganizationsService) Create(ctx context.Context, body CreateOrganizationRequest, opts ...RequestOption) (*Organization, error) {
	return one[Organization](ctx, s.c, call{op: "createOrganization", body: body, opts: opts})
}

// Get (getOrganization).
func (s *OrganizationsService) Get(ctx context.Context, organizationID string, opts ...RequestOption) (*Organization, error) {
	return one[Organization](ctx, s.c, call{op: "getOrganization", path: []string{organizationID}, opts: opts})
}

// SetPlan (setOrganizationPlan): platform operators only.
func (s *OrganizationsService) SetPlan(ctx context.Context, organizationID string, body PlanRequest, opts ...RequestOption) (*Plan, error) {
	return one[Plan](ctx, s.c, call{op: "setOrganizationPlan", path: []string{organizationID}, body: body, opts: opts})
}

// MembersService is /api/v1/organizations/{id}/members.
type MembersService struct{ c *Client }

// List (listMembers): a page of the organization's members.
func (s *MembersService) List(ctx context.Context, organizationID string, params PageParams, opts ...RequestOption) (*Page[Member], error) {
	return list[Member](ctx, s.c, call{op: "listMembers", path: []string{organizationID}, opts: opts}, params)
}

// ListAutoPaging walks every member, fetching pages as it goes.
func (s *MembersService) ListAutoPaging(ctx context.Context, organizationID string, params PageParams, opts ...RequestOption) iter.Seq2[Member, error] {
	return autoPaging(ctx, func(ctx context.Context) (*Page[Member], error) { return s.List(ctx, organizationID, params, opts...) })
}

// Add (addMember) adds an existing user by email with a role no higher than the caller's.
func (s *MembersService) Add(ctx context.Context, organizationID string, body AddMemberRequest, opts ...RequestOption) (*Member, error) {
	return one[Member](ctx, s.c, call{op: "addMember", path: []string{organizationID}, body: body, opts: opts})
}

// Update (updateMember) changes a member's role.
func (s *MembersService) Update(ctx context.Context, organizationID, userID string, body UpdateMemberRequest, opts ...RequestOption) (*Member, error) {
	return one[Member](ctx, s.c, call{op: "updateMember", path: []string{organizationID, userID}, body: body, opts: opts})
}

// Remove (removeMember).
func (s *MembersService) Remove(ctx context.Context, organizationID, userID string, opts ...RequestOption) error {
	_, err := s.c.do(ctx, call{op: "removeMember", path: []string{organizationID, userID}, opts: opts})
	return err
}

// IAMService is /api/v1/iam.
type IAMService struct{ Users *UsersService }

// UsersService is /api/v1/iam/users: the users of the current organization;
// Consents are the signed-in user's connected applications.
type UsersService struct {
	c        *Client
	Consents *ConsentsService
}

// List (listUsers): a page of the current organization's members.
func (s *UsersService) List(ctx context.Context, params PageParams, opts ...RequestOption) (*Page[Member], error) {
	return list[Member](ctx, s.c, call{op: "listUsers", opts: opts}, params)
}

// ListAutoPaging walks every user of the current organization, fetching pages as it goes.
func (s *UsersService) ListAutoPaging(ctx context.Context, params PageParams, opts ...RequestOption) iter.Seq2[Member, error] {
	return autoPaging(ctx, func(ctx context.Context) (*Page[Member], error) { return s.List(ctx, params, opts...) })
}

// Me (getMe): the caller, a user's profile, or the API key or service account.
func (s *UsersService) Me(ctx context.Context, opts ...RequestOption) (*Me, error) {
	return one[Me](ctx, s.c, call{op: "getMe", opts: opts})
}

// Disable (disableUser) ends the user's sessions and tokens.
func (s *UsersService) Disable(ctx context.Context, userID string, opts ...RequestOption) (*UserState, error) {
	return one[UserState](ctx, s.c, call{op: "disableUser", path: []string{userID}, opts: opts})
}

// Enable (enableUser) restores sign-in (ended sessions stay ended).
func (s *UsersService) Enable(ctx context.Context, userID string, opts ...RequestOption) (*UserState, error) {
	return one[UserState](ctx, s.c, call{op: "enableUser", path: []string{userID}, opts: opts})
}

// APIKeysService is /api/v1/api-keys.
type APIKeysService struct{ c *Client }

// List (listAPIKeys): the organization's keys that are not revoked; never a secret.
func (s *APIKeysService) List(ctx context.Context, opts ...RequestOption) (*Page[APIKey], error) {
	return list[APIKey](ctx, s.c, call{op: "listAPIKeys", opts: opts}, PageParams{})
}

// ListAutoPaging walks every key.
func (s *APIKeysService) ListAutoPaging(ctx context.Context, opts ...RequestOption) iter.Seq2[APIKey, error] {
	return autoPaging(ctx, func(ctx context.Context) (*Page[APIKey], error) { return s.List(ctx, opts...) })
}

// Create (createAPIKey): a key for the calling user (users only). Key is the
// secret, in this answer only.
func (s *APIKeysService) Create(ctx context.Context, body APIKeyRequest, opts ...RequestOption) (*CreatedAPIKey, error) {
	return one[CreatedAPIKey](ctx, s.c, call{op: "createAPIKey", body: body, opts: opts})
}

// Revoke (revokeAPIKey): the key stops working at once.
func (s *APIKeysService) Revoke(ctx context.Context, apiKeyID string, opts ...RequestOption) error {
	_, err := s.c.do(ctx, call{op: "revokeAPIKey", path: []string{apiKeyID}, opts: opts})
	return err
}

// Rotate (rotateAPIKey): a new key with the same name, role and
// permissions (its secret in this answer only); the old one works until
// ReplacedKeyEndsAt (body.Overlap: default 24h, at most 168h, "0s" at once).
func (s *APIKeysService) Rotate(ctx context.Context, apiKeyID string, body RotateRequest, opts ...RequestOption) (*RotatedAPIKey, error) {
	return one[RotatedAPIKey](ctx, s.c, call{op: "rotateAPIKey", path: []string{apiKeyID}, body: body, opts: opts})
}

// ServiceAccountsService is /api/v1/service-accounts. Their tokens come from
// the oauth package's client credentials.
type ServiceAccountsService struct{ c *Client }

// List (listServiceAccounts); never a secret.
func (s *ServiceAccountsService) List(ctx context.Context, opts ...RequestOption) (*Page[ServiceAccount], error) {
	return list[ServiceAccount](ctx, s.c, call{op: "listServiceAccounts", opts: opts}, PageParams{})
}

// ListAutoPaging walks every service account.
func (s *ServiceAccountsService) ListAutoPaging(ctx context.Context, opts ...RequestOption) iter.Seq2[ServiceAccount, error] {
	return autoPaging(ctx, func(ctx context.Context) (*Page[ServiceAccount], error) { return s.List(ctx, opts...) })
}

// Create (createServiceAccount), users only. ClientSecret is in this answer only.
func (s *ServiceAccountsService) Create(ctx context.Context, body CreateServiceAccountRequest, opts ...RequestOption) (*CreatedServiceAccount, error) {
	return one[CreatedServiceAccount](ctx, s.c, call{op: "createServiceAccount", body: body, opts: opts})
}

// Get (getServiceAccount).
func (s *ServiceAccountsService) Get(ctx context.Context, serviceAccountID string, opts ...RequestOption) (*ServiceAccount, error) {
	return one[ServiceAccount](ctx, s.c, call{op: "getServiceAccount", path: []string{serviceAccountID}, opts: opts})
}

// Delete (deleteServiceAccount) revokes its keys and tokens too.
func (s *ServiceAccountsService) Delete(ctx context.Context, serviceAccountID string, opts ...RequestOption) error {
	_, err := s.c.do(ctx, call{op: "deleteServiceAccount", path: []string{serviceAccountID}, opts: opts})
	return err
}

// CreateAPIKey (createServiceAccountAPIKey): a key that acts as the account
// (users only); the same body as APIKeys.Create.
func (s *ServiceAccountsService) CreateAPIKey(ctx context.Context, serviceAccountID string, body APIKeyRequest, opts ...RequestOption) (*CreatedAPIKey, error) {
	return one[CreatedAPIKey](ctx, s.c, call{op: "createServiceAccountAPIKey", path: []string{serviceAccountID}, body: body, opts: opts})
}

// RotateSecret (rotateServiceAccountSecret): a new client secret (in this
// answer only); the previous one works until PreviousSecretEndsAt
// (body.Overlap: default 24h, at most 168h, "0s" at once).
func (s *ServiceAccountsService) RotateSecret(ctx context.Context, serviceAccountID string, body RotateRequest, opts ...RequestOption) (*RotatedServiceAccountSecret, error) {
	return one[RotatedServiceAccountSecret](ctx, s.c, call{op: "rotateServiceAccountSecret", path: []string{serviceAccountID}, body: body, opts: opts})
}

// ApplicationsService is /api/v1/applications: the organization's OAuth clients.
type ApplicationsService struct {
	c      *Client
	Grants *GrantsService
}

// List (listApplications).
func (s *ApplicationsService) List(ctx context.Context, opts ...RequestOption) (*Page[Application], error) {
	return list[Application](ctx, s.c, call{op: "listApplications", opts: opts}, PageParams{})
}

// ListAutoPaging walks every application.
func (s *ApplicationsService) ListAutoPaging(ctx context.Context, opts ...RequestOption) iter.Seq2[Application, error] {
	return autoPaging(ctx, func(ctx context.Context) (*Page[Application], error) { return s.List(ctx, opts...) })
}

// Create (createApplication): a confidential client's ClientSecret is in this answer only.
func (s *ApplicationsService) Create(ctx context.Context, body ApplicationFields, opts ...RequestOption) (*Application, error) {
	return one[Application](ctx, s.c, call{op: "createApplication", body: body, opts: opts})
}

// Get (getApplication).
func (s *ApplicationsService) Get(ctx context.Context, applicationID string, opts ...RequestOption) (*Application, error) {
	return one[Application](ctx, s.c, call{op: "getApplication", path: []string{applicationID}, opts: opts})
}

// Update (updateApplication): only the fields sent change.
func (s *ApplicationsService) Update(ctx context.Context, applicationID string, body ApplicationFields, opts ...RequestOption) (*Application, error) {
	return one[Application](ctx, s.c, call{op: "updateApplication", path: []string{applicationID}, body: body, opts: opts})
}

// Delete (deleteApplication) revokes every token it was issued.
func (s *ApplicationsService) Delete(ctx context.Context, applicationID string, opts ...RequestOption) error {
	_, err := s.c.do(ctx, call{op: "deleteApplication", path: []string{applicationID}, opts: opts})
	return err
}

// RotateSecret (rotateApplicationSecret): the old secret stops at once; 409 for public clients.
func (s *ApplicationsService) RotateSecret(ctx context.Context, applicationID string, opts ...RequestOption) (*RotatedSecret, error) {
	return one[RotatedSecret](ctx, s.c, call{op: "rotateApplicationSecret", path: []string{applicationID}, opts: opts})
}

// GrantsService is /api/v1/applications/grants: the consents users gave one
// application, named by X-Application-ID (WithApplicationID on the call, else
// the client's). Without one the call fails before sending anything.
type GrantsService struct{ c *Client }

// List (listGrants).
func (s *GrantsService) List(ctx context.Context, opts ...RequestOption) (*Page[Grant], error) {
	return list[Grant](ctx, s.c, call{op: "listGrants", application: true, opts: opts}, PageParams{})
}

// ListAutoPaging walks every grant.
func (s *GrantsService) ListAutoPaging(ctx context.Context, opts ...RequestOption) iter.Seq2[Grant, error] {
	return autoPaging(ctx, func(ctx context.Context) (*Page[Grant], error) { return s.List(ctx, opts...) })
}

// Revoke (revokeGrant): the user's consent and their tokens for the application.
func (s *GrantsService) Revoke(ctx context.Context, userID string, opts ...RequestOption) error {
	_, err := s.c.do(ctx, call{op: "revokeGrant", path: []string{userID}, application: true, opts: opts})
	return err
}

func one[T any](ctx context.Context, c *Client, k call) (*T, error) {
	var out T
	k.out = &out
	if _, err := c.do(ctx, k); err != nil {
		return nil, err
	}
	return &out, nil
}

// errNoRefreshToken: Auth.Refresh without a token to refresh with.
var errNoRefreshToken = errors.New("puguh: auth refresh: no refresh token: log in first, or pass one")
