package mfa

import (
	"context"
	"errors"
	"fmt"

	"github.com/arsaka/puguh/provider/authz"
	"github.com/arsaka/puguh/provider/problem"
	"github.com/arsaka/puguh/storage"
)

// KindEnrol is the challenge of a sign-in that stops at enrolment: the
// user proved their password, an organization requires a second factor
// they do not have, and its grace period is over (or they chose to enrol
// during it).
const KindEnrol = "enrol"

// maxEnrolAttempts bounds the codes one enrolment challenge takes.
const maxEnrolAttempts = 10

// StartEnrolment records that userID passed the first factor (amr) and
// returns the challenge with which they set up a second factor and finish
// signing in. It lives as long as an enrolment (EnrolmentLifetime).
func (s *Service) StartEnrolment(ctx context.Context, userID string, amr []string) (*Pending, error) {
	token, err := randomToken()
	if err != nil {
		return nil, err
	}
	now := s.now()
	if err := s.Store.CreateMFAChallenge(ctx, &storage.MFAChallenge{
		ID: Digest(token), UserID: userID, Kind: KindEnrol, AMR: JoinAMR(amr), CreatedAt: now, ExpiresAt: now.Add(EnrolmentLifetime),
	}); err != nil {
		return nil, fmt.Errorf("mfa: start enrolment: %w", err)
	}
	return &Pending{Token: token, ExpiresAt: now.Add(EnrolmentLifetime), Methods: []string{FactorTOTP}}, nil
}

// enrolling is the user of a live enrolment challenge, as a principal
// acting on their own account.
func (s *Service) enrolling(ctx context.Context, token string) (*storage.MFAChallenge, *authz.Principal, error) {
	c, err := s.loadChallenge(ctx, token, KindEnrol)
	if err != nil {
		return nil, nil, err
	}
	return c, &authz.Principal{Type: authz.TypeUser, ID: c.UserID}, nil
}

// BeginEnrolment shows the authenticator-app enrolment of an enrolment
// challenge: the one waiting for its code, or a new one.
func (s *Service) BeginEnrolment(ctx context.Context, token string) (*Enrolment, error) {
	_, p, err := s.enrolling(ctx, token)
	if err != nil {
		return nil, err
	}
	e, err := s.PendingTOTP(ctx, p)
	if problem.Is(err, problem.NotFound) {
		return s.BeginTOTP(ctx, p)
	}
	return e, err
}

// CompleteEnrolment turns the challenge's authenticator app on with its
// first code (ConfirmTOTP, recorded as mfa.factor_added) and finishes the
// sign-in: the proof holds the password and the code, and codes are the
// ten recovery codes, shown this once. A wrong code keeps the challenge
// (up to maxEnrolAttempts codes).
func (s *Service) CompleteEnrolment(ctx context.Context, token string, code *string) (*Proof, []string, error) {
	c, p, err := s.enrolling(ctx, token)
	if err != nil {
		return nil, nil, err
	}
	n, err := s.Store.CountMFAChallengeAttempt(ctx, c.ID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil, problem.Unauthenticatedf(ErrChallenge)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("mfa: complete enrolment: %w", err)
	}
	if n > maxEnrolAttempts {
		_, _ = s.Store.ConsumeMFAChallenge(ctx, c.ID)
		return nil, nil, problem.Unauthenticatedf(ErrChallenge)
	}
	u, err := s.liveUser(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	codes, err := s.ConfirmTOTP(ctx, p, code)
	if err != nil {
		return nil, nil, err
	}
	if _, err := s.Store.ConsumeMFAChallenge(ctx, c.ID); err != nil {
		return nil, nil, fmt.Errorf("mfa: complete enrolment: %w", err)
	}
	amr := addAMR(SplitAMR(c.AMR), AMROTP, AMRMulti)
	return &Proof{UserID: u.ID, User: u, AMR: amr, Factor: FactorTOTP}, codes, nil
}

// SkipEnrolment finishes the sign-in of an enrolment challenge without a
// second factor, for a user still within every grace period: the caller
// checks the policies again (Policies.AtSignIn) before it calls this.
func (s *Service) SkipEnrolment(ctx context.Context, token string) (*Proof, error) {
	c, _, err := s.enrolling(ctx, token)
	if err != nil {
		return nil, err
	}
	u, err := s.liveUser(ctx, c)
	if err != nil {
		return nil, err
	}
	won, err := s.Store.ConsumeMFAChallenge(ctx, c.ID)
	if err != nil {
		return nil, fmt.Errorf("mfa: skip enrolment: %w", err)
	}
	if !won {
		return nil, problem.Unauthenticatedf(ErrChallenge)
	}
	return &Proof{UserID: u.ID, User: u, AMR: SplitAMR(c.AMR)}, nil
}

// EnrollingUser is the user id of a live enrolment challenge.
func (s *Service) EnrollingUser(ctx context.Context, token string) (string, error) {
	c, _, err := s.enrolling(ctx, token)
	if err != nil {
		return "", err
	}
	return c.UserID, nil
}

// liveUser is the challenge's user, unless they were deleted or disabled
// since the password (then the challenge is spent).
func (s *Service) liveUser(ctx context.Context, c *storage.MFAChallenge) (*storage.User, error) {
	u, err := s.Store.UserByID(ctx, c.UserID)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && u.Disabled) {
		_, _ = s.Store.ConsumeMFAChallenge(ctx, c.ID)
		return nil, problem.Unauthenticatedf(ErrChallenge)
	}
	if err != nil {
		return nil, fmt.Errorf("mfa: challenge user: %w", err)
	}
	return u, nil
}
