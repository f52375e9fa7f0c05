package puguh

import (
	"context"
	"encoding/json"
)

// MFARequiredError is the login's answer for a user with a second factor: a
// 401 whose body has "mfa_required": true and a challenge. Answer it with
// Auth.CompleteLogin(ctx, err.Challenge, code) within ExpiresIn seconds.
// errors.As also finds the *AuthenticationError (and *APIError) inside.
type MFARequiredError struct {
	*AuthenticationError
	// Challenge is single-use; send it with the code.
	Challenge string
	// Methods are the codes the user can answer with: "totp", "recovery_code".
	Methods []string
	// ExpiresIn is how many seconds the challenge lives.
	ExpiresIn int
}

func (e *MFARequiredError) Unwrap() error { return e.AuthenticationError }

// mfaRequiredOr returns the MFARequiredError a 401 carries, or a itself.
func mfaRequiredOr(a *AuthenticationError) error {
	var body struct {
		MFARequired bool     `json:"mfa_required"`
		Challenge   string   `json:"challenge"`
		Methods     []string `json:"methods"`
		ExpiresIn   int      `json:"expires_in"`
	}
	if json.Unmarshal(a.Body, &body) != nil || !body.MFARequired || body.Challenge == "" {
		return a
	}
	return &MFARequiredError{AuthenticationError: a, Challenge: body.Challenge, Methods: body.Methods, ExpiresIn: body.ExpiresIn}
}

// MFARequest is the body of CompleteLogin.
type MFARequest struct {
	Challenge string `json:"challenge"`
	Code      string `json:"code"`
}

// CompleteLogin (completeLogin) answers a login's MFARequiredError with a
// TOTP code or a recovery code; like Login, the client keeps the pair and
// acts as the user from now on. A wrong or used code is an
// *AuthenticationError ("Invalid authentication code"); an expired or used
// challenge one saying to sign in again. Anonymous.
func (s *AuthService) CompleteLogin(ctx context.Context, challenge, code string, opts ...RequestOption) (*TokenPair, error) {
	var out TokenPair
	if _, err := s.c.do(ctx, call{op: "completeLogin", body: MFARequest{Challenge: challenge, Code: code}, out: &out, opts: opts}); err != nil {
		return nil, err
	}
	if err := s.c.tokens.store(ctx, out); err != nil {
		return &out, err
	}
	return &out, nil
}
