package credentials

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

// Rotation windows: how long a rotated key or secret keeps working beside
// its successor.
const (
	DefaultOverlap = 24 * time.Hour
	MaxOverlap     = 7 * 24 * time.Hour
	// RotationDue is the age from which a key or secret is flagged for
	// rotation (quarterly).
	RotationDue = 90 * 24 * time.Hour
)

// ParseOverlap reads an overlap window ("24h", "90m", "0s"): nil is the
// default; it must lie between 0 (a compromised credential: stop at once)
// and MaxOverlap. A bad one is an Invalid problem at overlap.
func ParseOverlap(raw *string) (time.Duration, error) {
	if raw == nil {
		return DefaultOverlap, nil
	}
	var v problem.Validator
	d, err := time.ParseDuration(*raw)
	switch {
	case err != nil:
		v.Add("invalid duration: use a number with a unit, e.g. 24h, 90m or 0s", "value_error.duration", "overlap")
	case d < 0:
		v.Add("ensure this value is at least 0s", "value_error.duration.negative", "overlap")
	case d > MaxOverlap:
		v.Add("ensure this value is at most 168h (7 days)", "value_error.duration.max", "overlap")
	}
	if err := v.Err(); err != nil {
		return 0, err
	}
	return d, nil
}

// Live reports whether a listed key still authenticates at now: a rotated
// key stops at the end of its overlap, an expired one at its expiry.
func Live(k *storage.APIKey, now time.Time) bool {
	switch {
	case k.RevokedAt != nil:
		return false
	case k.RotationEndsAt != nil && !now.Before(*k.RotationEndsAt):
		return false
	case k.ExpiresAt != nil && !now.Before(*k.ExpiresAt):
		return false
	}
	return true
}

// Due reports whether a credential made at created is old enough to rotate.
func Due(created, now time.Time) bool { return now.Sub(created) >= RotationDue }

// RotatedKey is a rotation's outcome: the new key with its secret, shown
// this once, and when the key it replaces stops working.
type RotatedKey struct {
	CreatedKey
	Replaces       string
	ReplacedEndsAt time.Time
}

// ErrAlreadyRotated answers a second rotation of one key: rotate its
// successor instead.
var ErrAlreadyRotated = problem.Conflictf("API key has already been rotated: rotate its replacement")

// RotateKey replaces one of the organization's keys by a new one with the
// same name, role, permissions, owner and expiry; the old key keeps working
// for overlap (raw, see ParseOverlap), then stops. It takes api_keys.create
// and what revoking the key takes (a key may rotate itself).
func (s *Service) RotateKey(ctx context.Context, p *authz.Principal, id string, overlap *string) (*RotatedKey, error) {
	if err := p.Require(authz.APIKeysCreate); err != nil {
		return nil, err
	}
	if err := p.Require(authz.APIKeysDelete); err != nil {
		return nil, err
	}
	d, err := ParseOverlap(overlap)
	if err != nil {
		return nil, err
	}
	now := s.now()
	k, err := s.Store.APIKeyByID(ctx, p.OrganizationID, id)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && !Live(k, now)) {
		return nil, ErrNoKey
	}
	if err != nil {
		return nil, fmt.Errorf("credentials: rotate key: %w", err)
	}
	if k.ReplacedBy != nil {
		return nil, ErrAlreadyRotated
	}
	if err := mayRevoke(p, k); err != nil {
		return nil, err
	}
	secret, err := Generate()
	if err != nil {
		return nil, fmt.Errorf("credentials: rotate key: %w", err)
	}
	next := &storage.APIKey{ID: uuid.NewString(), OrganizationID: k.OrganizationID, Name: k.Name, Prefix: secret.Display,
		Hash: secret.Hash, Permissions: k.Permissions, Role: k.Role, CreatedBy: k.CreatedBy,
		ServiceAccountID: k.ServiceAccountID, CreatedAt: now, ExpiresAt: k.ExpiresAt}
	ends := now.Add(d)
	if err := s.Store.RotateAPIKey(ctx, p.OrganizationID, k.ID, next, ends); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			// Rotated or revoked meanwhile.
			return nil, ErrAlreadyRotated
		}
		return nil, fmt.Errorf("credentials: rotate key: %w", err)
	}
	// The rotated key is the subject, as for its revocation; its successor is
	// named in the details, since it has no api_key.created event of its own.
	audit.Or(s.Audit).Record(ctx, audit.Event{Type: audit.APIKeyRotated, OrganizationID: p.OrganizationID, Actor: audit.Actor(p),
		Subject: keyRef(k.ID), Details: map[string]string{"name": k.Name, "prefix": k.Prefix,
			"replaced_by": next.ID, "new_prefix": next.Prefix, "overlap": d.String()}})
	return &RotatedKey{CreatedKey: CreatedKey{APIKey: *next, Key: secret.Key}, Replaces: k.ID, ReplacedEndsAt: ends}, nil
}

// RotatedSecret is a service account's new client secret, shown this once,
// and when the previous one stops working.
type RotatedSecret struct {
	ClientID             string
	ClientSecret         string
	PreviousSecretEndsAt time.Time
}

// RotateServiceAccountSecret gives the account a new client secret; the
// current one keeps working for overlap (see ParseOverlap), then stops. A
// secret rotated earlier and still in its window stops at once: an account
// has at most one previous secret. It takes what deleting the account takes.
func (s *Service) RotateServiceAccountSecret(ctx context.Context, p *authz.Principal, id string, overlap *string) (*RotatedSecret, error) {
	sa, err := s.account(ctx, p, id, authz.ServiceAccountsDelete)
	if err != nil {
		return nil, err
	}
	if err := p.Require(authz.ServiceAccountsCreate); err != nil {
		return nil, err
	}
	if !p.MayGrant(sa.Role) {
		return nil, problem.CannotManageRole(sa.Role)
	}
	d, err := ParseOverlap(overlap)
	if err != nil {
		return nil, err
	}
	secret, err := NewClientSecret()
	if err != nil {
		return nil, err
	}
	now := s.now()
	if err := s.Store.RotateServiceAccountSecret(ctx, p.OrganizationID, sa.ID, secret.Hash, now, now.Add(d)); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return nil, ErrNoServiceAccount
		}
		return nil, fmt.Errorf("credentials: rotate service account secret: %w", err)
	}
	audit.Or(s.Audit).Record(ctx, audit.Event{Type: audit.ServiceAccountSecretRotated, OrganizationID: p.OrganizationID, Actor: audit.Actor(p),
		Subject: accountRef(sa.ID), Details: map[string]string{"name": sa.Name, "client_id": sa.ClientID, "overlap": d.String()}})
	return &RotatedSecret{ClientID: sa.ClientID, ClientSecret: secret.Secret, PreviousSecretEndsAt: now.Add(d)}, nil
}

// SecretCreatedAt is when the account's current secret was made.
func SecretCreatedAt(sa *storage.ServiceAccount) time.Time {
	if sa.SecretRotatedAt != nil {
		return *sa.SecretRotatedAt
	}
	return sa.CreatedAt
}

// PreviousSecretEndsAt is when the account's previous secret stops working,
// or nil when it has none that works at now.
func PreviousSecretEndsAt(sa *storage.ServiceAccount, now time.Time) *time.Time {
	if sa.PreviousSecretHash == nil || sa.PreviousSecretEndsAt == nil || !now.Before(*sa.PreviousSecretEndsAt) {
		return nil
	}
	return sa.PreviousSecretEndsAt
}
