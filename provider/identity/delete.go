package identity

import (
	"context"
	"errors"
	"fmt"

	"github.com/arsaka/puguh/provider/audit"
	"github.com/arsaka/puguh/provider/problem"
	"github.com/arsaka/puguh/storage"
)

// Erasure is what deleting an account needs of the store (the cached store,
// so that everything deleted is evicted).
type Erasure interface {
	// OwnershipOfUser describes each organization the user belongs to.
	OwnershipOfUser(ctx context.Context, userID string) ([]storage.Ownership, error)
	ListApplications(ctx context.Context, orgID string) ([]storage.Application, error)
	ListServiceAccounts(ctx context.Context, orgID string) ([]storage.ServiceAccount, error)
	DeleteUser(ctx context.Context, userID string, deleteOrgs []string) error
}

// Clients ends every grant made to an OAuth client (oauth.Provider.RevokeClient).
type Clients interface {
	RevokeClient(ctx context.Context, clientID string) error
}

// SecondFactor checks the code of a user's second factor, if they have one
// (mfa.Service.ConfirmSecondFactor).
type SecondFactor interface {
	ConfirmSecondFactor(ctx context.Context, userID string, code *string) error
}

// LastOwnerError: the user is the last owner of an organization that has
// other members, so deleting the account would leave it without an owner.
type LastOwnerError struct{ Organization storage.Ownership }

func (e *LastOwnerError) Error() string {
	return fmt.Sprintf("You are the last owner of the organization %q, which has other members. Make another member an owner first.", e.Organization.Name)
}

// Problem is the answer the surfaces give: 409 with the message.
func (e *LastOwnerError) Problem() *problem.Error { return problem.Conflictf(e.Error()) }

// ErrNotOperator: only a platform operator deletes someone else's account.
var ErrNotOperator = errors.New("identity: only platform operators can delete users")

// ErrWrongPassword answers a wrong password when a user confirms an action.
const ErrWrongPassword = "The password is not correct"

// DeletionPlan decides what deleting the user does to their organizations:
// those the user alone belongs to (their personal one, usually) are deleted
// with the account, with everything they hold; an organization with other
// members keeps going without the user, unless the user is its last owner,
// which refuses the deletion (LastOwnerError).
func (s *Service) DeletionPlan(ctx context.Context, userID string) ([]string, error) {
	owned, err := s.Erasure.OwnershipOfUser(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("identity: deletion plan: %w", err)
	}
	var alone []string
	for _, o := range owned {
		switch {
		case o.Members <= 1:
			alone = append(alone, o.ID)
		case o.Role == storage.RoleOwner && o.Owners <= 1:
			return nil, &LastOwnerError{Organization: o}
		}
	}
	return alone, nil
}

// DeleteUser erases the account (docs/lifecycle.md): every session and
// token grant ends first (refresh families revoked, access tokens denied on
// every replica), the organizations the user alone belonged to go with
// everything granted to their applications and service accounts, then the
// user's rows are deleted in one transaction. by (acting in orgID, "" for
// none) is recorded in the user.deleted event, which keeps only ids.
func (s *Service) DeleteUser(ctx context.Context, by audit.Ref, orgID, userID string) error {
	if _, err := s.Users.UserByID(ctx, userID); errors.Is(err, storage.ErrNotFound) {
		return ErrUserNotFound
	} else if err != nil {
		return fmt.Errorf("identity: delete user: %w", err)
	}
	orgs, err := s.DeletionPlan(ctx, userID)
	if err != nil {
		return err
	}
	if err := s.EndGrants(ctx, userID, ""); err != nil {
		return err
	}
	for _, org := range orgs {
		if err := s.endOrganizationGrants(ctx, org); err != nil {
			return err
		}
	}
	if err := s.Erasure.DeleteUser(ctx, userID, orgs); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return ErrUserNotFound
		}
		return fmt.Errorf("identity: delete user: %w", err)
	}
	details := map[string]string{}
	if len(orgs) > 0 {
		details["organizations_deleted"] = fmt.Sprint(len(orgs))
	}
	audit.Or(s.Audit).Record(ctx, audit.Event{Type: audit.UserDeleted, OrganizationID: orgID, Actor: by,
		Subject: audit.User(userID), Details: details})
	return nil
}

// endOrganizationGrants revokes what an organization about to be deleted has
// been granted: every token its applications issued (to any user) and
// every token of its service accounts.
func (s *Service) endOrganizationGrants(ctx context.Context, orgID string) error {
	apps, err := s.Erasure.ListApplications(ctx, orgID)
	if err != nil {
		return fmt.Errorf("identity: delete organization: %w", err)
	}
	accounts, err := s.Erasure.ListServiceAccounts(ctx, orgID)
	if err != nil {
		return fmt.Errorf("identity: delete organization: %w", err)
	}
	var errs []error
	for _, a := range apps {
		errs = append(errs, s.Clients.RevokeClient(ctx, a.ID))
	}
	for _, sa := range accounts {
		errs = append(errs, s.Clients.RevokeClient(ctx, sa.ClientID))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("identity: delete organization: %w", err)
	}
	return nil
}

// MayDelete: only a platform operator deletes another user's account, and
// not their own through this door (they delete it as any user does, with
// their password).
func (s *Service) MayDelete(ctx context.Context, actor Actor, target string) error {
	if actor.UserID == "" {
		return ErrNotOperator
	}
	op, err := s.IsOperator(ctx, actor.UserID)
	if err != nil {
		return err
	}
	if !op {
		return ErrNotOperator
	}
	if actor.UserID == target {
		return ErrSelf
	}
	return nil
}

// DeleteSelf deletes the signed-in user's own account after checking their
// password again, and the code of their second factor if they have one: a
// session left open is not enough to erase an account.
func (s *Service) DeleteSelf(ctx context.Context, userID string, password, code *string) error {
	u, err := s.Users.UserByID(ctx, userID)
	if errors.Is(err, storage.ErrNotFound) {
		return ErrUserNotFound
	}
	if err != nil {
		return fmt.Errorf("identity: delete self: %w", err)
	}
	if password == nil || *password == "" {
		return problem.Invalidf(problem.Issue{Loc: []any{"password"}, Msg: "field required", Type: "value_error.missing"})
	}
	if _, err := s.Passwords.Reauthenticate(ctx, u.Email, *password); err != nil {
		switch p := problem.As(err); {
		case p != nil && p.Kind == problem.Unauthenticated:
			return problem.Forbid(ErrWrongPassword)
		case p != nil && p.Kind == problem.Forbidden && p.Detail == EmailNotVerified:
			// The password was right; only the address is unconfirmed.
		default:
			return err
		}
	}
	if s.SecondFactor != nil {
		if err := s.SecondFactor.ConfirmSecondFactor(ctx, userID, code); err != nil {
			return err
		}
	}
	return s.DeleteUser(ctx, audit.User(userID), "", userID)
}
