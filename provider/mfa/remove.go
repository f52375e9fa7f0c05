package mfa

import (
	"context"
	"strings"

	"github.com/arsaka/puguh/provider/audit"
	"github.com/arsaka/puguh/provider/authz"
	"github.com/arsaka/puguh/provider/problem"
)

// WrongCode is the answer to a wrong code where a signed-in user confirms a
// change with one.
const WrongCode = "The authentication code is not correct"

// RemoveTOTPWithCode turns TOTP off for the acting user after both factors
// again: their password and a current code from the app (or a recovery
// code, for a lost phone), which is spent. The REST API asks for both, so a
// stolen token and password alone cannot strip the second factor.
func (s *Service) RemoveTOTPWithCode(ctx context.Context, p *authz.Principal, password, code *string) error {
	if err := self(p); err != nil {
		return err
	}
	var v problem.Validator
	if password == nil || *password == "" {
		v.Required("password")
	}
	if code == nil || strings.TrimSpace(*code) == "" {
		v.Required("code")
	}
	if err := v.Err(); err != nil {
		return err
	}
	st, err := s.StatusOf(ctx, p.ID)
	if err != nil {
		return err
	}
	if !st.TOTP {
		return problemNoTOTP()
	}
	if err := s.reauthenticate(ctx, p.ID, password); err != nil {
		return err
	}
	throttleKey := "mfa:" + p.ID
	if s.Throttle != nil {
		if err := s.Throttle.Attempt(ctx, throttleKey); err != nil {
			return err
		}
	}
	factor, ok, err := s.checkCode(ctx, p.ID, *code)
	if err != nil {
		return err
	}
	if !ok {
		s.record(ctx, audit.Event{Type: audit.MFAFailed, Actor: audit.Actor(p), Subject: audit.User(p.ID),
			Details: map[string]string{"factor": factor, "step": "reauthentication"}})
		return problem.Forbid(WrongCode)
	}
	if s.Throttle != nil {
		_ = s.Throttle.Succeeded(ctx, throttleKey)
	}
	s.record(ctx, audit.Event{Type: audit.MFAFactorUsed, Actor: audit.Actor(p), Subject: audit.User(p.ID),
		Details: map[string]string{"factor": factor, "step": "reauthentication"}})
	return s.deleteTOTP(ctx, p)
}
