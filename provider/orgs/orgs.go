// Package orgs holds the rules of organizations and their members, shared by
// the REST API, the account pages and the command line: who may see an
// organization, create one, add, change or remove a member, and which role a
// user holds where. Membership rules are written here once.
package orgs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/arsaka/puguh/provider/audit"
	"github.com/arsaka/puguh/provider/authz"
	"github.com/arsaka/puguh/provider/problem"
	"github.com/arsaka/puguh/storage"
)

// Store is what the rules read and write: hand it the cached store, so a
// role lookup reads no database once warm and every membership write is seen
// by the next lookup.
type Store interface {
	CreateOrganization(ctx context.Context, org *storage.Organization, ownerUserID string) error
	OrganizationByID(ctx context.Context, id string) (*storage.Organization, error)
	OrganizationsOfUser(ctx context.Context, userID string) ([]storage.UserOrganization, error)
	Membership(ctx context.Context, orgID, userID string) (*storage.Membership, error)
	AddMember(ctx context.Context, m *storage.Membership) error
	UpdateMemberRole(ctx context.Context, orgID, userID, role string) error
	RemoveMember(ctx context.Context, orgID, userID string) error
	ListMembers(ctx context.Context, orgID string, page storage.Page) ([]storage.Member, error)
	UserByEmail(ctx context.Context, email string) (*storage.User, error)
	UserByID(ctx context.Context, id string) (*storage.User, error)
}

// Service applies the organization rules.
type Service struct {
	Store Store
	// Audit records members added, changed and removed; nil: nothing.
	Audit audit.Recorder
	Now   func() time.Time
}

// Errors of role lookups, as every surface answers them.
var (
	ErrNotMember      = &problem.Error{Kind: problem.Forbidden, Detail: "Not a member of this organization"}
	ErrNoOrganization = &problem.Error{Kind: problem.NotFound, Detail: "Organization not found"}
	ErrNoMember       = &problem.Error{Kind: problem.NotFound, Detail: "Member not found"}
	ErrLastOwner      = &problem.Error{Kind: problem.Conflict, Detail: "An organization must keep at least one owner"}
)

func (s *Service) now() time.Time {
	if s.Now == nil {
		return time.Now().UTC()
	}
	return s.Now().UTC()
}

// Role returns the user's role in the organization: ErrNotMember when the
// user is not a member, ErrNoOrganization when there is no such organization.
func (s *Service) Role(ctx context.Context, orgID, userID string) (string, error) {
	m, err := s.Store.Membership(ctx, orgID, userID)
	if err == nil {
		return m.Role, nil
	}
	if !errors.Is(err, storage.ErrNotFound) {
		return "", fmt.Errorf("orgs: role: %w", err)
	}
	if _, err := s.Store.OrganizationByID(ctx, orgID); errors.Is(err, storage.ErrNotFound) {
		return "", ErrNoOrganization
	} else if err != nil {
		return "", fmt.Errorf("orgs: role: %w", err)
	}
	return "", ErrNotMember
}

// ActIn is p acting in orgID, for operations that name an organization.
// Users act with their role there; API keys and service accounts exist in
// one organization only, and any other is ErrNoOrganization to them, so a
// credential cannot even learn which organizations exist.
func (s *Service) ActIn(ctx context.Context, p *authz.Principal, orgID string) (*authz.Principal, error) {
	if p.OrganizationID == orgID {
		return p, nil
	}
	if !p.IsUser() {
		return nil, ErrNoOrganization
	}
	role, err := s.Role(ctx, orgID, p.ID)
	if err != nil {
		return nil, err
	}
	q := *p
	q.OrganizationID, q.Role, q.Permissions = orgID, role, authz.ForRole(role)
	return &q, nil
}

// List returns the caller's organizations: every one a user belongs to (with
// the user's role), or the one organization of a key or service account.
func (s *Service) List(ctx context.Context, p *authz.Principal) ([]storage.UserOrganization, error) {
	if err := p.Require(authz.OrganizationRead); err != nil {
		return nil, err
	}
	if p.IsUser() {
		orgs, err := s.Store.OrganizationsOfUser(ctx, p.ID)
		if err != nil {
			return nil, fmt.Errorf("orgs: list: %w", err)
		}
		return orgs, nil
	}
	org, err := s.organization(ctx, p.OrganizationID)
	if err != nil {
		return nil, err
	}
	return []storage.UserOrganization{{Organization: *org}}, nil
}

// Create makes an organization with the calling user as its owner. Only
// people create organizations.
func (s *Service) Create(ctx context.Context, p *authz.Principal, name *string) (*storage.Organization, error) {
	if !p.IsUser() {
		return nil, problem.Forbid("Only users can create organizations")
	}
	var v problem.Validator
	var n string
	v.Name(name, 200, &n, "name")
	if err := v.Err(); err != nil {
		return nil, err
	}
	now := s.now()
	org := &storage.Organization{ID: uuid.NewString(), Name: n, Plan: storage.PlanFree, CreatedAt: now, UpdatedAt: now}
	if err := s.Store.CreateOrganization(ctx, org, p.ID); err != nil {
		return nil, fmt.Errorf("orgs: create: %w", err)
	}
	return org, nil
}

// Get returns an organization the caller may read, with the caller's role in it.
func (s *Service) Get(ctx context.Context, p *authz.Principal, orgID string) (*storage.Organization, string, error) {
	q, err := s.in(ctx, p, orgID, authz.OrganizationRead)
	if err != nil {
		return nil, "", err
	}
	org, err := s.organization(ctx, orgID)
	if err != nil {
		return nil, "", err
	}
	return org, q.Role, nil
}

// Members pages through an organization's members (organization.members.read
// there). The page asks for one more than the caller shows, to know whether
// there is a next one.
func (s *Service) Members(ctx context.Context, p *authz.Principal, orgID string, page storage.Page) ([]storage.Member, error) {
	if _, err := s.in(ctx, p, orgID, authz.MembersRead); err != nil {
		return nil, err
	}
	return s.list(ctx, orgID, page)
}

// Users pages through the members of the caller's own organization (iam.users.read).
func (s *Service) Users(ctx context.Context, p *authz.Principal, page storage.Page) ([]storage.Member, error) {
	if err := p.Require(authz.UsersRead); err != nil {
		return nil, err
	}
	return s.list(ctx, p.OrganizationID, page)
}

func (s *Service) list(ctx context.Context, orgID string, page storage.Page) ([]storage.Member, error) {
	members, err := s.Store.ListMembers(ctx, orgID, page)
	if err != nil {
		return nil, fmt.Errorf("orgs: members: %w", err)
	}
	return members, nil
}

// AddMember adds an existing user, found by email, with role. Nobody hands
// out a role the acting credential could not (authz.Principal.MayGrant).
func (s *Service) AddMember(ctx context.Context, p *authz.Principal, orgID string, email, role *string) (*storage.Member, error) {
	q, err := s.in(ctx, p, orgID, authz.MembersCreate)
	if err != nil {
		return nil, err
	}
	var v problem.Validator
	var addr string
	v.Email(email, &addr, "email")
	r := CheckRole(&v, role)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if !q.MayGrant(r) {
		return nil, problem.CannotManageRole(r)
	}
	u, err := s.Store.UserByEmail(ctx, addr)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, problem.NotFoundf("No user with this email address")
	}
	if err != nil {
		return nil, fmt.Errorf("orgs: add member: %w", err)
	}
	m := &storage.Membership{OrganizationID: orgID, UserID: u.ID, Role: r, CreatedAt: s.now()}
	if err := s.Store.AddMember(ctx, m); err != nil {
		if errors.Is(err, storage.ErrConflict) {
			return nil, problem.Conflictf("User is already a member")
		}
		return nil, fmt.Errorf("orgs: add member: %w", err)
	}
	audit.Or(s.Audit).Record(ctx, audit.Event{Type: audit.MemberAdded, OrganizationID: orgID, Actor: audit.Actor(p),
		Subject: audit.User(u.ID), Details: map[string]string{"role": r}})
	return &storage.Member{Membership: *m, Email: u.Email, FullName: u.FullName}, nil
}

// ChangeRole gives a member another role. It takes rank over both the old
// and the new role: an admin can neither demote an owner nor make one.
func (s *Service) ChangeRole(ctx context.Context, p *authz.Principal, orgID, userID string, role *string) (*storage.Member, error) {
	q, err := s.in(ctx, p, orgID, authz.MembersUpdate)
	if err != nil {
		return nil, err
	}
	var v problem.Validator
	r := CheckRole(&v, role)
	if err := v.Err(); err != nil {
		return nil, err
	}
	current, err := s.manageable(ctx, q, orgID, userID)
	if err != nil {
		return nil, err
	}
	if !q.MayGrant(r) {
		return nil, problem.CannotManageRole(r)
	}
	if err := s.Store.UpdateMemberRole(ctx, orgID, userID, r); err != nil {
		return nil, memberChangeError(err)
	}
	u, err := s.Store.UserByID(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("orgs: change role: %w", err)
	}
	audit.Or(s.Audit).Record(ctx, audit.Event{Type: audit.MemberRoleChanged, OrganizationID: orgID, Actor: audit.Actor(p),
		Subject: audit.User(userID), Details: map[string]string{"from": current.Role, "role": r}})
	current.Role = r
	return &storage.Member{Membership: *current, Email: u.Email, FullName: u.FullName}, nil
}

// RemoveMember removes a member; it takes rank over the member's role, and
// the last owner stays.
func (s *Service) RemoveMember(ctx context.Context, p *authz.Principal, orgID, userID string) error {
	q, err := s.in(ctx, p, orgID, authz.MembersDelete)
	if err != nil {
		return err
	}
	m, err := s.manageable(ctx, q, orgID, userID)
	if err != nil {
		return err
	}
	if err := s.Store.RemoveMember(ctx, orgID, userID); err != nil {
		return memberChangeError(err)
	}
	audit.Or(s.Audit).Record(ctx, audit.Event{Type: audit.MemberRemoved, OrganizationID: orgID, Actor: audit.Actor(p),
		Subject: audit.User(userID), Details: map[string]string{"role": m.Role}})
	return nil
}

// Manageable returns the membership q may change: ErrNoMember when there is
// none, CannotManageRole when q lacks rank over it. The account pages ask it
// before offering a change.
func (s *Service) Manageable(ctx context.Context, p *authz.Principal, orgID, userID string) (*storage.Membership, error) {
	q, err := s.ActIn(ctx, p, orgID)
	if err != nil {
		return nil, err
	}
	return s.manageable(ctx, q, orgID, userID)
}

func (s *Service) manageable(ctx context.Context, q *authz.Principal, orgID, userID string) (*storage.Membership, error) {
	m, err := s.Store.Membership(ctx, orgID, userID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, ErrNoMember
	}
	if err != nil {
		return nil, fmt.Errorf("orgs: member: %w", err)
	}
	if !q.MayGrant(m.Role) {
		return nil, problem.CannotManageRole(m.Role)
	}
	return m, nil
}

// in is p acting in orgID, holding perm there.
func (s *Service) in(ctx context.Context, p *authz.Principal, orgID, perm string) (*authz.Principal, error) {
	q, err := s.ActIn(ctx, p, orgID)
	if err != nil {
		return nil, err
	}
	if err := q.Require(perm); err != nil {
		return nil, err
	}
	return q, nil
}

func (s *Service) organization(ctx context.Context, id string) (*storage.Organization, error) {
	org, err := s.Store.OrganizationByID(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, ErrNoOrganization
	}
	if err != nil {
		return nil, fmt.Errorf("orgs: organization: %w", err)
	}
	return org, nil
}

func memberChangeError(err error) error {
	switch {
	case errors.Is(err, storage.ErrPrecondition):
		return ErrLastOwner
	case errors.Is(err, storage.ErrNotFound):
		return ErrNoMember
	}
	return fmt.Errorf("orgs: change member: %w", err)
}

// CheckRole validates a required role field; the built-in roles only.
func CheckRole(v *problem.Validator, raw *string) string {
	if raw == nil {
		v.Required("role")
		return ""
	}
	if !authz.ValidRole(*raw) {
		v.Add("value is not a valid enumeration member; permitted: 'owner', 'admin', 'member', 'viewer'", "type_error.enum", "role")
		return ""
	}
	return *raw
}
