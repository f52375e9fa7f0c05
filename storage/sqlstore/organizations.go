package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/arsaka/puguh/storage"
)

var _ storage.OrganizationStore = (*Store)(nil)

const organizationColumns = `id, name, plan, rate_limit, personal, created_at, updated_at`

// defaultPageLimit applies when a Page leaves Limit at zero, so a forgetful caller
// gets a bounded answer rather than a whole table.
const defaultPageLimit = 100

// CreateOrganization creates org with ownerUserID as its first owner, in one
// transaction, so no organization is ever visible without an owner.
// ErrNotFound if the user does not exist; ErrConflict if the id is taken.
// Zero timestamps are set to the time of the call.
func (s *Store) CreateOrganization(ctx context.Context, org *storage.Organization, ownerUserID string) error {
	stamp(time.Now(), &org.CreatedAt, &org.UpdatedAt)
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := s.insertOrganization(ctx, tx, org); err != nil {
			return fmt.Errorf("create organization: %w", err)
		}
		owner := storage.Membership{OrganizationID: org.ID, UserID: ownerUserID, Role: storage.RoleOwner, CreatedAt: org.CreatedAt}
		if err := s.insertMembership(ctx, tx, &owner); err != nil {
			return fmt.Errorf("create organization: %w", err)
		}
		return nil
	})
}

func (s *Store) insertOrganization(ctx context.Context, tx *sqlx.Tx, org *storage.Organization) error {
	if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO organizations (`+organizationColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?)`),
		org.ID, org.Name, org.Plan, org.RateLimit, org.Personal, utc(org.CreatedAt), utc(org.UpdatedAt)); err != nil {
		return fmt.Errorf("insert organization: %w", mapError(err))
	}
	return nil
}

func (s *Store) insertMembership(ctx context.Context, ex sqlx.ExecerContext, m *storage.Membership) error {
	if _, err := ex.ExecContext(ctx, s.rebind(`INSERT INTO memberships (organization_id, user_id, role, created_at)
		VALUES (?, ?, ?, ?)`),
		m.OrganizationID, m.UserID, m.Role, utc(m.CreatedAt)); err != nil {
		return fmt.Errorf("insert membership: %w", mapError(err))
	}
	return nil
}

// OrganizationByID returns the organization with id, or ErrNotFound.
func (s *Store) OrganizationByID(ctx context.Context, id string) (*storage.Organization, error) {
	var org storage.Organization
	if err := s.get(ctx, &org, s.rebind(`SELECT `+organizationColumns+` FROM organizations WHERE id = ?`), id); err != nil {
		return nil, fmt.Errorf("organization by id: %w", mapError(err))
	}
	return &org, nil
}

// OrganizationsOfUser lists the organizations userID belongs to with the user's
// role in each, oldest organization first. A user with none gets an empty list.
func (s *Store) OrganizationsOfUser(ctx context.Context, userID string) ([]storage.UserOrganization, error) {
	out := []storage.UserOrganization{}
	err := s.db.SelectContext(ctx, &out, s.rebind(`
		SELECT o.id, o.name, o.plan, o.rate_limit, o.personal, o.created_at, o.updated_at, m.role
		FROM memberships m JOIN organizations o ON o.id = m.organization_id
		WHERE m.user_id = ?
		ORDER BY o.created_at, o.id`), userID)
	if err != nil {
		return nil, fmt.Errorf("organizations of user: %w", mapError(err))
	}
	return out, nil
}

// SetPlan changes the organization's plan and its custom rate limit.
// ErrNotFound if there is no such organization.
func (s *Store) SetPlan(ctx context.Context, orgID, plan string, rateLimit int) error {
	res, err := s.db.ExecContext(ctx, s.rebind(`UPDATE organizations SET plan = ?, rate_limit = ?, updated_at = ? WHERE id = ?`),
		plan, rateLimit, utc(time.Now()), orgID)
	if err != nil {
		return fmt.Errorf("set plan: %w", mapError(err))
	}
	if err := oneRow(res); err != nil {
		return fmt.Errorf("set plan: %w", err)
	}
	return nil
}

// Membership returns userID's membership of orgID, or ErrNotFound.
func (s *Store) Membership(ctx context.Context, orgID, userID string) (*storage.Membership, error) {
	var m storage.Membership
	err := s.get(ctx, &m, s.rebind(`SELECT organization_id, user_id, role, created_at
		FROM memberships WHERE organization_id = ? AND user_id = ?`), orgID, userID)
	if err != nil {
		return nil, fmt.Errorf("membership: %w", mapError(err))
	}
	return &m, nil
}

// AddMember puts a user in an organization. ErrConflict if the user is already a
// member; ErrNotFound if the user or the organization does not exist.
func (s *Store) AddMember(ctx context.Context, m *storage.Membership) error {
	stamp(time.Now(), &m.CreatedAt)
	if err := s.insertMembership(ctx, s.db, m); err != nil {
		return fmt.Errorf("add member: %w", err)
	}
	return nil
}

// UpdateMemberRole changes a member's role. ErrNotFound if there is no such
// membership; ErrPrecondition if it would demote the organization's last owner.
func (s *Store) UpdateMemberRole(ctx context.Context, orgID, userID, role string) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		current, otherOwners, err := s.lockMembership(ctx, tx, orgID, userID)
		if err != nil {
			return fmt.Errorf("update member role: %w", err)
		}
		if current == storage.RoleOwner && role != storage.RoleOwner && otherOwners == 0 {
			return fmt.Errorf("update member role: %w: the organization would have no owner", storage.ErrPrecondition)
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE memberships SET role = ? WHERE organization_id = ? AND user_id = ?`),
			role, orgID, userID); err != nil {
			return fmt.Errorf("update member role: %w", mapError(err))
		}
		return nil
	})
}

// RemoveMember deletes a membership. ErrNotFound if there is no such membership;
// ErrPrecondition if the member is the organization's last owner.
func (s *Store) RemoveMember(ctx context.Context, orgID, userID string) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		current, otherOwners, err := s.lockMembership(ctx, tx, orgID, userID)
		if err != nil {
			return fmt.Errorf("remove member: %w", err)
		}
		if current == storage.RoleOwner && otherOwners == 0 {
			return fmt.Errorf("remove member: %w: the organization would have no owner", storage.ErrPrecondition)
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM memberships WHERE organization_id = ? AND user_id = ?`),
			orgID, userID); err != nil {
			return fmt.Errorf("remove member: %w", mapError(err))
		}
		return nil
	})
}

// lockMembership reads userID's role in orgID and counts the organization's other
// owners, locking the rows it read until tx ends. Without the locks two
// transactions could each demote one of two owners, each seeing the other owner
// still in place, and leave the organization with none.
//
// The owner rows are locked first, in user id order, and the member's own row
// second: every caller takes the locks in that order, so two of them cannot
// deadlock. A transaction that waited for an owner who was meanwhile removed or
// demoted reads the committed state after the wait (PostgreSQL re-checks locked
// rows under READ COMMITTED), so it counts the owners that are really left.
func (s *Store) lockMembership(ctx context.Context, tx *sqlx.Tx, orgID, userID string) (role string, otherOwners int, err error) {
	var owners []string
	if err := tx.SelectContext(ctx, &owners, s.rebind(`SELECT user_id FROM memberships
		WHERE organization_id = ? AND role = ? ORDER BY user_id`+s.forUpdate()),
		orgID, storage.RoleOwner); err != nil {
		return "", 0, fmt.Errorf("lock owners: %w", mapError(err))
	}
	if err := tx.GetContext(ctx, &role, s.rebind(`SELECT role FROM memberships
		WHERE organization_id = ? AND user_id = ?`+s.forUpdate()),
		orgID, userID); err != nil {
		return "", 0, fmt.Errorf("lock membership: %w", mapError(err))
	}
	for _, id := range owners {
		if id != userID {
			otherOwners++
		}
	}
	return role, otherOwners, nil
}

// ListMembers pages through the organization's members in user id order:
// page.After is the last user id of the previous page (empty: start), and
// page.Limit caps the page (zero or less: defaultPageLimit). Keyset paging stays
// correct while members are added or removed between pages.
func (s *Store) ListMembers(ctx context.Context, orgID string, page storage.Page) ([]storage.Member, error) {
	limit := page.Limit
	if limit <= 0 {
		limit = defaultPageLimit
	}
	out := []storage.Member{}
	err := s.db.SelectContext(ctx, &out, s.rebind(`
		SELECT m.organization_id, m.user_id, m.role, m.created_at, u.email, u.full_name
		FROM memberships m JOIN users u ON u.id = m.user_id
		WHERE m.organization_id = ? AND m.user_id > ?
		ORDER BY m.user_id
		LIMIT ?`), orgID, page.After, limit)
	if err != nil {
		return nil, fmt.Errorf("list members: %w", mapError(err))
	}
	return out, nil
}
