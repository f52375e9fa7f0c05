package identity

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/arsaka/puguh/provider/audit"
	"github.com/arsaka/puguh/provider/password"
	"github.com/arsaka/puguh/provider/problem"
	"github.com/arsaka/puguh/storage"
)

// Accounts is what registration and sign-in read and write.
type Accounts interface {
	Register(ctx context.Context, u *storage.User, personal *storage.Organization) error
	UserByEmail(ctx context.Context, email string) (*storage.User, error)
	UpdateUserPassword(ctx context.Context, id, passwordHash string) error
	OrganizationsOfUser(ctx context.Context, userID string) ([]storage.UserOrganization, error)
	CreateOrganization(ctx context.Context, org *storage.Organization, ownerUserID string) error
}

// Throttle limits sign-in attempts per account (ratelimit.Accounts).
type Throttle interface {
	// Attempt takes one attempt from the account's budget, or returns the
	// Throttled problem.
	Attempt(ctx context.Context, normalizedEmail string) error
	// Succeeded gives the attempt back after a correct password: only
	// failures spend the budget.
	Succeeded(ctx context.Context, normalizedEmail string) error
}

// SignIn registers users and checks their passwords; the REST API and the
// sign-up and sign-in pages share it, so both say the same things and share
// one throttle.
type SignIn struct {
	Accounts Accounts
	Hasher   *password.Hasher
	// Throttle limits password attempts per account; nil: none.
	Throttle Throttle
	// Audit records sign-ins, failed ones and registrations; nil: nothing.
	Audit audit.Recorder
	Now   func() time.Time
	// Emails, when set, mails a confirmation link to every new account.
	Emails *Emails
	// RequireVerifiedEmail refuses the sign-in of an account whose address
	// is not confirmed (PUGUH_REQUIRE_VERIFIED_EMAIL), after its password
	// was checked.
	RequireVerifiedEmail bool
}

func (s *SignIn) now() time.Time {
	if s.Now == nil {
		return time.Now().UTC()
	}
	return s.Now().UTC()
}

// Registration is the outcome of Register.
type Registration struct {
	UserID         string
	Email          string
	OrganizationID string
}

// BadCredentials is the one answer for an unknown email and a wrong password.
const BadCredentials = "Invalid email or password"

// Register validates and creates a user with a personal organization, and
// mails a link confirming the address.
func (s *SignIn) Register(ctx context.Context, email, pw, fullName *string) (*Registration, error) {
	return s.register(ctx, email, pw, fullName, true)
}

// RegisterInvited is Register without the confirmation link, for a sign-up
// that accepts an invitation: accepting it confirms the address.
func (s *SignIn) RegisterInvited(ctx context.Context, email, pw, fullName *string) (*Registration, error) {
	return s.register(ctx, email, pw, fullName, false)
}

func (s *SignIn) register(ctx context.Context, email, pw, fullName *string, confirm bool) (*Registration, error) {
	var v problem.Validator
	var addr, name string
	v.Email(email, &addr, "email")
	if pw == nil {
		v.Required("password")
	} else if msg := password.Problem(*pw, addr); msg != "" {
		v.Add(msg, passwordIssueType(msg), "password")
	}
	v.Name(fullName, 200, &name, "full_name")
	if err := v.Err(); err != nil {
		return nil, err
	}
	hash, err := s.Hasher.Hash(ctx, *pw)
	if err != nil {
		return nil, fmt.Errorf("identity: register: %w", err)
	}
	now := s.now()
	u := &storage.User{ID: uuid.NewString(), Email: addr, FullName: name, PasswordHash: hash, CreatedAt: now, UpdatedAt: now}
	org := &storage.Organization{ID: uuid.NewString(), Name: name, Plan: storage.PlanFree, Personal: true, CreatedAt: now, UpdatedAt: now}
	if err := s.Accounts.Register(ctx, u, org); err != nil {
		if errors.Is(err, storage.ErrConflict) {
			return nil, problem.Conflictf("Email already registered")
		}
		return nil, fmt.Errorf("identity: register: %w", err)
	}
	audit.Or(s.Audit).Record(ctx, audit.Event{Type: audit.UserRegistered, Actor: audit.User(u.ID), Subject: audit.User(u.ID)})
	if s.Emails != nil && confirm {
		s.Emails.SendVerification(ctx, u)
	}
	return &Registration{UserID: u.ID, Email: u.Email, OrganizationID: org.ID}, nil
}

func passwordIssueType(msg string) string {
	switch msg {
	case "ensure this value has at least 8 characters":
		return "value_error.any_str.min_length"
	case "ensure this value has at most 256 characters":
		return "value_error.any_str.max_length"
	}
	return "value_error.password"
}

// CheckPassword returns the user if email and password match. An unknown
// email costs the same argon2id verification as a wrong password, and both
// give the same Unauthenticated problem (docs/security.md, "Accounts and
// sessions"). Attempts are throttled per account, existing or not, before any
// work is done, and a correct password gives its attempt back, so the
// throttle counts failures; the per-IP limit sits in front of every caller's
// route and counts every attempt. Every outcome but an internal error is an
// audit event: sign_in.succeeded, or sign_in.failed with its reason.
func (s *SignIn) CheckPassword(ctx context.Context, email, pw string) (*storage.User, error) {
	u, reason, err := s.checkPassword(ctx, email, pw)
	s.recordSignIn(ctx, u, reason, err, "")
	if err != nil {
		return nil, err
	}
	return u, nil
}

// Reauthenticate is CheckPassword for a user who is signed in already and
// confirms a sensitive change (a new password, deleting the account) with
// their password: the same throttle and answers, but a success is no
// sign-in, so only failures are recorded (sign_in.failed, step
// "reauthentication").
func (s *SignIn) Reauthenticate(ctx context.Context, email, pw string) (*storage.User, error) {
	u, reason, err := s.checkPassword(ctx, email, pw)
	if err != nil {
		s.recordSignIn(ctx, u, reason, err, "reauthentication")
		return nil, err
	}
	return u, nil
}

// Reasons of a failed sign-in, in the event's details.
const (
	reasonUnknownUser      = "unknown_user"
	reasonWrongPassword    = "wrong_password"
	reasonDisabled         = "disabled"
	reasonThrottled        = "throttled"
	reasonEmailNotVerified = "email_not_verified"
)

// recordSignIn records the outcome of a password check; an internal error
// (reason "") is none.
func (s *SignIn) recordSignIn(ctx context.Context, u *storage.User, reason string, err error, step string) {
	if err == nil {
		audit.Or(s.Audit).Record(ctx, audit.Event{Type: audit.SignInSucceeded, Actor: audit.User(u.ID), Subject: audit.User(u.ID),
			Details: map[string]string{"method": "password"}})
		return
	}
	if reason == "" {
		return
	}
	e := audit.Event{Type: audit.SignInFailed, Actor: audit.Ref{Type: audit.ActorAnonymous},
		Details: map[string]string{"method": "password", "reason": reason}}
	if step != "" {
		e.Details["step"] = step
	}
	if u != nil {
		e.Subject = audit.User(u.ID)
	}
	audit.Or(s.Audit).Record(ctx, e)
}

// checkPassword is CheckPassword without the audit event. On failure it
// returns the user the email named, if any, and the reason ("" for an
// internal error).
func (s *SignIn) checkPassword(ctx context.Context, email, pw string) (*storage.User, string, error) {
	bad := problem.Unauthenticatedf(BadCredentials)
	normalized, ok := problem.NormalizeEmail(email)
	if ok && s.Throttle != nil {
		if err := s.Throttle.Attempt(ctx, normalized); err != nil {
			if problem.Is(err, problem.Throttled) {
				return nil, reasonThrottled, err
			}
			return nil, "", err
		}
	}
	var u *storage.User
	var err error
	if ok {
		u, err = s.Accounts.UserByEmail(ctx, normalized)
	}
	if !ok || errors.Is(err, storage.ErrNotFound) {
		if err := s.Hasher.VerifyDummy(ctx, pw); err != nil {
			return nil, "", fmt.Errorf("identity: check password: %w", err)
		}
		return nil, reasonUnknownUser, bad
	}
	if err != nil {
		return nil, "", fmt.Errorf("identity: check password: %w", err)
	}
	rehash, err := s.Hasher.Verify(ctx, u.PasswordHash, pw)
	if errors.Is(err, password.ErrMismatch) {
		return u, reasonWrongPassword, bad
	}
	if err == nil && u.Disabled {
		return u, reasonDisabled, bad
	}
	if err != nil {
		return nil, "", fmt.Errorf("identity: check password: %w", err)
	}
	if s.Throttle != nil {
		// A refund that fails (the limiter's store is unreachable) costs the
		// owner one attempt of the budget, never lets a guess through.
		_ = s.Throttle.Succeeded(ctx, normalized)
	}
	if rehash {
		// Parameters were raised since this hash was made: upgrade it now that
		// we know the password. A failure costs nothing but a later retry.
		if h, err := s.Hasher.Hash(ctx, pw); err == nil {
			_ = s.Accounts.UpdateUserPassword(ctx, u.ID, h)
		}
	}
	if s.RequireVerifiedEmail && u.EmailVerifiedAt == nil {
		// Only the account's owner, who knows the password, learns this.
		return u, reasonEmailNotVerified, problem.Forbid(EmailNotVerified)
	}
	return u, "", nil
}

// PersonalOrganization is the organization a fresh sign-in acts in: the
// personal organization the user got at registration, which was created in
// the same instant as the user. Other users' personal organizations the user
// was added to do not count; ordered by age, the first of them would
// otherwise win. A user removed from every organization gets a new personal
// one: with none, the user could do nothing at all, not even create one.
func (s *SignIn) PersonalOrganization(ctx context.Context, u *storage.User) (string, error) {
	orgs, err := s.Accounts.OrganizationsOfUser(ctx, u.ID)
	if err != nil {
		return "", fmt.Errorf("identity: personal organization: %w", err)
	}
	for _, o := range orgs {
		if o.Personal && o.CreatedAt.Equal(u.CreatedAt) {
			return o.ID, nil
		}
	}
	if len(orgs) > 0 {
		return orgs[0].ID, nil
	}
	now := s.now()
	org := &storage.Organization{ID: uuid.NewString(), Name: u.FullName, Plan: storage.PlanFree, Personal: true, CreatedAt: now, UpdatedAt: now}
	if err := s.Accounts.CreateOrganization(ctx, org, u.ID); err != nil {
		return "", fmt.Errorf("identity: personal organization: %w", err)
	}
	return org.ID, nil
}
