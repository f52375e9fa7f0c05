// Package identity holds the rules about user accounts that every surface of
// Puguh shares (the REST API, the account pages and the command line): ending
// everything a user holds, and disabling and enabling users. It speaks in
// plain Go values and domain errors; the HTTP handlers translate.
package identity

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/arsaka/puguh/provider/audit"
	"github.com/arsaka/puguh/provider/authz"
	"github.com/arsaka/puguh/storage"
)

// Users reads and writes user accounts (the user cache, so every write evicts).
type Users interface {
	UserByID(ctx context.Context, id string) (*storage.User, error)
	SetUserDisabled(ctx context.Context, id string, disabled bool) error
	OrganizationsOfUser(ctx context.Context, userID string) ([]storage.UserOrganization, error)
}

// Sessions are the user's browser sessions and the token families they issued.
type Sessions interface {
	SessionsOfUser(ctx context.Context, userID string, now time.Time) ([]storage.BrowserSession, error)
	// DeleteSession deletes a session and returns the families it issued.
	DeleteSession(ctx context.Context, id string) ([]string, error)
	// FamiliesOfUser returns the families of the user's browser grants made after since.
	FamiliesOfUser(ctx context.Context, userID string, since time.Time) ([]string, error)
}

// Grants revokes every refresh family of a subject and returns their ids
// (oauthstore.Store.RevokeSubject).
type Grants interface {
	RevokeSubject(ctx context.Context, subject string) ([]string, error)
}

// Tokens revokes token families (oauth.Provider): RevokeFamily ends a family's
// refresh tokens and denies its access tokens, DenyFamily only the latter.
type Tokens interface {
	RevokeFamily(ctx context.Context, familyID string) error
	DenyFamily(ctx context.Context, familyID string) error
}

// Service applies the account rules.
type Service struct {
	Users    Users
	Sessions Sessions
	Grants   Grants
	Tokens   Tokens
	// AccessTokenLifetime bounds how far back a browser grant can still have
	// a live access token to deny.
	AccessTokenLifetime time.Duration
	// Operators are the normalised emails of the platform operators
	// (PUGUH_PLATFORM_OPERATORS).
	Operators []string
	// Erasure, Clients, Passwords and SecondFactor serve deleting accounts
	// (delete.go); SecondFactor nil: no second factor is asked.
	Erasure      Erasure
	Clients      Clients
	Passwords    Reauthenticator
	SecondFactor SecondFactor
	// Links drops a user's pending email links; nil: none are kept.
	Links EmailLinks
	// Audit records users disabled, enabled and deleted; nil: nothing.
	Audit audit.Recorder
	Now   func() time.Time
}

// Domain errors. The surfaces map them to their own answers.
var (
	ErrUserNotFound = errors.New("identity: user not found")
	ErrSelf         = errors.New("identity: cannot disable your own account")
	// ErrNotManaged: the user belongs to an organization the actor does not
	// own, so only a platform operator may disable them.
	ErrNotManaged = errors.New("identity: the user belongs to other organizations")
)

// MissingPermissionError says which permission the actor lacks.
type MissingPermissionError struct{ Permission string }

func (e *MissingPermissionError) Error() string {
	return "identity: missing permission " + e.Permission
}

// RoleError: the actor's rank does not reach the role of the user it wants to manage.
type RoleError struct{ Role string }

func (e *RoleError) Error() string { return "identity: cannot manage the " + e.Role + " role" }

func (s *Service) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

// EmailLinks deletes a user's one-time email links of a purpose
// (storage.EmailTokenStore).
type EmailLinks interface {
	DeleteEmailTokens(ctx context.Context, userID, purpose string) error
}

// EndGrants ends every browser session of the user except keepSession (""
// ends them all), and every token grant the user holds: refresh families in
// the database, and their access tokens through the denylist, on every
// replica. A password change, a reset, disabling and deleting the user call
// it. It also drops the user's pending email-change and password-reset
// links: whoever held the account before (a leaked password) must not be able
// to move it to their address, or reset it, after the owner took it back.
func (s *Service) EndGrants(ctx context.Context, userID, keepSession string) error {
	if s.Links != nil {
		for _, purpose := range []string{storage.EmailTokenChange, storage.EmailTokenReset} {
			if err := s.Links.DeleteEmailTokens(ctx, userID, purpose); err != nil {
				return fmt.Errorf("identity: end grants: %w", err)
			}
		}
	}
	sessions, err := s.Sessions.SessionsOfUser(ctx, userID, s.now())
	if err != nil {
		return fmt.Errorf("identity: end grants: %w", err)
	}
	var errs []error
	for _, sess := range sessions {
		if sess.ID == keepSession {
			continue
		}
		families, err := s.Sessions.DeleteSession(ctx, sess.ID)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, f := range families {
			errs = append(errs, s.Tokens.RevokeFamily(ctx, f))
		}
	}
	families, err := s.Grants.RevokeSubject(ctx, userID)
	if err != nil {
		return fmt.Errorf("identity: end grants: %w", errors.Join(append(errs, err)...))
	}
	// Grants without a refresh token have only their family record (their
	// access tokens are never stored); those older than an access token's
	// lifetime have nothing left to deny.
	since := s.now().Add(-s.AccessTokenLifetime - time.Minute)
	browser, err := s.Sessions.FamiliesOfUser(ctx, userID, since)
	if err != nil {
		return fmt.Errorf("identity: end grants: %w", errors.Join(append(errs, err)...))
	}
	for _, f := range append(families, browser...) {
		errs = append(errs, s.Tokens.DenyFamily(ctx, f))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("identity: end grants: %w", err)
	}
	return nil
}

// SetDisabled disables (and ends every session and grant of) or enables the
// user, and returns the user as it is now. Disabling is idempotent, and
// always ends the grants: a retry after a partial failure finishes the job.
// by is who did it, acting in orgID ("" for an operator at the console),
// for the audit event (user.disabled, user.enabled), which that
// organization's log shows.
func (s *Service) SetDisabled(ctx context.Context, by audit.Ref, orgID, userID string, disabled bool) (*storage.User, error) {
	if err := s.Users.SetUserDisabled(ctx, userID, disabled); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return nil, ErrUserNotFound
		}
		return nil, fmt.Errorf("identity: set disabled: %w", err)
	}
	if disabled {
		if err := s.EndGrants(ctx, userID, ""); err != nil {
			return nil, err
		}
	}
	u, err := s.Users.UserByID(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("identity: set disabled: %w", err)
	}
	typ := audit.UserEnabled
	if disabled {
		typ = audit.UserDisabled
	}
	audit.Or(s.Audit).Record(ctx, audit.Event{Type: typ, OrganizationID: orgID, Actor: by, Subject: audit.User(userID)})
	return u, nil
}

// IsOperator reports whether the user is a platform operator: listed in
// PUGUH_PLATFORM_OPERATORS and not disabled.
func (s *Service) IsOperator(ctx context.Context, userID string) (bool, error) {
	if len(s.Operators) == 0 {
		return false, nil
	}
	u, err := s.Users.UserByID(ctx, userID)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("identity: operator: %w", err)
	}
	return !u.Disabled && slices.Contains(s.Operators, u.Email), nil
}

// Actor is who asks to disable or enable a user, acting in an organization.
type Actor struct {
	// UserID is set when a person asks (a Bearer token of a user).
	UserID         string
	OrganizationID string
	Rank           string
	Permissions    authz.Set
}

// MayManage decides whether actor may disable or enable target:
//
//   - a platform operator may, any user but themselves;
//   - otherwise the actor needs iam.users.disable (an owner's) in its
//     organization, the target must be a member of it, rank over the target's
//     role there, and the organization must be the only one the target
//     belongs to besides their own personal one: an account that also works
//     for other organizations is not one organization's to switch off.
//
// Nobody disables themselves (an operator would lock themselves out).
func (s *Service) MayManage(ctx context.Context, actor Actor, target string) error {
	if actor.UserID != "" && actor.UserID == target {
		return ErrSelf
	}
	if actor.UserID != "" {
		op, err := s.IsOperator(ctx, actor.UserID)
		if err != nil {
			return err
		}
		if op {
			if _, err := s.Users.UserByID(ctx, target); errors.Is(err, storage.ErrNotFound) {
				return ErrUserNotFound
			} else if err != nil {
				return fmt.Errorf("identity: manage: %w", err)
			}
			return nil
		}
	}
	if !actor.Permissions.Has(authz.UsersDisable) {
		return &MissingPermissionError{Permission: authz.UsersDisable}
	}
	u, err := s.Users.UserByID(ctx, target)
	if errors.Is(err, storage.ErrNotFound) {
		return ErrUserNotFound
	}
	if err != nil {
		return fmt.Errorf("identity: manage: %w", err)
	}
	orgs, err := s.Users.OrganizationsOfUser(ctx, target)
	if err != nil {
		return fmt.Errorf("identity: manage: %w", err)
	}
	// The user's own personal organization was created with the account.
	own := func(o storage.UserOrganization) bool { return o.Personal && o.CreatedAt.Equal(u.CreatedAt) }
	role, elsewhere := "", false
	for _, o := range orgs {
		switch {
		case o.ID == actor.OrganizationID:
			role = o.Role
		case !own(o):
			elsewhere = true
		}
	}
	if role == "" {
		return ErrUserNotFound // not a member here: as if there were no such user
	}
	if elsewhere {
		return ErrNotManaged
	}
	if !authz.MayGrant(actor.Rank, actor.Permissions, role) {
		return &RoleError{Role: role}
	}
	return nil
}
