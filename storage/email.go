package storage

import (
	"context"
	"time"
)

// Purposes of email tokens.
const (
	EmailTokenVerify = "verify_email"
	EmailTokenReset  = "password_reset"
	// EmailTokenChange confirms a new address: the token's Email becomes
	// the user's address when the link is used.
	EmailTokenChange = "change_email"
)

// EmailToken is a one-time link mailed to a user: the SHA-256 of the link's
// random token (the token itself is never stored), what it is for, the user
// and the address it was sent to, and its expiry.
type EmailToken struct {
	Hash      []byte    `db:"token_hash"`
	Purpose   string    `db:"purpose"`
	UserID    string    `db:"user_id"`
	Email     string    `db:"email"`
	CreatedAt time.Time `db:"created_at"`
	ExpiresAt time.Time `db:"expires_at"`
}

// EmailTokenStore keeps email tokens and the verified state of addresses.
type EmailTokenStore interface {
	CreateEmailToken(ctx context.Context, t *EmailToken) error
	// ConsumeEmailToken deletes the token of purpose with hash and returns it;
	// ErrNotFound if there is none or it expired before now.
	ConsumeEmailToken(ctx context.Context, purpose string, hash []byte, now time.Time) (*EmailToken, error)
	// EmailToken returns the unexpired token of purpose with hash without
	// using it; ErrNotFound if there is none.
	EmailToken(ctx context.Context, purpose string, hash []byte, now time.Time) (*EmailToken, error)
	// DeleteEmailTokens deletes every token of the user for purpose.
	DeleteEmailTokens(ctx context.Context, userID, purpose string) error
	// DeleteExpiredEmailTokens deletes tokens expired before now and counts them.
	DeleteExpiredEmailTokens(ctx context.Context, now time.Time) (int64, error)
	// SetEmailVerified marks the user's address verified at at, if it is
	// still email (compared case-insensitively); ErrNotFound otherwise.
	SetEmailVerified(ctx context.Context, userID, email string, at time.Time) error
	// ChangeUserEmail makes email the user's address, verified at at.
	// ErrConflict if another account has it; ErrNotFound if there is no such user.
	ChangeUserEmail(ctx context.Context, userID, email string, at time.Time) error
}
