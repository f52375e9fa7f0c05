package storage

import (
	"context"
	"time"
)

// Invitation states. A pending invitation past its ExpiresAt is expired
// whatever its Status says (InvitationState).
const (
	InvitationPending  = "pending"
	InvitationAccepted = "accepted"
	InvitationRevoked  = "revoked"
	InvitationExpired  = "expired"
)

// Invitation asks the owner of an email address to join an organization
// with a role. Only the SHA-256 of the link's token is stored.
type Invitation struct {
	ID             string `db:"id"` // a UUIDv7: ids sort by creation
	OrganizationID string `db:"organization_id"`
	Email          string `db:"email"` // normalised
	Role           string `db:"role"`
	TokenHash      []byte `db:"token_hash"`
	Status         string `db:"status"`
	// InvitedByType and InvitedByID name who invited (a user, an API key or
	// a service account).
	InvitedByType string    `db:"invited_by_type"`
	InvitedByID   string    `db:"invited_by_id"`
	CreatedAt     time.Time `db:"created_at"`
	ExpiresAt     time.Time `db:"expires_at"`
	// EndedAt is when it was accepted, revoked or replaced; AcceptedBy the
	// user who accepted it.
	EndedAt    *time.Time `db:"ended_at"`
	AcceptedBy *string    `db:"accepted_by"`
}

// State is the invitation's status at now: a pending one past its expiry
// is InvitationExpired.
func (i *Invitation) State(now time.Time) string {
	if i.Status == InvitationPending && !now.Before(i.ExpiresAt) {
		return InvitationExpired
	}
	return i.Status
}

// InvitationStore keeps invitations.
type InvitationStore interface {
	// CreateInvitation stores inv (Status pending). A pending invitation of
	// the same organization and address that expired before now is marked
	// expired first; ErrConflict if one is still pending (or the token hash
	// is taken).
	CreateInvitation(ctx context.Context, inv *Invitation, now time.Time) error
	// InvitationByTokenHash finds an invitation by its token's hash, in any
	// state; ErrNotFound if there is none.
	InvitationByTokenHash(ctx context.Context, hash []byte) (*Invitation, error)
	// PendingInvitations pages through the organization's invitations that
	// are pending and unexpired at now, in id (creation) order; After is an id.
	PendingInvitations(ctx context.Context, orgID string, now time.Time, page Page) ([]Invitation, error)
	// PendingInvitation returns the organization's invitation id if it is
	// pending and unexpired at now; ErrNotFound otherwise.
	PendingInvitation(ctx context.Context, orgID, id string, now time.Time) (*Invitation, error)
	// RevokeInvitation marks a pending, unexpired invitation revoked at at;
	// ErrNotFound if there is none.
	RevokeInvitation(ctx context.Context, orgID, id string, at time.Time) error
	// AcceptInvitation, in one transaction, marks the invitation id accepted
	// by m.UserID at at and adds the membership m (its organization and
	// role are the invitation's). ErrPrecondition if the invitation is not
	// pending and unexpired at at (so two racing accepts cannot both win);
	// ErrConflict, and nothing changed, if the user is already a member.
	AcceptInvitation(ctx context.Context, id string, m *Membership, at time.Time) error
	// DeleteEndedInvitations deletes invitations that ended (accepted,
	// revoked, or expired) before t and counts them.
	DeleteEndedInvitations(ctx context.Context, t time.Time) (int64, error)
}
