package clients

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/arsaka/puguh/provider/audit"
	"github.com/arsaka/puguh/provider/authz"
	"github.com/arsaka/puguh/provider/credentials"
	"github.com/arsaka/puguh/provider/problem"
	"github.com/arsaka/puguh/storage"
)

// Store is what the application rules read and write (the cached store: the
// token endpoint reads applications through the same cache, so a change made
// here applies there at once on this replica, and on the others when the
// cache's eviction arrives).
type Store interface {
	CreateApplication(ctx context.Context, a *storage.Application) error
	ApplicationByID(ctx context.Context, id string) (*storage.Application, error)
	ListApplications(ctx context.Context, orgID string) ([]storage.Application, error)
	UpdateApplication(ctx context.Context, a *storage.Application) error
	DeleteApplication(ctx context.Context, orgID, id string) error

	ListConsentGrants(ctx context.Context, applicationID string) ([]storage.ConsentGrant, error)
	// DeleteConsentGrant deletes the grant and returns the user's token
	// families for the application.
	DeleteConsentGrant(ctx context.Context, applicationID, userID string) ([]string, error)
	// ConsentsOfUser lists the applications a user consented to.
	ConsentsOfUser(ctx context.Context, userID string) ([]storage.UserConsent, error)
}

// Tokens revokes what an application was issued (oauth.Provider).
type Tokens interface {
	// RevokeClient ends every grant made to the client.
	RevokeClient(ctx context.Context, clientID string) error
	// RevokeFamily ends one token family.
	RevokeFamily(ctx context.Context, familyID string) error
}

// Operators tells whether a user is a platform operator (identity.Service).
type Operators interface {
	IsOperator(ctx context.Context, userID string) (bool, error)
}

// Service applies the application rules.
type Service struct {
	Store     Store
	Tokens    Tokens
	Operators Operators
	// Audit records applications created, changed, rotated and deleted, and
	// consents revoked; nil: nothing.
	Audit audit.Recorder
	Now   func() time.Time
	// SigningAlgorithms are the algorithms this server has keys for
	// (PUGUH_SIGNING_ALGORITHMS); an application may choose only these. Nil
	// means RS256 only.
	SigningAlgorithms []string
}

// appRef names an application in an audit event.
func appRef(id string) audit.Ref { return audit.Ref{Type: "application", ID: id} }

func (s *Service) record(ctx context.Context, typ audit.Type, p *authz.Principal, app *storage.Application, details map[string]string) {
	if details == nil {
		details = map[string]string{}
	}
	details["name"] = app.Name
	audit.Or(s.Audit).Record(ctx, audit.Event{Type: typ, OrganizationID: app.OrganizationID, Actor: audit.Actor(p),
		Subject: appRef(app.ID), Details: details})
}

// ErrNoApplication is the answer for an application that does not exist or
// is another organization's: ids cannot be probed across tenants.
var ErrNoApplication = &problem.Error{Kind: problem.NotFound, Detail: "Application not found"}

func (s *Service) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

// mayTrust refuses "trusted": true to anyone but a platform operator. A
// trusted application skips the consent page for every user of this Puguh,
// so no tenant may declare its own application first-party. `puguh clients
// create --trusted` remains for operators at the console.
func (s *Service) mayTrust(ctx context.Context, p *authz.Principal, f ApplicationFields) error {
	if f.Trusted == nil || !*f.Trusted {
		return nil
	}
	if p.IsUser() && s.Operators != nil {
		op, err := s.Operators.IsOperator(ctx, p.ID)
		if err != nil {
			return err
		}
		if op {
			return nil
		}
	}
	return problem.Forbid("Only platform operators can mark an application trusted")
}

// Create registers an application of the caller's organization and returns
// it with its client secret (empty for a public client), shown once.
func (s *Service) Create(ctx context.Context, p *authz.Principal, f ApplicationFields) (*storage.Application, string, error) {
	if err := p.Require(authz.ApplicationsCreate); err != nil {
		return nil, "", err
	}
	if err := s.mayTrust(ctx, p, f); err != nil {
		return nil, "", err
	}
	app, secret, err := NewApplication(p.OrganizationID, f, s.now())
	if err != nil {
		return nil, "", err
	}
	if err := s.checkAlgorithms(app); err != nil {
		return nil, "", err
	}
	if err := s.Store.CreateApplication(ctx, app); err != nil {
		return nil, "", fmt.Errorf("clients: create: %w", err)
	}
	s.record(ctx, audit.ApplicationCreated, p, app, map[string]string{"public": strconv.FormatBool(app.Public), "trusted": strconv.FormatBool(app.Trusted)})
	return app, secret, nil
}

// List lists the organization's applications (applications.read).
func (s *Service) List(ctx context.Context, p *authz.Principal) ([]storage.Application, error) {
	if err := p.Require(authz.ApplicationsRead); err != nil {
		return nil, err
	}
	apps, err := s.Store.ListApplications(ctx, p.OrganizationID)
	if err != nil {
		return nil, fmt.Errorf("clients: list: %w", err)
	}
	return apps, nil
}

// Get returns one of the organization's applications (applications.read).
func (s *Service) Get(ctx context.Context, p *authz.Principal, id string) (*storage.Application, error) {
	return s.application(ctx, p, id, authz.ApplicationsRead)
}

// Update changes the fields given (PATCH semantics). Making a public client
// confidential issues its first secret, returned here only.
func (s *Service) Update(ctx context.Context, p *authz.Principal, id string, f ApplicationFields) (*storage.Application, string, error) {
	if err := s.mayTrust(ctx, p, f); err != nil {
		return nil, "", err
	}
	var app *storage.Application
	var secret string
	err := s.readModifyWrite(ctx, p, id, authz.ApplicationsUpdate, func(a *storage.Application) error {
		var err error
		app = a
		if secret, err = UpdateApplication(a, f, s.now()); err != nil {
			return err
		}
		return s.checkAlgorithms(a)
	})
	if err != nil {
		return nil, "", err
	}
	details := map[string]string{}
	if secret != "" {
		details["secret_issued"] = "true"
	}
	s.record(ctx, audit.ApplicationUpdated, p, app, details)
	return app, secret, nil
}

// checkAlgorithms refuses signing algorithms this server has no keys for
// (validation has already refused the ones Puguh does not know).
func (s *Service) checkAlgorithms(a *storage.Application) error {
	enabled := s.SigningAlgorithms
	if len(enabled) == 0 {
		enabled = allowedSigningAlgs[:1]
	}
	var v problem.Validator
	for _, f := range [...]struct{ field, alg string }{
		{"id_token_signed_response_alg", a.IDTokenSignedResponseAlg},
		{"access_token_signed_response_alg", a.AccessTokenSignedResponseAlg},
	} {
		if f.alg != "" && !slices.Contains(enabled, f.alg) {
			v.Add(fmt.Sprintf("this server does not sign with %s; enabled: %s (PUGUH_SIGNING_ALGORITHMS)", f.alg, strings.Join(enabled, ", ")),
				"value_error.signing_alg", f.field)
		}
	}
	return v.Err()
}

// ErrConcurrentChange answers an update that lost two races in a row.
var ErrConcurrentChange = &problem.Error{Kind: problem.Conflict, Detail: "The application was changed at the same time; try again"}

// readModifyWrite loads the application (checking perm), applies change and
// writes it back if nobody wrote it in between. The store refuses a write to
// a version other than the one read; the read may come from a cache that has
// not seen another replica's write yet, and the refused write evicts it, so
// one retry works from the database. Losing twice is ErrConcurrentChange.
func (s *Service) readModifyWrite(ctx context.Context, p *authz.Principal, id, perm string, change func(*storage.Application) error) error {
	for attempt := 0; ; attempt++ {
		app, err := s.application(ctx, p, id, perm)
		if err != nil {
			return err
		}
		if err := change(app); err != nil {
			return err
		}
		err = s.Store.UpdateApplication(ctx, app)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, storage.ErrPrecondition) && attempt == 0:
			continue
		case errors.Is(err, storage.ErrPrecondition):
			return ErrConcurrentChange
		}
		return s.writeError(err)
	}
}

// Delete removes the application. Tokens it was issued must not outlive it:
// they are revoked first, so that if the delete then fails, a retry finds the
// application and revokes again (which is idempotent).
func (s *Service) Delete(ctx context.Context, p *authz.Principal, id string) error {
	app, err := s.application(ctx, p, id, authz.ApplicationsDelete)
	if err != nil {
		return err
	}
	if err := s.Tokens.RevokeClient(ctx, app.ID); err != nil {
		return fmt.Errorf("clients: delete: %w", err)
	}
	if err := s.Store.DeleteApplication(ctx, p.OrganizationID, app.ID); err != nil {
		return s.writeError(err)
	}
	s.record(ctx, audit.ApplicationDeleted, p, app, nil)
	return nil
}

// RotateSecret replaces a confidential client's secret and returns the new
// one, shown once. The old one stops working at once on this replica (the
// write evicts the cached client) and on the others as its cache says.
func (s *Service) RotateSecret(ctx context.Context, p *authz.Principal, id string) (string, error) {
	secret, err := credentials.NewClientSecret()
	if err != nil {
		return "", err
	}
	var rotated *storage.Application
	err = s.readModifyWrite(ctx, p, id, authz.ApplicationsUpdate, func(app *storage.Application) error {
		rotated = app
		if app.Public {
			return problem.Conflictf("Public applications have no client secret")
		}
		app.SecretHash = secret.Hash
		app.UpdatedAt = s.now().UTC()
		return nil
	})
	if err != nil {
		return "", err
	}
	s.record(ctx, audit.ApplicationSecretRotated, p, rotated, nil)
	return secret.Secret, nil
}

// Grants lists the consents users gave an application of the caller's
// organization (applications.grants.read).
func (s *Service) Grants(ctx context.Context, p *authz.Principal, appID string) ([]storage.ConsentGrant, error) {
	app, err := s.application(ctx, p, appID, authz.GrantsRead)
	if err != nil {
		return nil, err
	}
	grants, err := s.Store.ListConsentGrants(ctx, app.ID)
	if err != nil {
		return nil, fmt.Errorf("clients: grants: %w", err)
	}
	return grants, nil
}

// RevokeGrant forgets a user's consent to an application and revokes every
// token family the user holds for it (applications.grants.delete), so the
// application loses access at once, not when its tokens expire. It returns
// how many families it revoked.
func (s *Service) RevokeGrant(ctx context.Context, p *authz.Principal, appID, userID string) (int, error) {
	app, err := s.application(ctx, p, appID, authz.GrantsDelete)
	if err != nil {
		return 0, err
	}
	families, err := s.Store.DeleteConsentGrant(ctx, app.ID, userID)
	if errors.Is(err, storage.ErrNotFound) {
		return 0, problem.NotFoundf("Grant not found")
	}
	if err != nil {
		return 0, fmt.Errorf("clients: revoke grant: %w", err)
	}
	var errs []error
	for _, f := range families {
		errs = append(errs, s.Tokens.RevokeFamily(ctx, f))
	}
	if err := errors.Join(errs...); err != nil {
		return 0, fmt.Errorf("clients: revoke grant: %w", err)
	}
	audit.Or(s.Audit).Record(ctx, audit.Event{Type: audit.ConsentRevoked, OrganizationID: app.OrganizationID, Actor: audit.Actor(p),
		Subject: audit.User(userID), Details: map[string]string{"application_id": app.ID, "name": app.Name}})
	return len(families), nil
}

// application loads one of the caller's organization's applications after
// checking perm. The store finds applications by client id alone, so the
// organization check is here.
func (s *Service) application(ctx context.Context, p *authz.Principal, id, perm string) (*storage.Application, error) {
	if err := p.Require(perm); err != nil {
		return nil, err
	}
	app, err := s.Store.ApplicationByID(ctx, id)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && app.OrganizationID != p.OrganizationID) {
		return nil, ErrNoApplication
	}
	if err != nil {
		return nil, fmt.Errorf("clients: application: %w", err)
	}
	return app, nil
}

func (s *Service) writeError(err error) error {
	if errors.Is(err, storage.ErrNotFound) {
		return ErrNoApplication
	}
	return fmt.Errorf("clients: write: %w", err)
}
