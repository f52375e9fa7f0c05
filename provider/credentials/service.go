package credentials

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/arsaka/puguh/provider/audit"
	"github.com/arsaka/puguh/provider/authz"
	"github.com/arsaka/puguh/provider/orgs"
	"github.com/arsaka/puguh/provider/problem"
	"github.com/arsaka/puguh/storage"
)

// Store is what the credential rules read and write: API keys and service
// accounts (the cached store, so a revocation or deletion is forgotten by
// every cache that held it).
type Store interface {
	CreateAPIKey(ctx context.Context, k *storage.APIKey) error
	APIKeyByID(ctx context.Context, orgID, id string) (*storage.APIKey, error)
	ListAPIKeys(ctx context.Context, orgID string) ([]storage.APIKey, error)
	RevokeAPIKey(ctx context.Context, orgID, id string, at time.Time) error

	CreateServiceAccount(ctx context.Context, sa *storage.ServiceAccount) error
	ServiceAccountByID(ctx context.Context, orgID, id string) (*storage.ServiceAccount, error)
	ListServiceAccounts(ctx context.Context, orgID string) ([]storage.ServiceAccount, error)
	// DeleteServiceAccount deletes the account and revokes its API keys.
	DeleteServiceAccount(ctx context.Context, orgID, id string, at time.Time) error

	RotateAPIKey(ctx context.Context, orgID, oldID string, next *storage.APIKey, endsAt time.Time) error
	RotateServiceAccountSecret(ctx context.Context, orgID, id string, newHash []byte, at, endsAt time.Time) error
}

// Service applies the rules of API keys and service accounts: who may create,
// list and revoke them, and with which role and permissions. Only people
// create credentials (docs/security.md, "Credentials act as themselves").
type Service struct {
	Store Store
	// Audit records keys and service accounts created, rotated, revoked and
	// deleted; nil: nothing.
	Audit audit.Recorder
	Now   func() time.Time
}

func (s *Service) now() time.Time {
	if s.Now == nil {
		return time.Now().UTC()
	}
	return s.Now().UTC()
}

// KeyRequest is what a new key asks for. Role and Permissions are
// alternatives; with neither, the key gets the role and every permission of
// whom it acts for. ExpiresAt is an RFC 3339 time, parsed here so that a bad
// one is an Invalid problem at expires_at.
type KeyRequest struct {
	Name        *string   `json:"name"`
	ExpiresAt   *string   `json:"expires_at"`
	Role        *string   `json:"role"`
	Permissions *[]string `json:"permissions"`
}

// CreatedKey is a new key with its secret, shown this once.
type CreatedKey struct {
	storage.APIKey
	Key string
}

// CreateKey creates an API key for the calling user in its current
// organization.
func (s *Service) CreateKey(ctx context.Context, p *authz.Principal, req KeyRequest) (*CreatedKey, error) {
	if !p.IsUser() {
		return nil, problem.Forbid("Only users can create API keys")
	}
	if err := p.Require(authz.APIKeysCreate); err != nil {
		return nil, err
	}
	return s.newKey(ctx, p, nil, req, p.Permissions, p.Role)
}

// CreateServiceAccountKey creates an API key that acts as the service
// account, with at most the account's permissions. It takes a person who may
// manage the account.
func (s *Service) CreateServiceAccountKey(ctx context.Context, p *authz.Principal, accountID string, req KeyRequest) (*CreatedKey, error) {
	sa, err := s.account(ctx, p, accountID, authz.ServiceAccountsCreate)
	if err != nil {
		return nil, err
	}
	if !p.IsUser() {
		return nil, problem.Forbid("Only users can create API keys")
	}
	if !p.MayGrant(sa.Role) {
		return nil, problem.CannotManageRole(sa.Role)
	}
	ceiling := authz.Set{}
	for perm := range authz.ForRole(sa.Role) {
		if p.Permissions.Has(perm) {
			ceiling[perm] = struct{}{}
		}
	}
	return s.newKey(ctx, p, &sa.ID, req, ceiling, sa.Role)
}

// newKey validates req, narrows its permissions to ceiling (Forbidden for
// any permission beyond it), checks that p may hand out the key's role, and
// stores the key. A key given a role keeps it (its rank); a key given neither
// role nor permissions gets every permission of ceiling and defaultRole (the
// role of whom it acts for); a key given permissions has no role of its own,
// and its rank is what they imply.
func (s *Service) newKey(ctx context.Context, p *authz.Principal, accountID *string, req KeyRequest,
	ceiling authz.Set, defaultRole string) (*CreatedKey, error) {
	now := s.now()
	var v problem.Validator
	var name string
	v.Name(req.Name, 200, &name, "name")
	var expires *time.Time
	if req.ExpiresAt != nil {
		t, err := time.Parse(time.RFC3339Nano, *req.ExpiresAt)
		switch {
		case err != nil:
			v.Add("invalid datetime format", "value_error.datetime", "expires_at")
		case !t.After(now):
			v.Add("expires_at must be in the future", "value_error.datetime.past", "expires_at")
		default:
			t = t.UTC()
			expires = &t
		}
	}
	perms := requestedPermissions(&v, req, ceiling)
	if err := v.Err(); err != nil {
		return nil, err
	}
	for _, perm := range perms {
		if !ceiling.Has(perm) {
			// A key never holds a permission its owner lacks.
			return nil, problem.MissingPermission(perm)
		}
	}
	role := ""
	switch {
	case req.Role != nil:
		role = *req.Role
	case req.Permissions == nil:
		role = defaultRole
	}
	if role != "" && !p.MayGrant(role) {
		return nil, problem.CannotManageRole(role)
	}
	secret, err := Generate()
	if err != nil {
		return nil, fmt.Errorf("credentials: new key: %w", err)
	}
	k := &storage.APIKey{ID: uuid.NewString(), OrganizationID: p.OrganizationID, Name: name, Prefix: secret.Display,
		Hash: secret.Hash, Permissions: perms, Role: role, CreatedBy: p.ID, ServiceAccountID: accountID,
		CreatedAt: now, ExpiresAt: expires}
	if err := s.Store.CreateAPIKey(ctx, k); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return nil, problem.NotFoundf("Service account not found")
		}
		return nil, fmt.Errorf("credentials: new key: %w", err)
	}
	details := map[string]string{"name": k.Name, "prefix": k.Prefix}
	if role != "" {
		details["role"] = role
	}
	if accountID != nil {
		details["service_account_id"] = *accountID
	}
	audit.Or(s.Audit).Record(ctx, audit.Event{Type: audit.APIKeyCreated, OrganizationID: p.OrganizationID, Actor: audit.Actor(p),
		Subject: keyRef(k.ID), Details: details})
	return &CreatedKey{APIKey: *k, Key: secret.Key}, nil
}

// requestedPermissions reads role or permissions into a sorted list,
// recording issues in v.
func requestedPermissions(v *problem.Validator, req KeyRequest, ceiling authz.Set) []string {
	switch {
	case req.Role != nil && req.Permissions != nil:
		v.Add("give either role or permissions, not both", "value_error.exclusive", "permissions")
		return nil
	case req.Role != nil:
		return authz.PermissionsOf(orgs.CheckRole(v, req.Role))
	case req.Permissions != nil:
		known := authz.NewSet(authz.AllPermissions()...)
		set := authz.Set{}
		if len(*req.Permissions) == 0 {
			v.Add("ensure this value has at least 1 items", "value_error.list.min_items", "permissions")
		}
		for i, perm := range *req.Permissions {
			if !known.Has(perm) {
				v.Add("unknown permission", "value_error.permission", "permissions", i)
				continue
			}
			set[perm] = struct{}{}
		}
		return set.Sorted()
	}
	return ceiling.Sorted()
}

// ListKeys lists the organization's keys that are not revoked (api_keys.read).
func (s *Service) ListKeys(ctx context.Context, p *authz.Principal) ([]storage.APIKey, error) {
	if err := p.Require(authz.APIKeysRead); err != nil {
		return nil, err
	}
	keys, err := s.Store.ListAPIKeys(ctx, p.OrganizationID)
	if err != nil {
		return nil, fmt.Errorf("credentials: list keys: %w", err)
	}
	// A rotated key whose overlap has ended works no more: not listed.
	now := s.now()
	live := keys[:0]
	for _, k := range keys {
		if k.RotationEndsAt == nil || now.Before(*k.RotationEndsAt) {
			live = append(live, k)
		}
	}
	return live, nil
}

// ErrNoKey is the answer for a key that does not exist, is revoked, or is
// another organization's.
var ErrNoKey = &problem.Error{Kind: problem.NotFound, Detail: "API key not found"}

// RevokeKey revokes one of the organization's keys; it stops working at once
// on this replica and, through the cached store's invalidations, soon on the
// others. Anyone with
// api_keys.delete may revoke the keys they created, and a key may revoke
// itself; other people's keys take what removing those people takes
// (organization.members.delete) and rank over the key's role, and a service
// account's keys what deleting the account takes. A key is not its creator:
// it cannot revoke its creator's other keys on the strength of being theirs.
func (s *Service) RevokeKey(ctx context.Context, p *authz.Principal, id string) error {
	if err := p.Require(authz.APIKeysDelete); err != nil {
		return err
	}
	k, err := s.Store.APIKeyByID(ctx, p.OrganizationID, id)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && k.RevokedAt != nil) {
		return ErrNoKey
	}
	if err != nil {
		return fmt.Errorf("credentials: revoke key: %w", err)
	}
	if err := mayRevoke(p, k); err != nil {
		return err
	}
	if err := s.Store.RevokeAPIKey(ctx, p.OrganizationID, id, s.now()); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return ErrNoKey
		}
		return fmt.Errorf("credentials: revoke key: %w", err)
	}
	audit.Or(s.Audit).Record(ctx, audit.Event{Type: audit.APIKeyRevoked, OrganizationID: p.OrganizationID, Actor: audit.Actor(p),
		Subject: keyRef(id), Details: map[string]string{"name": k.Name, "prefix": k.Prefix}})
	return nil
}

// keyRef names an API key in an audit event.
func keyRef(id string) audit.Ref { return audit.Ref{Type: authz.TypeAPIKey, ID: id} }

// accountRef names a service account in an audit event.
func accountRef(id string) audit.Ref { return audit.Ref{Type: authz.TypeServiceAccount, ID: id} }

// mayRevoke is whether p may end key k (RevokeKey's rules; rotation ends a
// key too).
func mayRevoke(p *authz.Principal, k *storage.APIKey) error {
	switch {
	case k.ID == p.ID && p.Type == authz.TypeAPIKey:
		return nil
	case k.ServiceAccountID != nil:
		return p.Require(authz.ServiceAccountsDelete)
	case !p.IsUser() || k.CreatedBy != p.ID:
		if err := p.Require(authz.MembersDelete); err != nil {
			return err
		}
		if k.Role != "" && !p.MayGrant(k.Role) {
			return problem.CannotManageRole(k.Role)
		}
	}
	return nil
}

// CreatedServiceAccount is a new service account with its client secret,
// shown this once.
type CreatedServiceAccount struct {
	storage.ServiceAccount
	ClientSecret string
}

// CreateServiceAccount creates a non-human principal of the caller's
// organization with role. Only people create credentials: a service account
// made by an API key or by another service account would outlive the
// revocation of the credential that made it.
func (s *Service) CreateServiceAccount(ctx context.Context, p *authz.Principal, name, role *string) (*CreatedServiceAccount, error) {
	if err := p.Require(authz.ServiceAccountsCreate); err != nil {
		return nil, err
	}
	if !p.IsUser() {
		return nil, problem.Forbid("Only users can create service accounts")
	}
	var v problem.Validator
	var n string
	v.Name(name, 200, &n, "name")
	r := orgs.CheckRole(&v, role)
	if err := v.Err(); err != nil {
		return nil, err
	}
	// Like adding a member: nobody creates an account more powerful than themselves.
	if !p.MayGrant(r) {
		return nil, problem.CannotManageRole(r)
	}
	secret, err := NewClientSecret()
	if err != nil {
		return nil, err
	}
	id := uuid.NewString()
	sa := &storage.ServiceAccount{ID: id, OrganizationID: p.OrganizationID, Name: n, Role: r,
		ClientID: "sa-" + id, SecretHash: secret.Hash, CreatedBy: p.ID, CreatedAt: s.now()}
	if err := s.Store.CreateServiceAccount(ctx, sa); err != nil {
		return nil, fmt.Errorf("credentials: create service account: %w", err)
	}
	audit.Or(s.Audit).Record(ctx, audit.Event{Type: audit.ServiceAccountCreated, OrganizationID: p.OrganizationID, Actor: audit.Actor(p),
		Subject: accountRef(sa.ID), Details: map[string]string{"name": sa.Name, "role": sa.Role, "client_id": sa.ClientID}})
	return &CreatedServiceAccount{ServiceAccount: *sa, ClientSecret: secret.Secret}, nil
}

// ListServiceAccounts lists the organization's service accounts (service_accounts.read).
func (s *Service) ListServiceAccounts(ctx context.Context, p *authz.Principal) ([]storage.ServiceAccount, error) {
	if err := p.Require(authz.ServiceAccountsRead); err != nil {
		return nil, err
	}
	accounts, err := s.Store.ListServiceAccounts(ctx, p.OrganizationID)
	if err != nil {
		return nil, fmt.Errorf("credentials: list service accounts: %w", err)
	}
	return accounts, nil
}

// ServiceAccount returns one of the organization's service accounts (service_accounts.read).
func (s *Service) ServiceAccount(ctx context.Context, p *authz.Principal, id string) (*storage.ServiceAccount, error) {
	return s.account(ctx, p, id, authz.ServiceAccountsRead)
}

// DeleteServiceAccount removes the account and revokes its API keys in the
// same transaction; its keys and its client_credentials tokens are refused
// from the next request on, here and (through the cached store's
// invalidations) soon on the other replicas. It takes rank over the account's role.
func (s *Service) DeleteServiceAccount(ctx context.Context, p *authz.Principal, id string) error {
	sa, err := s.account(ctx, p, id, authz.ServiceAccountsDelete)
	if err != nil {
		return err
	}
	if !p.MayGrant(sa.Role) {
		return problem.CannotManageRole(sa.Role)
	}
	if err := s.Store.DeleteServiceAccount(ctx, p.OrganizationID, sa.ID, s.now()); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return ErrNoServiceAccount
		}
		return fmt.Errorf("credentials: delete service account: %w", err)
	}
	audit.Or(s.Audit).Record(ctx, audit.Event{Type: audit.ServiceAccountDeleted, OrganizationID: p.OrganizationID, Actor: audit.Actor(p),
		Subject: accountRef(sa.ID), Details: map[string]string{"name": sa.Name}})
	return nil
}

// ErrNoServiceAccount is the answer for an account that does not exist or is
// another organization's.
var ErrNoServiceAccount = &problem.Error{Kind: problem.NotFound, Detail: "Service account not found"}

// account loads one of the caller's organization's accounts after checking perm.
func (s *Service) account(ctx context.Context, p *authz.Principal, id, perm string) (*storage.ServiceAccount, error) {
	if err := p.Require(perm); err != nil {
		return nil, err
	}
	sa, err := s.Store.ServiceAccountByID(ctx, p.OrganizationID, id)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, ErrNoServiceAccount
	}
	if err != nil {
		return nil, fmt.Errorf("credentials: service account: %w", err)
	}
	return sa, nil
}

// SortedPermissions is a key's permissions sorted, never nil.
func SortedPermissions(k *storage.APIKey) []string {
	perms := slices.Clone(k.Permissions)
	if perms == nil {
		perms = []string{}
	}
	slices.Sort(perms)
	return perms
}
