package oauthstore

import (
	"database/sql"
	"errors"
	"fmt"

	"github.com/ory/fosite"

	"github.com/arsaka/puguh/storage"
	"github.com/arsaka/puguh/storage/sqlstore"
)

// fail is every error the store returns: what it was doing, and the cause in
// the terms of the layers above (dbError).
func fail(op string, err error) error {
	return fmt.Errorf("oauthstore: %s: %w", op, dbError(err))
}

// dbError translates what the database driver answered, keeping the driver's
// error in the chain for the logs, so that callers never need to know which
// database is behind the store:
//   - a missing row is fosite.ErrNotFound, which fosite answers with
//     invalid_grant or an inactive token;
//   - a connection failure (the database down, restarting or unreachable, or
//     SQLite's lock held too long) is storage.ErrUnavailable, which the
//     endpoints answer with 503 and Retry-After instead of 500.
//
// Errors that already carry a sentinel, fosite's own included, pass unchanged.
func dbError(err error) error {
	switch {
	case err == nil, errors.Is(err, storage.ErrUnavailable), errors.Is(err, fosite.ErrNotFound):
		return err
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("%w: %w", fosite.ErrNotFound, err)
	case sqlstore.IsUnavailable(err):
		return fmt.Errorf("%w: %w", storage.ErrUnavailable, err)
	}
	return err
}
