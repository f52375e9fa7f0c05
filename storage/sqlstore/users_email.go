package sqlstore

import (
	"context"
	"fmt"
	"time"
)

// ChangeUserEmail makes email the user's address, verified at at (a changed
// address is only ever set once its owner used the link mailed to it).
// ErrConflict if another account has the address (the unique index on
// lower(email) decides); ErrNotFound if there is no such user.
func (s *Store) ChangeUserEmail(ctx context.Context, userID, email string, at time.Time) error {
	res, err := s.db.ExecContext(ctx, s.rebind(`UPDATE users SET email = ?, email_verified_at = ?, updated_at = ? WHERE id = ?`),
		email, utc(at), utc(time.Now()), userID)
	if err != nil {
		return fmt.Errorf("change user email: %w", mapError(err))
	}
	if err := oneRow(res); err != nil {
		return fmt.Errorf("change user email: %w", err)
	}
	return nil
}
