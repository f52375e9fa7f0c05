package mfa

import (
	"context"
	"errors"
	"fmt"

	"github.com/arsaka/puguh/provider/audit"
	"github.com/arsaka/puguh/provider/problem"
	"github.com/arsaka/puguh/storage"
)

// ErrWrongCode answers a wrong code when a signed-in user confirms an action.
const ErrWrongCode = "The code is not correct"

// ConfirmSecondFactor is the second half of re-authentication before an
// action that cannot be undone (deleting the account): a user with an
// authenticator app must give a code from it, or a recovery code; a user
// without one gives none. A wrong code counts against the same throttle as
// the sign-in's second step, and each code is accepted once. Passkeys are
// proven by a browser ceremony, not a code, so a user who has only passkeys
// confirms with the password alone.
func (s *Service) ConfirmSecondFactor(ctx context.Context, userID string, code *string) error {
	f, err := s.Store.TOTPByUser(ctx, userID)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && f.ConfirmedAt == nil) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("mfa: confirm: %w", err)
	}
	if code == nil || *code == "" {
		return problem.Invalidf(problem.Issue{Loc: []any{"code"}, Msg: "field required", Type: "value_error.missing"})
	}
	throttleKey := "mfa:" + userID
	if s.Throttle != nil {
		if err := s.Throttle.Attempt(ctx, throttleKey); err != nil {
			return err
		}
	}
	factor, ok, err := s.checkCode(ctx, userID, *code)
	if err != nil {
		return err
	}
	if !ok {
		s.record(ctx, audit.Event{Type: audit.MFAFailed, Actor: audit.User(userID), Subject: audit.User(userID),
			Details: map[string]string{"factor": factor, "step": "reauthentication"}})
		return problem.Forbid(ErrWrongCode)
	}
	if s.Throttle != nil {
		_ = s.Throttle.Succeeded(ctx, throttleKey)
	}
	s.record(ctx, audit.Event{Type: audit.MFAFactorUsed, Actor: audit.User(userID), Subject: audit.User(userID),
		Details: map[string]string{"factor": factor, "step": "reauthentication"}})
	return nil
}
