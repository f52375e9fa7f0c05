package storage

import (
	"context"
	"time"
)

// Store interfaces, one per aggregate. Consumers declare the narrower
// interfaces they need; these are the full sets a backend implements.

// UserStore keeps users, organizations and memberships.
type UserStore interface {
	// Register creates the user, its personal organization and the owner membership
	// in one transaction. ErrConflict if the email is taken.
	Register(ctx context.Context, u *User, personal *Organization) error
	UserByID(ctx context.Context, id string) (*User, error)
	// UserByEmail looks the email up case-insensitively.
	UserByEmail(ctx context.Context, email string) (*User, error)
	UpdateUserProfile(ctx context.Context, id, fullName string) error
	UpdateUserPassword(ctx context.Context, id, passwordHash string) error
	// SetUserDisabled disables or enables the user. ErrNotFound if there is no such user.
	SetUserDisabled(ctx context.Context, id string, disabled bool) error
}

// OrganizationStore keeps organizations and their members.
type OrganizationStore interface {
	// CreateOrganization creates org with owner as its first owner, in one transaction.
	CreateOrganization(ctx context.Context, org *Organization, ownerUserID string) error
	OrganizationByID(ctx context.Context, id string) (*Organization, error)
	// OrganizationsOfUser lists the organizations the user belongs to, oldest first.
	OrganizationsOfUser(ctx context.Context, userID string) ([]UserOrganization, error)
	SetPlan(ctx context.Context, orgID, plan string, rateLimit int) error

	Membership(ctx context.Context, orgID, userID string) (*Membership, error)
	AddMember(ctx context.Context, m *Membership) error // ErrConflict if already a member
	// UpdateMemberRole changes a role. ErrPrecondition if it would leave no owner.
	UpdateMemberRole(ctx context.Context, orgID, userID, role string) error
	// RemoveMember deletes a membership. ErrPrecondition if it is the last owner.
	RemoveMember(ctx context.Context, orgID, userID string) error
	// ListMembers pages through members ordered by user id; After is a user id.
	ListMembers(ctx context.Context, orgID string, page Page) ([]Member, error)
}

// APIKeyStore keeps API keys.
type APIKeyStore interface {
	CreateAPIKey(ctx context.Context, k *APIKey) error
	// APIKeyByHash finds a key by the hash of its secret, revoked or not.
	APIKeyByHash(ctx context.Context, hash []byte) (*APIKey, error)
	APIKeyByID(ctx context.Context, orgID, id string) (*APIKey, error)
	// ListAPIKeys lists the organization's keys that are not revoked, newest first.
	ListAPIKeys(ctx context.Context, orgID string) ([]APIKey, error)
	RevokeAPIKey(ctx context.Context, orgID, id string, at time.Time) error
	// TouchAPIKeys records last use for many keys at once (batched by the caller).
	TouchAPIKeys(ctx context.Context, lastUsed map[string]time.Time) error
}

// ServiceAccountStore keeps service accounts.
type ServiceAccountStore interface {
	CreateServiceAccount(ctx context.Context, sa *ServiceAccount) error
	ServiceAccountByID(ctx context.Context, orgID, id string) (*ServiceAccount, error)
	ServiceAccountByClientID(ctx context.Context, clientID string) (*ServiceAccount, error)
	ListServiceAccounts(ctx context.Context, orgID string) ([]ServiceAccount, error)
	// DeleteServiceAccount deletes the account and revokes its API keys in one transaction.
	DeleteServiceAccount(ctx context.Context, orgID, id string, at time.Time) error
}

// ApplicationStore keeps OAuth clients.
type ApplicationStore interface {
	CreateApplication(ctx context.Context, a *Application) error
	// ApplicationByID finds an application by client id, whatever its organization.
	ApplicationByID(ctx context.Context, id string) (*Application, error)
	ListApplications(ctx context.Context, orgID string) ([]Application, error)
	// UpdateApplication writes a if the stored row is still at a.Version
	// (the version a was read at) and raises a.Version; ErrPrecondition when
	// another update came first, ErrNotFound when there is no such application.
	UpdateApplication(ctx context.Context, a *Application) error
	DeleteApplication(ctx context.Context, orgID, id string) error
}

// SigningKeyStore keeps the signing keys of package keys. It holds at most one
// "active" and at most one "next" key at any time, also while several replicas
// write at once; retired keys may be many.
type SigningKeyStore interface {
	// SigningKeys lists every stored key, oldest first, ties broken by kid (in
	// the database's collation), so that every replica lists, and so
	// publishes, the keys in the same order.
	SigningKeys(ctx context.Context) ([]SigningKey, error)
	// InsertSigningKey stores a new key as given. ErrConflict if the kid
	// exists, or if the key is "active" or "next" and a key of its algorithm
	// in that state exists already: of replicas creating the first key, or the next one, at
	// the same time, one succeeds and the others get ErrConflict.
	InsertSigningKey(ctx context.Context, k *SigningKey) error
	// PromoteSigningKey makes nextKID active (ActivatedAt = at) and retires the
	// current active key of its algorithm, if any (RetiredAt = at, RemoveAfter =
	// retiredRemoveAfter), in one transaction. It is a compare-and-swap: only if
	// nextKID is still "next" and the active key is still activeKID (empty:
	// there is none); otherwise it changes nothing and returns ErrPrecondition,
	// as another replica got there first. Of replicas promoting at once,
	// exactly one succeeds.
	PromoteSigningKey(ctx context.Context, nextKID, activeKID string, at, retiredRemoveAfter time.Time) error
	// DeleteSigningKeysRemovableBefore deletes the retired keys whose
	// RemoveAfter is before t and returns how many it deleted. A retired key
	// without RemoveAfter, and a key that is not retired, is never deleted.
	DeleteSigningKeysRemovableBefore(ctx context.Context, t time.Time) (int64, error)
}
