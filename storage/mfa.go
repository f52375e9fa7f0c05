package storage

import (
	"context"
	"time"
)

// TOTPFactor is a user's TOTP authenticator. SecretSealed is the secret
// encrypted at rest (never the secret itself). ConfirmedAt is nil while the
// enrolment waits for its first code. LastStep is the newest time step a
// code was accepted for.
type TOTPFactor struct {
	UserID       string     `db:"user_id"`
	SecretSealed []byte     `db:"secret_sealed"`
	LastStep     int64      `db:"last_step"`
	CreatedAt    time.Time  `db:"created_at"`
	ConfirmedAt  *time.Time `db:"confirmed_at"`
}

// MFAChallenge is a pending step of a sign-in: the second factor after a
// password, or a WebAuthn ceremony. ID is the SHA-256 hex digest of the
// secret the client holds. AMR is what the user has proved so far
// (space-separated), Data the ceremony's state.
type MFAChallenge struct {
	ID        string    `db:"id"`
	UserID    string    `db:"user_id"`
	Kind      string    `db:"kind"`
	AMR       string    `db:"amr"`
	Data      string    `db:"data"`
	Attempts  int       `db:"attempts"`
	CreatedAt time.Time `db:"created_at"`
	ExpiresAt time.Time `db:"expires_at"`
}

// WebAuthnCredential is a registered passkey. ID is the credential id,
// base64url without padding.
type WebAuthnCredential struct {
	ID              string     `db:"id"`
	UserID          string     `db:"user_id"`
	Name            string     `db:"name"`
	PublicKey       []byte     `db:"public_key"`
	AttestationType string     `db:"attestation_type"`
	AAGUID          []byte     `db:"aaguid"`
	SignCount       uint32     `db:"sign_count"`
	Transports      string     `db:"transports"` // space-separated
	BackupEligible  bool       `db:"backup_eligible"`
	BackupState     bool       `db:"backup_state"`
	CloneWarning    bool       `db:"clone_warning"`
	CreatedAt       time.Time  `db:"created_at"`
	LastUsedAt      *time.Time `db:"last_used_at"`
}

// MFAPolicy is an organization's rule that its members use a second factor.
// RequiredSince is when Required was last turned on; members without a
// factor may sign in until RequiredSince plus GracePeriod.
type MFAPolicy struct {
	OrganizationID string        `db:"organization_id"`
	Required       bool          `db:"required"`
	GracePeriod    time.Duration `db:"-"`
	RequiredSince  *time.Time    `db:"required_since"`
	UpdatedAt      time.Time     `db:"updated_at"`
}

// MFAStore keeps second factors, recovery codes, sign-in challenges,
// passkeys and organization policies.
type MFAStore interface {
	// SaveTOTP stores an unconfirmed factor, replacing an unconfirmed one of
	// the same user. ErrConflict if the user has a confirmed factor,
	// ErrNotFound if the user does not exist.
	SaveTOTP(ctx context.Context, f *TOTPFactor) error
	// TOTPByUser returns the user's factor, confirmed or not; ErrNotFound if none.
	TOTPByUser(ctx context.Context, userID string) (*TOTPFactor, error)
	// ConfirmTOTP marks the unconfirmed factor confirmed at at, records step
	// as its last step and replaces the user's recovery codes with codeHashes,
	// in one transaction. ErrNotFound if there is no unconfirmed factor.
	ConfirmTOTP(ctx context.Context, userID string, step int64, at time.Time, codeHashes []string) error
	// UseTOTPStep records step as the confirmed factor's last step if it is
	// newer than the one recorded; false if it is not (a replay).
	UseTOTPStep(ctx context.Context, userID string, step int64) (bool, error)
	// DeleteTOTP deletes the factor and the user's recovery codes. ErrNotFound
	// if the user has no factor.
	DeleteTOTP(ctx context.Context, userID string) error

	// ReplaceRecoveryCodes replaces the user's recovery codes.
	ReplaceRecoveryCodes(ctx context.Context, userID string, codeHashes []string, at time.Time) error
	// UseRecoveryCode marks the unused code spent at at; false if the user
	// has no such unused code.
	UseRecoveryCode(ctx context.Context, userID, codeHash string, at time.Time) (bool, error)
	// RecoveryCodesLeft counts the user's unused recovery codes.
	RecoveryCodesLeft(ctx context.Context, userID string) (int, error)

	// CreateMFAChallenge stores c. ErrConflict if the id is taken.
	CreateMFAChallenge(ctx context.Context, c *MFAChallenge) error
	// MFAChallengeByID returns the challenge if it has not expired at now;
	// ErrNotFound otherwise.
	MFAChallengeByID(ctx context.Context, id string, now time.Time) (*MFAChallenge, error)
	// CountMFAChallengeAttempt adds one attempt to the challenge and returns
	// the attempts counted so far; ErrNotFound if it is gone.
	CountMFAChallengeAttempt(ctx context.Context, id string) (int, error)
	// ConsumeMFAChallenge deletes the challenge; false if it was gone already
	// (so of two requests consuming it at once, one wins).
	ConsumeMFAChallenge(ctx context.Context, id string) (bool, error)
	// (Expired challenges go with SessionStore.DeleteExpiredSessions.)

	// CreateWebAuthnCredential stores c. ErrConflict if the id is taken.
	CreateWebAuthnCredential(ctx context.Context, c *WebAuthnCredential) error
	// WebAuthnCredentialByID returns the credential; ErrNotFound if none.
	WebAuthnCredentialByID(ctx context.Context, id string) (*WebAuthnCredential, error)
	// WebAuthnCredentialsOfUser lists the user's credentials, oldest first.
	WebAuthnCredentialsOfUser(ctx context.Context, userID string) ([]WebAuthnCredential, error)
	// UseWebAuthnCredential records a sign-in: the new counter, the backup
	// state, a clone warning, and the time.
	UseWebAuthnCredential(ctx context.Context, id string, signCount uint32, backupState, cloneWarning bool, at time.Time) error
	// DeleteWebAuthnCredential deletes the user's credential; ErrNotFound if
	// the user has no such credential.
	DeleteWebAuthnCredential(ctx context.Context, userID, id string) error

	// MFAPolicy returns the organization's policy; a zero policy (not
	// required) when it has none.
	MFAPolicy(ctx context.Context, orgID string) (*MFAPolicy, error)
	// SaveMFAPolicy creates or replaces the organization's policy.
	SaveMFAPolicy(ctx context.Context, p *MFAPolicy) error
}
