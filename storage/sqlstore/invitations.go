package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/arsaka/puguh/storage"
)

var _ storage.InvitationStore = (*Store)(nil)

const invitationColumns = `id, organization_id, email, role, token_hash, status, invited_by_type, invited_by_id,
	created_at, expires_at, ended_at, accepted_by`

// CreateInvitation stores inv as pending. An expired pending invitation of
// the same organization and address is marked expired in the same
// transaction, so the unique index on pending invitations only ever refuses
// one that still works: ErrConflict.
func (s *Store) CreateInvitation(ctx context.Context, inv *storage.Invitation, now time.Time) error {
	inv.Status = storage.InvitationPending
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE invitations SET status = ?, ended_at = expires_at
			WHERE organization_id = ? AND email = ? AND status = ? AND expires_at <= ?`),
			storage.InvitationExpired, inv.OrganizationID, inv.Email, storage.InvitationPending, utc(now)); err != nil {
			return fmt.Errorf("create invitation: %w", mapError(err))
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO invitations (`+invitationColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			inv.ID, inv.OrganizationID, inv.Email, inv.Role, inv.TokenHash, inv.Status, inv.InvitedByType, inv.InvitedByID,
			utc(inv.CreatedAt), utc(inv.ExpiresAt), utcPtr(inv.EndedAt), inv.AcceptedBy); err != nil {
			return fmt.Errorf("create invitation: %w", mapError(err))
		}
		return nil
	})
}

// InvitationByTokenHash finds an invitation by its token's hash, in any state.
func (s *Store) InvitationByTokenHash(ctx context.Context, hash []byte) (*storage.Invitation, error) {
	var inv storage.Invitation
	if err := s.get(ctx, &inv, s.rebind(`SELECT `+invitationColumns+` FROM invitations WHERE token_hash = ?`), hash); err != nil {
		return nil, fmt.Errorf("invitation by token: %w", mapError(err))
	}
	return &inv, nil
}

// PendingInvitations pages through the organization's pending, unexpired
// invitations in id order (UUIDv7 ids: creation order).
func (s *Store) PendingInvitations(ctx context.Context, orgID string, now time.Time, page storage.Page) ([]storage.Invitation, error) {
	limit := page.Limit
	if limit <= 0 {
		limit = defaultPageLimit
	}
	out := []storage.Invitation{}
	if err := s.db.SelectContext(ctx, &out, s.rebind(`SELECT `+invitationColumns+` FROM invitations
		WHERE organization_id = ? AND status = ? AND expires_at > ? AND id > ?
		ORDER BY id LIMIT ?`), orgID, storage.InvitationPending, utc(now), page.After, limit); err != nil {
		return nil, fmt.Errorf("pending invitations: %w", mapError(err))
	}
	return out, nil
}

// PendingInvitation returns the organization's invitation id if it is
// pending and unexpired at now.
func (s *Store) PendingInvitation(ctx context.Context, orgID, id string, now time.Time) (*storage.Invitation, error) {
	var inv storage.Invitation
	if err := s.get(ctx, &inv, s.rebind(`SELECT `+invitationColumns+` FROM invitations
		WHERE organization_id = ? AND id = ? AND status = ? AND expires_at > ?`),
		orgID, id, storage.InvitationPending, utc(now)); err != nil {
		return nil, fmt.Errorf("pending invitation: %w", mapError(err))
	}
	return &inv, nil
}

// RevokeInvitation marks a pending, unexpired invitation revoked.
func (s *Store) RevokeInvitation(ctx context.Context, orgID, id string, at time.Time) error {
	res, err := s.db.ExecContext(ctx, s.rebind(`UPDATE invitations SET status = ?, ended_at = ?
		WHERE organization_id = ? AND id = ? AND status = ? AND expires_at > ?`),
		storage.InvitationRevoked, utc(at), orgID, id, storage.InvitationPending, utc(at))
	if err != nil {
		return fmt.Errorf("revoke invitation: %w", mapError(err))
	}
	if err := oneRow(res); err != nil {
		return fmt.Errorf("revoke invitation: %w", err)
	}
	return nil
}

// AcceptInvitation ends the invitation and adds the membership in one
// transaction. The conditional UPDATE is what decides between racing
// accepts: only the one that changed the row goes on to add the member.
func (s *Store) AcceptInvitation(ctx context.Context, id string, m *storage.Membership, at time.Time) error {
	stamp(at, &m.CreatedAt)
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, s.rebind(`UPDATE invitations SET status = ?, ended_at = ?, accepted_by = ?
			WHERE id = ? AND organization_id = ? AND status = ? AND expires_at > ?`),
			storage.InvitationAccepted, utc(at), m.UserID, id, m.OrganizationID, storage.InvitationPending, utc(at))
		if err != nil {
			return fmt.Errorf("accept invitation: %w", mapError(err))
		}
		if err := oneRow(res); errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("accept invitation: %w: not pending", storage.ErrPrecondition)
		} else if err != nil {
			return fmt.Errorf("accept invitation: %w", err)
		}
		if err := s.insertMembership(ctx, tx, m); err != nil {
			return fmt.Errorf("accept invitation: %w", err)
		}
		return nil
	})
}

// DeleteEndedInvitations deletes invitations that ended, or expired, before t.
func (s *Store) DeleteEndedInvitations(ctx context.Context, t time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, s.rebind(`DELETE FROM invitations
		WHERE (status <> ? AND ended_at < ?) OR expires_at < ?`), storage.InvitationPending, utc(t), utc(t))
	if err != nil {
		return 0, fmt.Errorf("delete ended invitations: %w", mapError(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, errors.Join(errors.New("delete ended invitations"), err)
	}
	return n, nil
}
