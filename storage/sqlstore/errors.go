package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/arsaka/puguh/storage"
)

// mapError translates driver errors into the storage sentinels, keeping the
// original error in the chain for logs.
func mapError(err error) error {
	if err == nil {
		return nil
	}
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("%w: %w", storage.ErrNotFound, err)
	case isUniqueViolation(err):
		return fmt.Errorf("%w: %w", storage.ErrConflict, err)
	case isBadText(err):
		// Invalid UTF-8 or a malformed value in a lookup key (a header, a path
		// id): PostgreSQL refuses the bytes, and no row can match them.
		return fmt.Errorf("%w: %w", storage.ErrNotFound, err)
	case isForeignKeyViolation(err):
		// The row refers to a parent (organization, user, service account) that does
		// not exist: to the caller that is the parent not being found.
		return fmt.Errorf("%w: %w", storage.ErrNotFound, err)
	case isUnavailable(err):
		return fmt.Errorf("%w: %w", storage.ErrUnavailable, err)
	}
	return err
}

func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505"
	}
	var sqliteErr *sqlite.Error
	if errors.As(err, &sqliteErr) {
		code := sqliteErr.Code()
		return code == sqlite3.SQLITE_CONSTRAINT_UNIQUE || code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// isBadText is PostgreSQL refusing a value: 22021 character not in repertoire
// (invalid UTF-8), 22P02 invalid text representation.
func isBadText(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "22021" || pgErr.Code == "22P02")
}

func isForeignKeyViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23503"
	}
	var sqliteErr *sqlite.Error
	if errors.As(err, &sqliteErr) {
		return sqliteErr.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
	}
	return false
}

// IsUnavailable reports whether err is the database being unreachable. Code
// that gets driver errors without going through this package's mapping
// (fosite's storage in storage/oauthstore) uses it to answer 503, not 500.
func IsUnavailable(err error) bool { return err != nil && isUnavailable(err) }

// isUnavailable reports connection-level failures: the database is down, restarting
// or unreachable, as opposed to a bad query.
func isUnavailable(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return true
	}
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// Class 08: connection exception; 57P01..57P03: admin shutdown, crash shutdown, cannot connect now.
		return strings.HasPrefix(pgErr.Code, "08") || pgErr.Code == "57P01" || pgErr.Code == "57P02" || pgErr.Code == "57P03"
	}
	// A connection cut mid-query (the server was killed) surfaces as an unexpected
	// EOF, a closed pgx connection, or database/sql giving up on bad connections.
	if errors.Is(err, sql.ErrConnDone) || errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, pgconn.ErrConnClosed) {
		return true
	}
	var sqliteErr *sqlite.Error
	if errors.As(err, &sqliteErr) {
		code := sqliteErr.Code() & 0xff
		return code == sqlite3.SQLITE_BUSY || code == sqlite3.SQLITE_LOCKED || code == sqlite3.SQLITE_IOERR || code == sqlite3.SQLITE_CANTOPEN || code == sqlite3.SQLITE_FULL
	}
	return false
}

// connectError is a PostgreSQL server that could not be reached or would not
// let Puguh in, told in one line: pgx reports every address and TLS attempt
// on lines of their own, which says the same thing several times over.
type connectError struct {
	msg string
	err error
}

func (e *connectError) Error() string   { return e.msg }
func (e *connectError) Unwrap() []error { return []error{storage.ErrUnavailable, e.err} }

// connectFailure turns a failed first connection into a connectError naming
// the server, database and user (never the password) and the first cause.
func connectFailure(err error) error {
	var ce *pgconn.ConnectError
	if !errors.As(err, &ce) || ce.Config == nil {
		return err
	}
	where := fmt.Sprintf("PostgreSQL at %s (database %q, user %q)", net.JoinHostPort(ce.Config.Host, fmt.Sprint(ce.Config.Port)),
		ce.Config.Database, ce.Config.User)
	return &connectError{msg: "cannot connect to " + where + ": " + connectCause(ce), err: err}
}

// connectCause is the first reason in a connection error's tree: the server's
// own message, or what the network said.
func connectCause(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Message + " (SQLSTATE " + pgErr.Code + ")"
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno.Error()
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return dnsErr.Error()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timed out"
	}
	// Otherwise the innermost error of the first attempt.
	for {
		var next error
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			next = u.Unwrap()
		case interface{ Unwrap() []error }:
			if errs := u.Unwrap(); len(errs) > 0 {
				next = errs[0]
			}
		}
		if next == nil {
			return strings.ReplaceAll(err.Error(), "\n", " ")
		}
		err = next
	}
}
