package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/arsaka/puguh/storage"
)

var _ storage.UserStore = (*Store)(nil)

const userColumns = `id, email, full_name, password_hash, disabled, created_at, updated_at, email_verified_at`

// Register creates u, its personal organization and u's owner membership in one
// transaction, so a user never exists without an organization to act in.
// ErrConflict if the email is taken, compared case-insensitively. Zero
// timestamps are set to the time of the call.
func (s *Store) Register(ctx context.Context, u *storage.User, personal *storage.Organization) error {
	now := time.Now()
	stamp(now, &u.CreatedAt, &u.UpdatedAt, &personal.CreatedAt, &personal.UpdatedAt)
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO users (`+userColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
			u.ID, u.Email, u.FullName, u.PasswordHash, u.Disabled, utc(u.CreatedAt), utc(u.UpdatedAt), utcPtr(u.EmailVerifiedAt)); err != nil {
			return fmt.Errorf("register user: %w", mapError(err))
		}
		if err := s.insertOrganization(ctx, tx, personal); err != nil {
			return fmt.Errorf("register: %w", err)
		}
		owner := storage.Membership{OrganizationID: personal.ID, UserID: u.ID, Role: storage.RoleOwner, CreatedAt: u.CreatedAt}
		if err := s.insertMembership(ctx, tx, &owner); err != nil {
			return fmt.Errorf("register: %w", err)
		}
		return nil
	})
}

// UserByID returns the user with id, or ErrNotFound.
func (s *Store) UserByID(ctx context.Context, id string) (*storage.User, error) {
	var u storage.User
	if err := s.get(ctx, &u, s.rebind(`SELECT `+userColumns+` FROM users WHERE id = ?`), id); err != nil {
		return nil, fmt.Errorf("user by id: %w", mapError(err))
	}
	return &u, nil
}

// UserByEmail looks the email up case-insensitively; the unique index on
// lower(email) serves the query and guarantees at most one match.
func (s *Store) UserByEmail(ctx context.Context, email string) (*storage.User, error) {
	var u storage.User
	if err := s.get(ctx, &u, s.rebind(`SELECT `+userColumns+` FROM users WHERE lower(email) = lower(?)`), email); err != nil {
		return nil, fmt.Errorf("user by email: %w", mapError(err))
	}
	return &u, nil
}

// UpdateUserProfile sets the user's full name. ErrNotFound if there is no such user.
func (s *Store) UpdateUserProfile(ctx context.Context, id, fullName string) error {
	res, err := s.db.ExecContext(ctx, s.rebind(`UPDATE users SET full_name = ?, updated_at = ? WHERE id = ?`),
		fullName, utc(time.Now()), id)
	if err != nil {
		return fmt.Errorf("update user profile: %w", mapError(err))
	}
	if err := oneRow(res); err != nil {
		return fmt.Errorf("update user profile: %w", err)
	}
	return nil
}

// UpdateUserPassword replaces the user's password hash. ErrNotFound if there is no such user.
func (s *Store) UpdateUserPassword(ctx context.Context, id, passwordHash string) error {
	res, err := s.db.ExecContext(ctx, s.rebind(`UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?`),
		passwordHash, utc(time.Now()), id)
	if err != nil {
		return fmt.Errorf("update user password: %w", mapError(err))
	}
	if err := oneRow(res); err != nil {
		return fmt.Errorf("update user password: %w", err)
	}
	return nil
}

// SetUserDisabled disables or enables the user. ErrNotFound if there is no such user.
func (s *Store) SetUserDisabled(ctx context.Context, id string, disabled bool) error {
	res, err := s.db.ExecContext(ctx, s.rebind(`UPDATE users SET disabled = ?, updated_at = ? WHERE id = ?`),
		disabled, utc(time.Now()), id)
	if err != nil {
		return fmt.Errorf("set user disabled: %w", mapError(err))
	}
	if err := oneRow(res); err != nil {
		return fmt.Errorf("set user disabled: %w", err)
	}
	return nil
}
