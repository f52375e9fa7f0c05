package storage

import (
	"context"
	"time"
)

// UserConsent is one application a user consented to, as the user sees it:
// the application's name, the scopes granted, and when the grant was last
// used (the newest authorization or refresh-token rotation of its families;
// nil when none is known).
type UserConsent struct {
	ApplicationID   string
	ApplicationName string
	Scopes          []string
	GrantedAt       time.Time
	UpdatedAt       time.Time
	LastUsedAt      *time.Time
}

// Ownership is one organization a user belongs to, with their role and how
// many members and owners it has: what deleting the user would do to it.
type Ownership struct {
	ID       string `db:"id"`
	Name     string `db:"name"`
	Personal bool   `db:"personal"`
	Role     string `db:"role"`
	Members  int    `db:"members"`
	Owners   int    `db:"owners"`
}

// LifecycleStore erases accounts and lists a user's consents.
type LifecycleStore interface {
	// ConsentsOfUser lists the applications the user consented to, oldest first.
	ConsentsOfUser(ctx context.Context, userID string) ([]UserConsent, error)
	// OwnershipOfUser describes each organization the user belongs to, oldest first.
	OwnershipOfUser(ctx context.Context, userID string) ([]Ownership, error)
	// DeleteUser erases the user and everything stored about them in one
	// transaction: the row (and with it memberships, sessions, consents,
	// second factors, email tokens, federated identities), their browser and
	// OAuth records, and the organizations in deleteOrgs (those the user
	// alone belonged to). Audit events naming the user keep their ids but
	// lose the request's address and user agent. ErrNotFound if there is no
	// such user.
	DeleteUser(ctx context.Context, userID string, deleteOrgs []string) error
}
