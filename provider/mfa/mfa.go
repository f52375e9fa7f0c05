// Package mfa holds the rules of multi-factor sign-in: TOTP authenticators
// and their recovery codes, the short-lived challenge between a password and
// the second factor, and what a sign-in proved (its RFC 8176 "amr" values and
// the "acr" they reach). Like the other domain packages it takes the acting
// principal and plain values and returns results or problem errors; the REST
// API and the pages are adapters over the same calls. Secrets are sealed at
// rest (SecretBox), recovery codes and challenges are stored only as
// digests, and every factor added, removed or used is an audit event.
package mfa

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/arsaka/puguh/provider/audit"
	"github.com/arsaka/puguh/provider/authz"
	"github.com/arsaka/puguh/provider/problem"
	"github.com/arsaka/puguh/storage"
)

// Store is what the service reads and writes.
type Store interface {
	UserByID(ctx context.Context, id string) (*storage.User, error)

	SaveTOTP(ctx context.Context, f *storage.TOTPFactor) error
	TOTPByUser(ctx context.Context, userID string) (*storage.TOTPFactor, error)
	ConfirmTOTP(ctx context.Context, userID string, step int64, at time.Time, codeHashes []string) error
	UseTOTPStep(ctx context.Context, userID string, step int64) (bool, error)
	DeleteTOTP(ctx context.Context, userID string) error

	ReplaceRecoveryCodes(ctx context.Context, userID string, codeHashes []string, at time.Time) error
	UseRecoveryCode(ctx context.Context, userID, codeHash string, at time.Time) (bool, error)
	RecoveryCodesLeft(ctx context.Context, userID string) (int, error)

	CreateMFAChallenge(ctx context.Context, c *storage.MFAChallenge) error
	MFAChallengeByID(ctx context.Context, id string, now time.Time) (*storage.MFAChallenge, error)
	CountMFAChallengeAttempt(ctx context.Context, id string) (int, error)
	ConsumeMFAChallenge(ctx context.Context, id string) (bool, error)

	WebAuthnCredentialsOfUser(ctx context.Context, userID string) ([]storage.WebAuthnCredential, error)
}

// SecretBox seals secrets at rest (keys.Box: AES-256-GCM under a key
// derived from PUGUH_SECRET), each bound to the id it was sealed for.
type SecretBox interface {
	Seal(id string, plaintext []byte) ([]byte, error)
	Open(id string, sealed []byte) ([]byte, error)
}

// Passwords checks a password (identity.SignIn.CheckPassword: timing-safe,
// throttled per account), for the re-authentication that removing a factor
// asks for.
type Passwords interface {
	CheckPassword(ctx context.Context, email, password string) (*storage.User, error)
}

// Throttle limits guesses per key (ratelimit.Accounts, the sign-in throttle:
// failures spend the budget, a success gives its attempt back).
type Throttle interface {
	Attempt(ctx context.Context, key string) error
	Succeeded(ctx context.Context, key string) error
}

// Service applies the rules of second factors.
type Service struct {
	Store     Store
	Box       SecretBox
	Passwords Passwords
	// Throttle limits second-factor guesses per user; nil: none.
	Throttle Throttle
	// Audit records factors added, removed and used; nil: audit.Discard.
	Audit audit.Recorder
	// Issuer is the name authenticator apps show next to the account (the
	// host of PUGUH_ISSUER).
	Issuer string
	Now    func() time.Time
}

func (s *Service) now() time.Time {
	if s.Now == nil {
		return time.Now().UTC()
	}
	return s.Now().UTC()
}

func (s *Service) record(ctx context.Context, e audit.Event) {
	if s.Audit != nil {
		s.Audit.Record(ctx, e)
	}
}

// Factor names, as audit details, the REST API and the pages use them.
const (
	FactorTOTP         = "totp"
	FactorRecoveryCode = "recovery_code"
	FactorPasskey      = "passkey"
)

// Status is what second factors a user has.
type Status struct {
	TOTP bool `json:"totp"`
	// RecoveryCodesLeft counts the unused recovery codes.
	RecoveryCodesLeft int `json:"recovery_codes_left"`
	// Passkeys counts the registered passkeys.
	Passkeys int `json:"passkeys"`
}

// Enabled reports whether the user has any second factor.
func (st *Status) Enabled() bool { return st.TOTP || st.Passkeys > 0 }

// self checks that p is a signed-in user acting on their own account.
func self(p *authz.Principal) error {
	if p == nil || p.Type != authz.TypeUser || p.ID == "" {
		return problem.Forbid("Only a signed-in user can manage their own second factors")
	}
	return nil
}

// Status returns the second factors of the acting user.
func (s *Service) Status(ctx context.Context, p *authz.Principal) (*Status, error) {
	if err := self(p); err != nil {
		return nil, err
	}
	return s.StatusOf(ctx, p.ID)
}

// StatusOf returns the second factors of a user, for the sign-in flow.
func (s *Service) StatusOf(ctx context.Context, userID string) (*Status, error) {
	var st Status
	f, err := s.Store.TOTPByUser(ctx, userID)
	switch {
	case err == nil:
		st.TOTP = f.ConfirmedAt != nil
	case !errors.Is(err, storage.ErrNotFound):
		return nil, fmt.Errorf("mfa: status: %w", err)
	}
	if st.TOTP {
		if st.RecoveryCodesLeft, err = s.Store.RecoveryCodesLeft(ctx, userID); err != nil {
			return nil, fmt.Errorf("mfa: status: %w", err)
		}
	}
	creds, err := s.Store.WebAuthnCredentialsOfUser(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("mfa: status: %w", err)
	}
	st.Passkeys = len(creds)
	return &st, nil
}

// reauthenticate checks the acting user's password again before a factor
// is removed, so a session left open is not enough to weaken the account.
func (s *Service) reauthenticate(ctx context.Context, userID string, password *string) error {
	if password == nil || *password == "" {
		return problem.Invalidf(problem.Issue{Loc: []any{"password"}, Msg: "field required", Type: "value_error.missing"})
	}
	u, err := s.Store.UserByID(ctx, userID)
	if err != nil {
		return fmt.Errorf("mfa: reauthenticate: %w", err)
	}
	checked, err := s.Passwords.CheckPassword(ctx, u.Email, *password)
	if problem.Is(err, problem.Unauthenticated) {
		return problem.Forbid("The password is not correct")
	}
	if err != nil {
		return err
	}
	if checked.ID != userID {
		return problem.Forbid("The password is not correct")
	}
	return nil
}
