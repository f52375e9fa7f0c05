package orgs

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/arsaka/puguh/provider/audit"
	"github.com/arsaka/puguh/provider/authz"
	"github.com/arsaka/puguh/provider/problem"
	"github.com/arsaka/puguh/provider/ratelimit"
	"github.com/arsaka/puguh/storage"
)

// InvitationStore is what invitations read and write: the cached store, so
// a member added by an accepted invitation is seen by the next role lookup.
type InvitationStore interface {
	CreateInvitation(ctx context.Context, inv *storage.Invitation, now time.Time) error
	InvitationByTokenHash(ctx context.Context, hash []byte) (*storage.Invitation, error)
	PendingInvitations(ctx context.Context, orgID string, now time.Time, page storage.Page) ([]storage.Invitation, error)
	PendingInvitation(ctx context.Context, orgID, id string, now time.Time) (*storage.Invitation, error)
	RevokeInvitation(ctx context.Context, orgID, id string, at time.Time) error
	AcceptInvitation(ctx context.Context, id string, m *storage.Membership, at time.Time) error
	SetEmailVerified(ctx context.Context, userID, email string, at time.Time) error
}

// Mailer queues mail (mail.Mailer): compose runs off the request's path and
// names the recipient, template and data.
type Mailer interface {
	SendComposed(ctx context.Context, compose func(ctx context.Context) (to, template string, data any, err error))
}

// Invitations ask someone, by email address, to join an organization with a
// role, whether or not the address has an account yet. The link mailed
// carries 256 random bits; only their SHA-256 is stored, the link works
// once, and never after it expired or was revoked. The token is never shown
// to the inviter: only the mailbox gets it, which is what lets accepting
// count as proof of the address.
type Invitations struct {
	Orgs   *Service
	Store  InvitationStore
	Mailer Mailer
	Audit  audit.Recorder
	// BaseURL is the issuer: links are BaseURL + AcceptPath + "?token=…".
	BaseURL string
	// TTL is how long an invitation works (default DefaultInvitationTTL).
	TTL time.Duration
	// Limits bounds the invitations mailed (InvitesPerOrganization,
	// InvitesPerAddress), so that nobody makes Puguh mail strangers in
	// bulk; nil: unbounded.
	Limits ratelimit.Store
	Now    func() time.Time
}

// The budgets of invitations: per organization, and per invited address
// whichever organization invites it.
var (
	InvitesPerOrganization = ratelimit.Limit{Rate: 50, Burst: 50, Period: time.Hour}
	InvitesPerAddress      = ratelimit.Limit{Rate: 5, Burst: 5, Period: time.Hour}
)

// allow takes one invitation from the organization's and the address's
// budgets, or returns the Throttled problem.
func (s *Invitations) allow(ctx context.Context, orgID, addr string) error {
	if s.Limits == nil {
		return nil
	}
	sum := sha256.Sum256([]byte(addr))
	for _, b := range []struct {
		key   string
		limit ratelimit.Limit
	}{
		{"invite:org:" + orgID, InvitesPerOrganization},
		{"invite:email:" + base64.RawURLEncoding.EncodeToString(sum[:16]), InvitesPerAddress},
	} {
		res, err := s.Limits.Allow(ctx, b.key, b.limit)
		if err != nil {
			return fmt.Errorf("orgs: invitation budget: %w", err)
		}
		if !res.Allowed {
			return ratelimit.Refusal(res)
		}
	}
	return nil
}

// DefaultInvitationTTL is how long an invitation works by default.
const DefaultInvitationTTL = 7 * 24 * time.Hour

// AcceptPath is the page an invitation link opens.
const AcceptPath = "/invitations/accept"

// Answers the surfaces show.
const (
	InvalidInvitation    = "Invalid invitation link"
	ExpiredInvitation    = "This invitation has expired: ask for a new one"
	AcceptedInvitation   = "This invitation was already accepted"
	RevokedInvitation    = "This invitation was revoked"
	OtherAddress         = "This invitation is for another email address"
	AlreadyMember        = "You are already a member of this organization"
	PendingInvitationMsg = "An invitation to this email address is already pending"
	NoInvitation         = "Invitation not found"
)

func (s *Invitations) now() time.Time {
	if s.Now == nil {
		return time.Now().UTC()
	}
	return s.Now().UTC()
}

func (s *Invitations) ttl() time.Duration {
	if s.TTL <= 0 {
		return DefaultInvitationTTL
	}
	return s.TTL
}

func hashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

func invitationRef(id string) audit.Ref { return audit.Ref{Type: "invitation", ID: id} }

// Invite invites email to orgID with role (organization.members.create
// there). Nobody invites with a role the acting credential could not grant
// (authz.Principal.MayGrant): an admin invites no owner. An address that is
// a member already, or has a pending invitation, is a Conflict. The link is
// mailed in the background: a failed send never fails the invitation, which
// can be revoked and made again.
func (s *Invitations) Invite(ctx context.Context, p *authz.Principal, orgID string, email, role *string) (*storage.Invitation, error) {
	q, err := s.Orgs.in(ctx, p, orgID, authz.MembersCreate)
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
	org, err := s.Orgs.organization(ctx, orgID)
	if err != nil {
		return nil, err
	}
	if u, err := s.Orgs.Store.UserByEmail(ctx, addr); err == nil {
		if _, err := s.Orgs.Store.Membership(ctx, orgID, u.ID); err == nil {
			return nil, problem.Conflictf("User is already a member")
		} else if !errors.Is(err, storage.ErrNotFound) {
			return nil, fmt.Errorf("orgs: invite: %w", err)
		}
	} else if !errors.Is(err, storage.ErrNotFound) {
		return nil, fmt.Errorf("orgs: invite: %w", err)
	}
	if err := s.allow(ctx, orgID, addr); err != nil {
		return nil, err
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("orgs: invite: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(b[:])
	id, err := uuid.NewV7()
	if err != nil {
		return nil, fmt.Errorf("orgs: invite: %w", err)
	}
	now := s.now()
	inv := &storage.Invitation{ID: id.String(), OrganizationID: orgID, Email: addr, Role: r, TokenHash: hashToken(token),
		InvitedByType: p.Type, InvitedByID: p.ID, CreatedAt: now, ExpiresAt: now.Add(s.ttl())}
	if err := s.Store.CreateInvitation(ctx, inv, now); errors.Is(err, storage.ErrConflict) {
		return nil, problem.Conflictf(PendingInvitationMsg)
	} else if err != nil {
		return nil, fmt.Errorf("orgs: invite: %w", err)
	}
	inviter := s.inviterName(ctx, p)
	link := s.BaseURL + AcceptPath + "?token=" + token
	expires := days(s.ttl())
	s.Mailer.SendComposed(ctx, func(context.Context) (string, string, any, error) {
		return addr, "invitation", map[string]any{"Inviter": inviter, "Organization": org.Name, "Role": r,
			"Link": link, "Expires": expires}, nil
	})
	audit.Or(s.Audit).Record(ctx, audit.Event{Type: audit.InvitationCreated, OrganizationID: orgID, Actor: audit.Actor(p),
		Subject: invitationRef(inv.ID), Details: map[string]string{"role": r}})
	return inv, nil
}

// inviterName is who the message says invited: a user's name (or address);
// an API key or service account is "An administrator".
func (s *Invitations) inviterName(ctx context.Context, p *authz.Principal) string {
	if p.IsUser() {
		if u, err := s.Orgs.Store.UserByID(ctx, p.ID); err == nil {
			if u.FullName != "" {
				return u.FullName
			}
			return u.Email
		}
	}
	return "An administrator"
}

// days says d in words for the message: "7 days", "1 day", "12 hours".
func days(d time.Duration) string {
	switch {
	case d == 24*time.Hour:
		return "1 day"
	case d%(24*time.Hour) == 0:
		return strconv.Itoa(int(d/(24*time.Hour))) + " days"
	case d >= time.Hour:
		return strconv.Itoa(int(d/time.Hour)) + " hours"
	}
	return strconv.Itoa(int(d/time.Minute)) + " minutes"
}

// Pending pages through orgID's pending invitations (organization.members.create
// there: the addresses of people who are not members yet are for those who
// invite). The page asks for one more than the caller shows.
func (s *Invitations) Pending(ctx context.Context, p *authz.Principal, orgID string, page storage.Page) ([]storage.Invitation, error) {
	if _, err := s.Orgs.in(ctx, p, orgID, authz.MembersCreate); err != nil {
		return nil, err
	}
	list, err := s.Store.PendingInvitations(ctx, orgID, s.now(), page)
	if err != nil {
		return nil, fmt.Errorf("orgs: invitations: %w", err)
	}
	return list, nil
}

// Revoke ends a pending invitation (organization.members.create, and rank
// over the invited role: an admin does not revoke an owner's invitation of
// another owner). An unknown, used, revoked or expired one is NotFound.
func (s *Invitations) Revoke(ctx context.Context, p *authz.Principal, orgID, id string) error {
	q, err := s.Orgs.in(ctx, p, orgID, authz.MembersCreate)
	if err != nil {
		return err
	}
	now := s.now()
	inv, err := s.Store.PendingInvitation(ctx, orgID, id, now)
	if errors.Is(err, storage.ErrNotFound) {
		return problem.NotFoundf(NoInvitation)
	}
	if err != nil {
		return fmt.Errorf("orgs: revoke invitation: %w", err)
	}
	if !q.MayGrant(inv.Role) {
		return problem.CannotManageRole(inv.Role)
	}
	if err := s.Store.RevokeInvitation(ctx, orgID, id, now); errors.Is(err, storage.ErrNotFound) {
		return problem.NotFoundf(NoInvitation)
	} else if err != nil {
		return fmt.Errorf("orgs: revoke invitation: %w", err)
	}
	audit.Or(s.Audit).Record(ctx, audit.Event{Type: audit.InvitationRevoked, OrganizationID: orgID, Actor: audit.Actor(p),
		Subject: invitationRef(id), Details: map[string]string{"role": inv.Role}})
	return nil
}

// Invitation is a working invitation as its link's page shows it.
type Invitation struct {
	storage.Invitation
	Organization storage.Organization
}

// Lookup returns the invitation token names if it still works, or the
// problem that says why not (invalid, expired, accepted, revoked: all
// BadRequest, each with its own words).
func (s *Invitations) Lookup(ctx context.Context, token string) (*Invitation, error) {
	if token == "" || len(token) > 128 {
		return nil, problem.Bad(InvalidInvitation)
	}
	inv, err := s.Store.InvitationByTokenHash(ctx, hashToken(token))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, problem.Bad(InvalidInvitation)
	}
	if err != nil {
		return nil, fmt.Errorf("orgs: invitation: %w", err)
	}
	if err := stateProblem(inv.State(s.now())); err != nil {
		return nil, err
	}
	org, err := s.Orgs.organization(ctx, inv.OrganizationID)
	if err != nil {
		return nil, err
	}
	return &Invitation{Invitation: *inv, Organization: *org}, nil
}

func stateProblem(state string) error {
	switch state {
	case storage.InvitationPending:
		return nil
	case storage.InvitationAccepted:
		return problem.Bad(AcceptedInvitation)
	case storage.InvitationRevoked:
		return problem.Bad(RevokedInvitation)
	}
	return problem.Bad(ExpiredInvitation)
}

// Accept makes the user a member with the invited role. The user's address
// must be the invited one (compared case-insensitively): the link was
// mailed there, so opening it while signed in to that account proves the
// address, which counts as confirmed from then on. A user who is a member
// already gets a Conflict and the invitation stays pending.
func (s *Invitations) Accept(ctx context.Context, userID, token string) (*Invitation, error) {
	inv, err := s.Lookup(ctx, token)
	if err != nil {
		return nil, err
	}
	u, err := s.Orgs.Store.UserByID(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("orgs: accept invitation: %w", err)
	}
	if n, ok := problem.NormalizeEmail(u.Email); !ok || n != inv.Email {
		return nil, problem.Forbid(OtherAddress)
	}
	now := s.now()
	m := &storage.Membership{OrganizationID: inv.OrganizationID, UserID: u.ID, Role: inv.Role, CreatedAt: now}
	switch err := s.Store.AcceptInvitation(ctx, inv.ID, m, now); {
	case errors.Is(err, storage.ErrConflict):
		return nil, problem.Conflictf(AlreadyMember)
	case errors.Is(err, storage.ErrPrecondition):
		// Used, revoked or expired meanwhile: say which.
		if again, err := s.Store.InvitationByTokenHash(ctx, inv.TokenHash); err == nil {
			if p := stateProblem(again.State(now)); p != nil {
				return nil, p
			}
		}
		return nil, problem.Bad(InvalidInvitation)
	case err != nil:
		return nil, fmt.Errorf("orgs: accept invitation: %w", err)
	}
	rec := audit.Or(s.Audit)
	if u.EmailVerifiedAt == nil {
		if err := s.Store.SetEmailVerified(ctx, u.ID, u.Email, now); err == nil {
			rec.Record(ctx, audit.Event{Type: audit.UserEmailVerified, Actor: audit.User(u.ID), Subject: audit.User(u.ID),
				Details: map[string]string{"method": "invitation"}})
		}
	}
	rec.Record(ctx, audit.Event{Type: audit.InvitationAccepted, OrganizationID: inv.OrganizationID, Actor: audit.User(u.ID),
		Subject: invitationRef(inv.ID), Details: map[string]string{"role": inv.Role}})
	rec.Record(ctx, audit.Event{Type: audit.MemberAdded, OrganizationID: inv.OrganizationID, Actor: audit.User(u.ID),
		Subject: audit.User(u.ID), Details: map[string]string{"role": inv.Role, "invitation_id": inv.ID}})
	inv.Status, inv.EndedAt, inv.AcceptedBy = storage.InvitationAccepted, &now, &u.ID
	return inv, nil
}
