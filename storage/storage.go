// Package storage holds Puguh's domain types, the store interfaces that the
// rest of the code consumes, and the sentinel errors every backend maps to.
//
// Backends live in sub-packages (storage/sqlstore for SQLite and PostgreSQL);
// the conformance suite in storage/storagetest runs against each of them.
package storage

import "errors"

// Sentinel errors. Backends wrap them with %w and context; callers use errors.Is.
var (
	// ErrNotFound means the row asked for does not exist (or is not visible to the caller).
	ErrNotFound = errors.New("not found")
	// ErrConflict means a uniqueness rule enforced by the database was violated,
	// such as a second user with the same email address.
	ErrConflict = errors.New("conflict")
	// ErrUnavailable means the database could not be reached. The HTTP layer turns it
	// into 503 with Retry-After instead of a 500, so clients know to try again.
	ErrUnavailable = errors.New("database unavailable")
	// ErrPrecondition means a compare-and-swap style update found the row in an
	// unexpected state (for example, another replica rotated the keys first).
	ErrPrecondition = errors.New("precondition failed")
)
