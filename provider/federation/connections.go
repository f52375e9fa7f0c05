// Package federation holds the rules of enterprise federation: an
// organization connects its own OpenID Connect or SAML 2.0 identity
// provider, and the
// people of its email domains sign in there instead of with a Puguh password.
// It decides who may manage connections, what a connection may say, which
// connection an email belongs to, and what an upstream sign-in may do to
// Puguh's accounts (provisioning and linking, with the account-takeover
// rules of docs/federation.md). The upstream protocol itself is spoken by
// provider/web.
package federation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/arsaka/puguh/provider/audit"
	"github.com/arsaka/puguh/provider/authz"
	"github.com/arsaka/puguh/provider/problem"
	"github.com/arsaka/puguh/storage"
)

// Store is what the rules read and write.
type Store interface {
	CreateConnection(ctx context.Context, c *storage.FederationConnection) error
	UpdateConnection(ctx context.Context, c *storage.FederationConnection) error
	ConnectionByID(ctx context.Context, id string) (*storage.FederationConnection, error)
	ConnectionByDomain(ctx context.Context, domain string) (*storage.FederationConnection, error)
	ListConnections(ctx context.Context, orgID string) ([]storage.FederationConnection, error)
	DeleteConnection(ctx context.Context, orgID, id string) error
	FederatedIdentity(ctx context.Context, connectionID, subject string) (*storage.FederatedIdentity, error)
	LinkIdentity(ctx context.Context, fi *storage.FederatedIdentity) error

	Register(ctx context.Context, u *storage.User, personal *storage.Organization) error
	UserByEmail(ctx context.Context, email string) (*storage.User, error)
	UserByID(ctx context.Context, id string) (*storage.User, error)
	Membership(ctx context.Context, orgID, userID string) (*storage.Membership, error)
	AddMember(ctx context.Context, m *storage.Membership) error
}

// Roles is the acting principal in an organization (orgs.Service.ActIn).
type Roles interface {
	ActIn(ctx context.Context, p *authz.Principal, orgID string) (*authz.Principal, error)
}

// Sealer encrypts client secrets at rest (keys.Box).
type Sealer interface {
	Seal(id string, plaintext []byte) ([]byte, error)
	Open(id string, sealed []byte) ([]byte, error)
}

// Hasher hashes the random password of a provisioned account (password.Hasher).
type Hasher interface {
	Hash(ctx context.Context, password string) (string, error)
}

// Service applies the federation rules.
type Service struct {
	Store   Store
	Roles   Roles
	Secrets Sealer
	Hasher  Hasher
	Now     func() time.Time
	// Audit records connections created, changed and deleted, federated
	// sign-ins, provisioning and linking; nil: nothing.
	Audit audit.Recorder
}

// Limits of what a connection may hold.
const (
	MaxDomains  = 50
	MaxScopes   = 20
	MaxMappings = 50
	maxText     = 255
)

// Defaults of a connection's optional fields.
var (
	DefaultScopes = []string{"openid", "email", "profile"}
)

// Errors every surface answers the same way.
var (
	ErrNoConnection = &problem.Error{Kind: problem.NotFound, Detail: "Connection not found"}
)

// Input is what a caller sends to create or change a connection; nil is
// absent (required on create, unchanged on update). The client secret is
// write-only: no answer ever carries it.
type Input struct {
	Protocol     *string            `json:"protocol"` // "oidc" (default) or "saml"; set at creation only
	Name         *string            `json:"name"`
	Issuer       *string            `json:"issuer"`
	ClientID     *string            `json:"client_id"`
	ClientSecret *string            `json:"client_secret"`
	Scopes       *[]string          `json:"scopes"`
	EmailClaim   *string            `json:"email_claim"`
	NameClaim    *string            `json:"name_claim"`
	GroupsClaim  *string            `json:"groups_claim"`
	RoleMapping  *map[string]string `json:"role_mapping"`
	DefaultRole  *string            `json:"default_role"`
	Domains      *[]string          `json:"domains"`
	// SAML: the identity provider's metadata, from a URL or as XML.
	MetadataURL *string `json:"metadata_url"`
	MetadataXML *string `json:"metadata_xml"`
}

// Connection is a connection as callers see it: no secret, the mapping decoded.
type Connection struct {
	storage.FederationConnection
	Mapping map[string]string
}

// CallbackPath is the path of a connection's redirect URI on Puguh, which the
// organization registers at its identity provider.
func CallbackPath(id string) string { return "/federation/" + id + "/callback" }

// ReturnPath is where a connection's identity provider sends the browser
// back: the OIDC redirect URI, or the SAML assertion consumer service.
func ReturnPath(c *storage.FederationConnection) string {
	if c.Protocol == storage.ProtocolSAML {
		return SAMLACSPath(c.ID)
	}
	return CallbackPath(c.ID)
}

func (s *Service) now() time.Time {
	if s.Now == nil {
		return time.Now().UTC()
	}
	return s.Now().UTC()
}

// manager is p acting in orgID with the right to manage its connections:
// owners and admins (organization.update).
func (s *Service) manager(ctx context.Context, p *authz.Principal, orgID string) (*authz.Principal, error) {
	q, err := s.Roles.ActIn(ctx, p, orgID)
	if err != nil {
		return nil, err
	}
	if err := q.Require(authz.OrganizationUpdate); err != nil {
		return nil, err
	}
	return q, nil
}

// List returns the organization's connections.
func (s *Service) List(ctx context.Context, p *authz.Principal, orgID string) ([]Connection, error) {
	if _, err := s.manager(ctx, p, orgID); err != nil {
		return nil, err
	}
	rows, err := s.Store.ListConnections(ctx, orgID)
	if err != nil {
		return nil, fmt.Errorf("federation: list: %w", err)
	}
	out := make([]Connection, 0, len(rows))
	for i := range rows {
		out = append(out, view(&rows[i]))
	}
	return out, nil
}

// Get returns one of the organization's connections.
func (s *Service) Get(ctx context.Context, p *authz.Principal, orgID, id string) (*Connection, error) {
	if _, err := s.manager(ctx, p, orgID); err != nil {
		return nil, err
	}
	c, err := s.connection(ctx, orgID, id)
	if err != nil {
		return nil, err
	}
	v := view(c)
	return &v, nil
}

func (s *Service) connection(ctx context.Context, orgID, id string) (*storage.FederationConnection, error) {
	c, err := s.Store.ConnectionByID(ctx, id)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && c.OrganizationID != orgID) {
		return nil, ErrNoConnection
	}
	if err != nil {
		return nil, fmt.Errorf("federation: connection: %w", err)
	}
	return c, nil
}

// Create connects an identity provider to the organization.
func (s *Service) Create(ctx context.Context, p *authz.Principal, orgID string, in Input) (*Connection, error) {
	q, err := s.manager(ctx, p, orgID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	c := &storage.FederationConnection{
		ID: uuid.NewString(), OrganizationID: orgID, Protocol: storage.ProtocolOIDC,
		Scopes: DefaultScopes, EmailClaim: "email", NameClaim: "name", GroupsClaim: "groups",
		RoleMapping: "{}", DefaultRole: authz.Member, CreatedAt: now, UpdatedAt: now,
	}
	if err := s.apply(ctx, q, c, in, true); err != nil {
		return nil, err
	}
	if err := s.Store.CreateConnection(ctx, c); err != nil {
		return nil, writeError("create", err)
	}
	s.recordConnection(ctx, p, audit.FederationConnectionCreated, c)
	v := view(c)
	return &v, nil
}

// Update changes the fields in present in a connection; a new client secret
// replaces the old one.
func (s *Service) Update(ctx context.Context, p *authz.Principal, orgID, id string, in Input) (*Connection, error) {
	q, err := s.manager(ctx, p, orgID)
	if err != nil {
		return nil, err
	}
	c, err := s.connection(ctx, orgID, id)
	if err != nil {
		return nil, err
	}
	if err := s.apply(ctx, q, c, in, false); err != nil {
		return nil, err
	}
	c.UpdatedAt = s.now()
	if err := s.Store.UpdateConnection(ctx, c); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return nil, ErrNoConnection
		}
		return nil, writeError("update", err)
	}
	s.recordConnection(ctx, p, audit.FederationConnectionUpdated, c)
	v := view(c)
	return &v, nil
}

// Delete disconnects an identity provider: its domains sign in with
// passwords again, and its links to Puguh accounts are forgotten (the
// accounts stay).
func (s *Service) Delete(ctx context.Context, p *authz.Principal, orgID, id string) error {
	if _, err := s.manager(ctx, p, orgID); err != nil {
		return err
	}
	c, err := s.connection(ctx, orgID, id)
	if err != nil {
		return err
	}
	err = s.Store.DeleteConnection(ctx, orgID, id)
	if errors.Is(err, storage.ErrNotFound) {
		return ErrNoConnection
	}
	if err != nil {
		return fmt.Errorf("federation: delete: %w", err)
	}
	s.recordConnection(ctx, p, audit.FederationConnectionDeleted, c)
	return nil
}

// recordConnection records a change of a connection: never its secret,
// key or metadata, only what identifies it.
func (s *Service) recordConnection(ctx context.Context, p *authz.Principal, typ audit.Type, c *storage.FederationConnection) {
	audit.Or(s.Audit).Record(ctx, audit.Event{Type: typ, OrganizationID: c.OrganizationID, Actor: audit.Actor(p),
		Subject: audit.Ref{Type: "connection", ID: c.ID},
		Details: map[string]string{"name": c.Name, "protocol": c.Protocol, "domains": strings.Join(c.Domains, ",")}})
}

func writeError(op string, err error) error {
	if errors.Is(err, storage.ErrConflict) {
		return problem.Conflictf("One of these domains is already connected to another connection")
	}
	return fmt.Errorf("federation: %s: %w", op, err)
}

func view(c *storage.FederationConnection) Connection {
	m := map[string]string{}
	_ = json.Unmarshal([]byte(c.RoleMapping), &m)
	out := Connection{FederationConnection: *c, Mapping: m}
	out.ClientSecretSealed, out.SAMLSPKeySealed = nil, nil
	return out
}

// apply validates in and writes it into c; create requires the fields
// without defaults.
func (s *Service) apply(ctx context.Context, q *authz.Principal, c *storage.FederationConnection, in Input, create bool) error {
	var v problem.Validator
	required := func(present bool, field string) bool {
		if !present && create {
			v.Required(field)
		}
		return present
	}
	if required(in.Name != nil, "name") {
		v.Name(in.Name, 200, &c.Name, "name")
	}
	s.applyProtocol(&v, c, in, create)
	var secret string
	if c.Protocol == storage.ProtocolSAML {
		applySAML(&v, c, in, create)
	} else {
		secret = applyOIDC(&v, c, in, create)
	}
	for _, f := range []struct {
		in   *string
		dst  *string
		name string
	}{{in.EmailClaim, &c.EmailClaim, "email_claim"}, {in.NameClaim, &c.NameClaim, "name_claim"}, {in.GroupsClaim, &c.GroupsClaim, "groups_claim"}} {
		if f.in != nil {
			text(&v, *f.in, f.dst, f.name)
		}
	}
	if in.DefaultRole != nil {
		if checkRole(&v, q, *in.DefaultRole, "default_role") {
			c.DefaultRole = *in.DefaultRole
		}
	}
	if in.RoleMapping != nil {
		if mapping, ok := checkMapping(&v, q, *in.RoleMapping); ok {
			c.RoleMapping = mapping
		}
	}
	if required(in.Domains != nil, "domains") {
		c.Domains = checkDomains(&v, *in.Domains)
	}
	if err := v.Err(); err != nil {
		return err
	}
	if in.Domains != nil {
		for _, d := range c.Domains {
			other, err := s.Store.ConnectionByDomain(ctx, d)
			if err == nil && other.ID != c.ID {
				return problem.Conflictf("Domain " + d + " is already connected to another connection")
			}
			if err != nil && !errors.Is(err, storage.ErrNotFound) {
				return fmt.Errorf("federation: domain: %w", err)
			}
		}
	}
	if secret != "" {
		sealed, err := s.Secrets.Seal(c.ID, []byte(secret))
		if err != nil {
			return fmt.Errorf("federation: seal client secret: %w", err)
		}
		c.ClientSecretSealed = sealed
	}
	if c.Protocol == storage.ProtocolSAML && create {
		return s.newSPKey(c)
	}
	return nil
}

// applyProtocol sets the protocol of a new connection ("oidc" unless
// said); an existing connection keeps its own.
func (s *Service) applyProtocol(v *problem.Validator, c *storage.FederationConnection, in Input, create bool) {
	if in.Protocol == nil {
		return
	}
	switch p := *in.Protocol; {
	case p != storage.ProtocolOIDC && p != storage.ProtocolSAML:
		v.Add("value is not a valid enumeration member; permitted: 'oidc', 'saml'", "type_error.enum", "protocol")
	case create:
		c.Protocol = p
		if p == storage.ProtocolSAML {
			c.Scopes = []string{}
		}
	case p != c.Protocol:
		v.Add("a connection's protocol cannot be changed", "value_error.const", "protocol")
	}
}

// notFor refuses the fields of the other protocol.
func notFor(v *problem.Validator, protocol string, fields map[string]bool) {
	names := make([]string, 0, len(fields))
	for name, present := range fields {
		if present {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		v.Add("not used by "+protocol+" connections", "value_error.protocol", name)
	}
}

// applyOIDC validates the OpenID Connect fields; it returns the new client
// secret, if one was sent.
func applyOIDC(v *problem.Validator, c *storage.FederationConnection, in Input, create bool) string {
	required := func(present bool, field string) bool {
		if !present && create {
			v.Required(field)
		}
		return present
	}
	notFor(v, storage.ProtocolOIDC, map[string]bool{"metadata_url": in.MetadataURL != nil, "metadata_xml": in.MetadataXML != nil})
	if required(in.Issuer != nil, "issuer") {
		if iss, ok := checkIssuer(*in.Issuer); ok {
			c.Issuer = iss
		} else {
			v.Add("must be an https URL without query or fragment (http only on localhost)", "value_error.url", "issuer")
		}
	}
	if required(in.ClientID != nil, "client_id") {
		text(v, *in.ClientID, &c.ClientID, "client_id")
	}
	var secret string
	if required(in.ClientSecret != nil, "client_secret") {
		text(v, *in.ClientSecret, &secret, "client_secret")
	}
	if in.Scopes != nil {
		c.Scopes = checkScopes(v, *in.Scopes)
	}
	return secret
}

// text validates a required one-line value of 1..255 characters.
func text(v *problem.Validator, raw string, dst *string, field string) {
	s := strings.TrimSpace(raw)
	switch n := utf8.RuneCountInString(s); {
	case n == 0:
		v.Add("ensure this value has at least 1 characters", "value_error.any_str.min_length", field)
	case n > maxText:
		v.Add("ensure this value has at most 255 characters", "value_error.any_str.max_length", field)
	case !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		v.Add("value contains control characters", "value_error.str.control", field)
	default:
		*dst = s
	}
}

// checkIssuer accepts an https URL, or http on a loopback host (a provider
// on the same machine, as in tests), without query or fragment.
func checkIssuer(raw string) (string, bool) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || len(raw) > 2048 {
		return "", false
	}
	switch u.Scheme {
	case "https":
	case "http":
		host := u.Hostname()
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return "", false
		}
	default:
		return "", false
	}
	return strings.TrimSpace(raw), true
}

var scopeToken = regexp.MustCompile(`^[\x21\x23-\x5b\x5d-\x7e]{1,100}$`)

func checkScopes(v *problem.Validator, scopes []string) []string {
	if len(scopes) > MaxScopes {
		v.Add(fmt.Sprintf("ensure this value has at most %d items", MaxScopes), "value_error.list.max_items", "scopes")
		return nil
	}
	out := []string{}
	for i, s := range scopes {
		if !scopeToken.MatchString(s) {
			v.Add("not a valid scope token", "value_error.scope", "scopes", i)
			continue
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	if !slices.Contains(out, "openid") {
		v.Add("must include openid", "value_error.scope", "scopes")
	}
	return out
}

// checkRole accepts a role q may hand out: an admin cannot make owners
// through a mapping any more than by hand.
func checkRole(v *problem.Validator, q *authz.Principal, role string, loc ...any) bool {
	if !authz.ValidRole(role) {
		v.Add("value is not a valid enumeration member; permitted: 'owner', 'admin', 'member', 'viewer'", "type_error.enum", loc...)
		return false
	}
	if !q.MayGrant(role) {
		v.Add("you cannot grant the role "+role, "value_error.role", loc...)
		return false
	}
	return true
}

func checkMapping(v *problem.Validator, q *authz.Principal, m map[string]string) (string, bool) {
	if len(m) > MaxMappings {
		v.Add(fmt.Sprintf("ensure this value has at most %d items", MaxMappings), "value_error.dict.max_items", "role_mapping")
		return "", false
	}
	groups := make([]string, 0, len(m))
	for g := range m {
		groups = append(groups, g)
	}
	sort.Strings(groups)
	ok := true
	for _, g := range groups {
		var dst string
		if text(v, g, &dst, "role_mapping"); dst == "" {
			ok = false
			continue
		}
		ok = checkRole(v, q, m[g], "role_mapping", g) && ok
	}
	if !ok {
		return "", false
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", false
	}
	return string(b), true
}

var domainName = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)

func checkDomains(v *problem.Validator, domains []string) []string {
	switch {
	case len(domains) == 0:
		v.Add("ensure this value has at least 1 items", "value_error.list.min_items", "domains")
		return nil
	case len(domains) > MaxDomains:
		v.Add(fmt.Sprintf("ensure this value has at most %d items", MaxDomains), "value_error.list.max_items", "domains")
		return nil
	}
	out := []string{}
	for i, d := range domains {
		d = strings.ToLower(strings.TrimSpace(d))
		if len(d) > 253 || !domainName.MatchString(d) {
			v.Add("not a valid domain name", "value_error.domain", "domains", i)
			continue
		}
		if !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	sort.Strings(out)
	return out
}
