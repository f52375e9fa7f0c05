package clients

import (
	"context"
	"errors"
	"fmt"

	"github.com/arsaka/puguh/provider/audit"
	"github.com/arsaka/puguh/provider/authz"
	"github.com/arsaka/puguh/provider/problem"
	"github.com/arsaka/puguh/storage"
)

// ErrNoConsent answers a revocation of a consent the user never gave (or an
// application that does not exist: which one is nobody else's business).
var ErrNoConsent = &problem.Error{Kind: problem.NotFound, Detail: "Consent not found"}

// consentOwner checks that p is a user acting on their own consents: the
// connected apps are a person's, not an organization's, so neither an API
// key nor a service account may read or revoke them.
func consentOwner(p *authz.Principal) error {
	if p == nil || !p.IsUser() || p.ID == "" {
		return problem.Forbid("Only a signed-in user can manage their own connected applications")
	}
	return nil
}

// Consents lists the applications the acting user consented to, with the
// scopes granted and when each was last used ("connected apps").
func (s *Service) Consents(ctx context.Context, p *authz.Principal) ([]storage.UserConsent, error) {
	if err := consentOwner(p); err != nil {
		return nil, err
	}
	list, err := s.Store.ConsentsOfUser(ctx, p.ID)
	if err != nil {
		return nil, fmt.Errorf("clients: consents: %w", err)
	}
	return list, nil
}

// RevokeConsent withdraws the acting user's consent to an application: the
// remembered grant goes, so the next authorization asks again, and every
// token family the user holds for the application is revoked (refresh tokens
// at once, access tokens through the denylist, on every replica).
func (s *Service) RevokeConsent(ctx context.Context, p *authz.Principal, appID string) error {
	if err := consentOwner(p); err != nil {
		return err
	}
	if len(appID) > 256 {
		return ErrNoConsent
	}
	families, err := s.Store.DeleteConsentGrant(ctx, appID, p.ID)
	if errors.Is(err, storage.ErrNotFound) {
		return ErrNoConsent
	}
	if err != nil {
		return fmt.Errorf("clients: revoke consent: %w", err)
	}
	var errs []error
	for _, f := range families {
		errs = append(errs, s.Tokens.RevokeFamily(ctx, f))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("clients: revoke consent: %w", err)
	}
	e := audit.Event{Type: audit.ConsentRevoked, Actor: audit.Actor(p), Subject: audit.User(p.ID),
		Details: map[string]string{"application_id": appID}}
	if app, err := s.Store.ApplicationByID(ctx, appID); err == nil {
		e.OrganizationID, e.Details["name"] = app.OrganizationID, app.Name
	}
	audit.Or(s.Audit).Record(ctx, e)
	return nil
}
