package mfa

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/arsaka/puguh/provider/audit"
	"github.com/arsaka/puguh/provider/authz"
	"github.com/arsaka/puguh/provider/problem"
	"github.com/arsaka/puguh/storage"
)

// Organization policy bounds.
const (
	// DefaultGracePeriod is the grace period of a policy turned on without one:
	// a week for members to set up a second factor.
	DefaultGracePeriod = 7 * 24 * time.Hour
	// MaxGracePeriod bounds the grace period (90 days).
	MaxGracePeriod = 90 * 24 * time.Hour
)

// HasSecondFactor reports whether the user has any second factor: a
// confirmed authenticator app or a passkey. It is the one question the
// organization policy asks at sign-in; every factor Status counts counts.
func (s *Service) HasSecondFactor(ctx context.Context, userID string) (bool, error) {
	st, err := s.StatusOf(ctx, userID)
	if err != nil {
		return false, err
	}
	return st.Enabled(), nil
}

// PolicyStore is what the organization policy reads and writes.
type PolicyStore interface {
	MFAPolicy(ctx context.Context, orgID string) (*storage.MFAPolicy, error)
	SaveMFAPolicy(ctx context.Context, p *storage.MFAPolicy) error
	OrganizationsOfUser(ctx context.Context, userID string) ([]storage.UserOrganization, error)
}

// Roles is the acting principal in an organization (orgs.Service.ActIn).
type Roles interface {
	ActIn(ctx context.Context, p *authz.Principal, orgID string) (*authz.Principal, error)
}

// Policies applies organizations' rule "members must use a second factor":
// who may read and change it, and what it asks of a member at sign-in.
type Policies struct {
	Store PolicyStore
	Roles Roles
	// Factors says whether a member has a second factor, and starts the
	// enrolment a sign-in past the grace period stops at.
	Factors *Service
	// Audit records policy changes; nil: none.
	Audit audit.Recorder
	Now   func() time.Time
}

func (p *Policies) now() time.Time {
	if p.Now == nil {
		return time.Now().UTC()
	}
	return p.Now().UTC()
}

// Policy is an organization's policy as callers see it.
type Policy struct {
	storage.MFAPolicy
}

// EnforcedFrom is when members without a second factor stop signing in
// without enrolling: RequiredSince plus the grace period; nil when the
// policy is off.
func (p *Policy) EnforcedFrom() *time.Time {
	if !p.Required || p.RequiredSince == nil {
		return nil
	}
	t := p.RequiredSince.Add(p.GracePeriod).UTC()
	return &t
}

// FormatGracePeriod writes a grace period the way it is read: whole hours
// ("168h"), else whole minutes ("90m"), else seconds ("45s").
func FormatGracePeriod(d time.Duration) string {
	switch {
	case d == 0:
		return "0s"
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	}
	return strconv.FormatInt(int64(d/time.Second), 10) + "s"
}

// ParseGracePeriod reads a grace period as a Go duration ("168h", "90m",
// "0s", like an API key's rotation overlap); nil is DefaultGracePeriod. It
// must lie between 0 (enforced at once) and MaxGracePeriod, in whole
// seconds. A bad one is an Invalid problem at grace_period.
func ParseGracePeriod(raw *string) (time.Duration, error) {
	if raw == nil {
		return DefaultGracePeriod, nil
	}
	var v problem.Validator
	d, err := time.ParseDuration(*raw)
	switch {
	case err != nil:
		v.Add("invalid duration: use a number with a unit, e.g. 168h, 90m or 0s", "value_error.duration", "grace_period")
	case d < 0:
		v.Add("ensure this value is at least 0s", "value_error.duration.negative", "grace_period")
	case d > MaxGracePeriod:
		v.Add("ensure this value is at most 2160h (90 days)", "value_error.duration.max", "grace_period")
	case d%time.Second != 0:
		v.Add("use whole seconds", "value_error.duration", "grace_period")
	}
	if err := v.Err(); err != nil {
		return 0, err
	}
	return d, nil
}

// manager is pr acting in orgID with the right to change it: owners and
// admins (organization.update).
func (p *Policies) manager(ctx context.Context, pr *authz.Principal, orgID string) (*authz.Principal, error) {
	if pr == nil {
		return nil, problem.MissingPermission(authz.OrganizationUpdate)
	}
	q, err := p.Roles.ActIn(ctx, pr, orgID)
	if err != nil {
		return nil, err
	}
	if err := q.Require(authz.OrganizationUpdate); err != nil {
		return nil, err
	}
	return q, nil
}

// Get returns the organization's policy (not required when it has none).
func (p *Policies) Get(ctx context.Context, pr *authz.Principal, orgID string) (*Policy, error) {
	if _, err := p.manager(ctx, pr, orgID); err != nil {
		return nil, err
	}
	pol, err := p.Store.MFAPolicy(ctx, orgID)
	if err != nil {
		return nil, fmt.Errorf("mfa: policy: %w", err)
	}
	return &Policy{*pol}, nil
}

// PolicyInput is a policy as a caller writes it.
type PolicyInput struct {
	Required    *bool   `json:"required"`
	GracePeriod *string `json:"grace_period"`
}

// Set replaces the organization's policy. Turning it on starts the grace
// period now; saving it again while on keeps the start (a changed grace
// period moves the deadline from the same start); turning it off forgets
// the start. Every save is an audit event.
func (p *Policies) Set(ctx context.Context, pr *authz.Principal, orgID string, in PolicyInput) (*Policy, error) {
	q, err := p.manager(ctx, pr, orgID)
	if err != nil {
		return nil, err
	}
	var v problem.Validator
	if in.Required == nil {
		v.Required("required")
	}
	grace, gerr := ParseGracePeriod(in.GracePeriod)
	if err := v.Err(); err != nil {
		if pe := problem.As(gerr); pe != nil {
			return nil, problem.Invalidf(append(problem.As(err).Issues, pe.Issues...)...)
		}
		return nil, err
	}
	if gerr != nil {
		return nil, gerr
	}
	old, err := p.Store.MFAPolicy(ctx, orgID)
	if err != nil {
		return nil, fmt.Errorf("mfa: policy: %w", err)
	}
	now := p.now().Truncate(time.Microsecond) // as stored
	pol := storage.MFAPolicy{OrganizationID: orgID, Required: *in.Required, GracePeriod: grace, UpdatedAt: now}
	if pol.Required {
		pol.RequiredSince = &now
		if old.Required && old.RequiredSince != nil {
			pol.RequiredSince = old.RequiredSince
		}
	}
	err = p.Store.SaveMFAPolicy(ctx, &pol)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, problem.NotFoundf("Organization not found")
	}
	if err != nil {
		return nil, fmt.Errorf("mfa: save policy: %w", err)
	}
	details := map[string]string{"required": strconv.FormatBool(pol.Required), "grace_period": FormatGracePeriod(grace)}
	if old.Required != pol.Required {
		details["from_required"] = strconv.FormatBool(old.Required)
	}
	if p.Audit != nil {
		p.Audit.Record(ctx, audit.Event{Type: audit.OrganizationMFAPolicyChanged, OrganizationID: orgID,
			Actor: audit.Actor(q), Subject: audit.Ref{Type: "organization", ID: orgID}, Details: details})
	}
	return &Policy{pol}, nil
}

// RequiringOrganization is an organization whose policy applies to a member.
type RequiringOrganization struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// EnforcedFrom is when its grace period ends.
	EnforcedFrom time.Time `json:"enforced_from"`
}

// Enforcement is what the organization policies ask of one sign-in.
type Enforcement struct {
	// Required: an organization of the user requires a second factor and
	// the user has none. (A user with one is asked for it anyway.)
	Required bool
	// Deadline is the earliest end of a grace period among Organizations.
	Deadline time.Time
	// Enforced: Deadline has passed; the sign-in stops at enrolment.
	Enforced bool
	// Organizations are the organizations requiring it, soonest first.
	Organizations []RequiringOrganization
}

// AtSignIn is what the policies of the user's organizations ask of a
// sign-in that proved only a first factor: nothing (Required false) when
// none requires a second factor or the user has one; else the deadline,
// and whether it has passed.
func (p *Policies) AtSignIn(ctx context.Context, userID string) (*Enforcement, error) {
	orgs, err := p.Store.OrganizationsOfUser(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("mfa: sign-in policy: %w", err)
	}
	var e Enforcement
	for i := range orgs {
		pol, err := p.Store.MFAPolicy(ctx, orgs[i].ID)
		if err != nil {
			return nil, fmt.Errorf("mfa: sign-in policy: %w", err)
		}
		from := (&Policy{*pol}).EnforcedFrom()
		if from == nil {
			continue
		}
		e.Organizations = append(e.Organizations, RequiringOrganization{ID: orgs[i].ID, Name: orgs[i].Name, EnforcedFrom: *from})
	}
	if len(e.Organizations) == 0 {
		return &e, nil
	}
	has, err := p.Factors.HasSecondFactor(ctx, userID)
	if err != nil || has {
		return &Enforcement{}, err
	}
	sort.SliceStable(e.Organizations, func(i, j int) bool {
		return e.Organizations[i].EnforcedFrom.Before(e.Organizations[j].EnforcedFrom)
	})
	e.Required = true
	e.Deadline = e.Organizations[0].EnforcedFrom
	e.Enforced = !p.now().Before(e.Deadline)
	return &e, nil
}
