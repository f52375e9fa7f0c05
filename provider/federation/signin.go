package federation

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/arsaka/puguh/provider/audit"
	"github.com/arsaka/puguh/provider/authz"
	"github.com/arsaka/puguh/provider/problem"
	"github.com/arsaka/puguh/storage"
)

// Upstream is what an identity provider said about the person who signed in
// there, read through the connection's claim mapping.
type Upstream struct {
	Subject       string
	Email         string
	EmailVerified bool
	Name          string
	Groups        []string
}

// LoginConnection is a connection ready to sign someone in: with its client
// secret opened (OpenID Connect), or its service-provider key (SAML).
type LoginConnection struct {
	Connection
	ClientSecret string
	SP           *SPKeyPair
}

// The refusals of an upstream sign-in (docs/federation.md, "Account
// takeover"). Each is a Forbidden problem whose words the sign-in page shows.
var (
	ErrNoSubject      = problem.Forbid("The identity provider did not say who you are (no subject).")
	ErrNoEmail        = problem.Forbid("The identity provider did not send a usable email address.")
	ErrDomain         = problem.Forbid("Your email address is not in a domain this organization signs in through its identity provider.")
	ErrUnverified     = problem.Forbid("An account with this email address exists already, and the identity provider did not confirm the address: the accounts were not linked. Sign in with your password.")
	ErrNotOrgMember   = problem.Forbid("An account with this email address exists already and is not a member of this organization: the accounts were not linked. Sign in with your password, and ask an administrator to add you.")
	ErrDisabled       = problem.Forbid("This account is disabled.")
	ErrConnectionGone = problem.NotFoundf("This sign-in connection no longer exists.")
)

// Discover returns the connection an email address signs in through: the one
// that lists its domain. ok is false for other addresses (they use a password).
func (s *Service) Discover(ctx context.Context, email string) (c *storage.FederationConnection, ok bool, err error) {
	addr, valid := problem.NormalizeEmail(email)
	if !valid {
		return nil, false, nil
	}
	_, domain, _ := strings.Cut(addr, "@")
	c, err = s.Store.ConnectionByDomain(ctx, domain)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("federation: discover: %w", err)
	}
	return c, true, nil
}

// ForLogin returns the connection id with its client secret opened.
func (s *Service) ForLogin(ctx context.Context, id string) (*LoginConnection, error) {
	c, err := s.Store.ConnectionByID(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, ErrConnectionGone
	}
	if err != nil {
		return nil, fmt.Errorf("federation: connection: %w", err)
	}
	if c.Protocol == storage.ProtocolSAML {
		sp, err := s.SPKey(c)
		if err != nil {
			return nil, err
		}
		return &LoginConnection{Connection: view(c), SP: sp}, nil
	}
	secret, err := s.Secrets.Open(c.ID, c.ClientSecretSealed)
	if err != nil {
		return nil, fmt.Errorf("federation: open client secret of %s: %w", c.ID, err)
	}
	return &LoginConnection{Connection: view(c), ClientSecret: string(secret)}, nil
}

// RoleFor is the role the groups map to: the most powerful mapped one, or
// the connection's default role.
func RoleFor(c *Connection, groups []string) string {
	role := c.DefaultRole
	for _, g := range groups {
		if r, ok := c.Mapping[g]; ok && authz.ValidRole(r) && authz.Outranks(r, role) {
			role = r
		}
	}
	return role
}

// SignIn turns an upstream sign-in into a Puguh user (signIn), and records
// the outcome: sign_in.succeeded or sign_in.failed with the connection, and
// the provisioning or linking it did.
func (s *Service) SignIn(ctx context.Context, c *LoginConnection, up Upstream) (*storage.User, error) {
	u, err := s.signIn(ctx, c, up)
	if err != nil {
		if reason, ok := refusalReasons[err]; ok {
			s.Failed(ctx, &c.Connection, reason)
		}
		return nil, err
	}
	audit.Or(s.Audit).Record(ctx, audit.Event{Type: audit.SignInSucceeded, OrganizationID: c.OrganizationID,
		Actor: audit.User(u.ID), Subject: audit.User(u.ID), Details: signInDetails(&c.Connection)})
	return u, nil
}

// Failed records a federated sign-in that did not complete: the provider
// refused it, or its answer was not valid (reason, in a word). Never a
// token or an assertion.
func (s *Service) Failed(ctx context.Context, c *Connection, reason string) {
	d := signInDetails(c)
	d["reason"] = reason
	audit.Or(s.Audit).Record(ctx, audit.Event{Type: audit.SignInFailed, OrganizationID: c.OrganizationID,
		Actor: audit.Ref{Type: audit.ActorAnonymous}, Details: d})
}

func signInDetails(c *Connection) map[string]string {
	return map[string]string{"method": "federation", "connection_id": c.ID, "protocol": c.Protocol}
}

// refusalReasons names the refusals of signIn in the audit log.
var refusalReasons = map[error]string{
	ErrNoSubject: "no_subject", ErrNoEmail: "no_email", ErrDomain: "domain_not_connected",
	ErrUnverified: "email_not_verified", ErrNotOrgMember: "not_a_member", ErrDisabled: "disabled",
}

// signIn turns an upstream sign-in into a Puguh user:
//
//  1. an upstream subject linked before signs in as the linked user;
//  2. otherwise the email must be in one of the connection's domains;
//  3. an existing account with that email is linked only when the provider
//     says the address is verified and the account is already a member of
//     the connection's organization;
//  4. otherwise a new account is provisioned, with a random password nobody
//     knows, and made a member of the organization with the mapped role.
//
// A linked or provisioned user who is not a member of the organization
// (removed since) is added again with the mapped role; an existing role is
// never changed.
func (s *Service) signIn(ctx context.Context, c *LoginConnection, up Upstream) (*storage.User, error) {
	if up.Subject == "" {
		return nil, ErrNoSubject
	}
	role := RoleFor(&c.Connection, up.Groups)
	fi, err := s.Store.FederatedIdentity(ctx, c.ID, up.Subject)
	switch {
	case err == nil:
		u, err := s.Store.UserByID(ctx, fi.UserID)
		if err != nil {
			return nil, fmt.Errorf("federation: linked user: %w", err)
		}
		if u.Disabled {
			return nil, ErrDisabled
		}
		return u, s.ensureMember(ctx, c.OrganizationID, u.ID, role)
	case !errors.Is(err, storage.ErrNotFound):
		return nil, fmt.Errorf("federation: linked identity: %w", err)
	}

	addr, ok := problem.NormalizeEmail(up.Email)
	if !ok {
		return nil, ErrNoEmail
	}
	_, domain, _ := strings.Cut(addr, "@")
	if !slices.Contains(c.Domains, domain) {
		return nil, ErrDomain
	}
	u, err := s.Store.UserByEmail(ctx, addr)
	provisioned := false
	switch {
	case err == nil:
		if err := s.mayLink(ctx, c, u, up); err != nil {
			return nil, err
		}
	case errors.Is(err, storage.ErrNotFound):
		if u, err = s.provision(ctx, addr, up.Name); err != nil {
			return nil, err
		}
		if err := s.ensureMember(ctx, c.OrganizationID, u.ID, role); err != nil {
			return nil, err
		}
		provisioned = true
	default:
		return nil, fmt.Errorf("federation: user by email: %w", err)
	}
	if err := s.Store.LinkIdentity(ctx, &storage.FederatedIdentity{
		ConnectionID: c.ID, Subject: up.Subject, UserID: u.ID, CreatedAt: s.now(),
	}); err != nil {
		if errors.Is(err, storage.ErrConflict) {
			return nil, problem.Conflictf("This sign-in is already being completed. Try again.")
		}
		return nil, fmt.Errorf("federation: link: %w", err)
	}
	e := audit.Event{Type: audit.FederationAccountLinked, OrganizationID: c.OrganizationID, Actor: audit.User(u.ID),
		Subject: audit.User(u.ID), Details: map[string]string{"connection_id": c.ID, "protocol": c.Protocol}}
	if provisioned {
		e.Type, e.Details["role"] = audit.FederationUserProvisioned, role
	}
	audit.Or(s.Audit).Record(ctx, e)
	return u, nil
}

// mayLink holds the account-takeover rules for an account that exists.
func (s *Service) mayLink(ctx context.Context, c *LoginConnection, u *storage.User, up Upstream) error {
	if !up.EmailVerified {
		return ErrUnverified
	}
	if _, err := s.Store.Membership(ctx, c.OrganizationID, u.ID); errors.Is(err, storage.ErrNotFound) {
		return ErrNotOrgMember
	} else if err != nil {
		return fmt.Errorf("federation: membership: %w", err)
	}
	if u.Disabled {
		return ErrDisabled
	}
	return nil
}

// provision creates the account of a first upstream sign-in, with its own
// personal organization like every account, and a random password that is
// never shown: the person signs in upstream.
func (s *Service) provision(ctx context.Context, email, name string) (*storage.User, error) {
	var b [32]byte
	_, _ = rand.Read(b[:])
	hash, err := s.Hasher.Hash(ctx, base64.RawURLEncoding.EncodeToString(b[:]))
	if err != nil {
		return nil, fmt.Errorf("federation: provision: %w", err)
	}
	var v problem.Validator
	fullName := email
	if strings.TrimSpace(name) != "" {
		v.Name(&name, 200, &fullName, "name")
		if v.Err() != nil {
			fullName = email
		}
	}
	now := s.now()
	u := &storage.User{ID: uuid.NewString(), Email: email, FullName: fullName, PasswordHash: hash, CreatedAt: now, UpdatedAt: now}
	org := &storage.Organization{ID: uuid.NewString(), Name: fullName, Plan: storage.PlanFree, Personal: true, CreatedAt: now, UpdatedAt: now}
	if err := s.Store.Register(ctx, u, org); err != nil {
		if errors.Is(err, storage.ErrConflict) {
			return nil, problem.Conflictf("This sign-in is already being completed. Try again.")
		}
		return nil, fmt.Errorf("federation: provision: %w", err)
	}
	return u, nil
}

func (s *Service) ensureMember(ctx context.Context, orgID, userID, role string) error {
	_, err := s.Store.Membership(ctx, orgID, userID)
	if err == nil {
		return nil
	}
	if !errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("federation: membership: %w", err)
	}
	err = s.Store.AddMember(ctx, &storage.Membership{OrganizationID: orgID, UserID: userID, Role: role, CreatedAt: s.now()})
	if err != nil && !errors.Is(err, storage.ErrConflict) {
		return fmt.Errorf("federation: add member: %w", err)
	}
	return nil
}

// GroupsOf reads a groups claim: a list of strings, or one string.
func GroupsOf(v any) []string {
	switch g := v.(type) {
	case string:
		return []string{g}
	case []any:
		out := make([]string, 0, len(g))
		for _, x := range g {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	case []string:
		return g
	}
	return nil
}

// FromClaims reads an upstream identity out of ID-token claims through the
// connection's claim mapping. email_verified may be a boolean or the string
// "true" (some providers send it so).
func FromClaims(c *Connection, claims map[string]any) Upstream {
	str := func(name string) string { s, _ := claims[name].(string); return s }
	up := Upstream{Subject: str("sub"), Email: str(c.EmailClaim), Name: str(c.NameClaim), Groups: GroupsOf(claims[c.GroupsClaim])}
	switch v := claims["email_verified"].(type) {
	case bool:
		up.EmailVerified = v
	case string:
		up.EmailVerified = v == "true"
	}
	return up
}
