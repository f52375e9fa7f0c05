package puguh

import "context"

// VerifyEmailRequest is the body of POST /api/v1/auth/verify-email: the
// token of the link mailed to the address.
type VerifyEmailRequest struct {
	Token string `json:"token"`
}

// EmailVerification is a confirmed address.
type EmailVerification struct {
	UserID        string `json:"user_id"`
	Email         string `json:"email"`
	EmailVerified bool   `json:"email_verified"`
}

// EmailRequest is the body of the requests that mail a link.
type EmailRequest struct {
	Email string `json:"email"`
}

// Accepted is the answer of a request that may mail a link: the same
// whether or not the address has an account.
type Accepted struct {
	Detail string `json:"detail"`
}

// PasswordResetRequest is the body of POST /api/v1/auth/password-reset/confirm.
type PasswordResetRequest struct {
	Token    string `json:"token"`
	Password string `json:"password"`
}

// VerifyEmail (verifyEmail) confirms an address with the token of the link
// mailed to it. The link works once. Anonymous.
func (s *AuthService) VerifyEmail(ctx context.Context, body VerifyEmailRequest, opts ...RequestOption) (*EmailVerification, error) {
	var out EmailVerification
	if _, err := s.c.do(ctx, call{op: "verifyEmail", body: body, out: &out, opts: opts}); err != nil {
		return nil, err
	}
	return &out, nil
}

// ResendVerification (resendVerification) mails a new confirmation link to
// the account with this address, if it is not yet confirmed. Anonymous.
func (s *AuthService) ResendVerification(ctx context.Context, body EmailRequest, opts ...RequestOption) (*Accepted, error) {
	var out Accepted
	if _, err := s.c.do(ctx, call{op: "resendVerification", body: body, out: &out, opts: opts}); err != nil {
		return nil, err
	}
	return &out, nil
}

// RequestPasswordReset (requestPasswordReset) mails a link that resets the
// password of the account with this address, if there is one. Anonymous.
func (s *AuthService) RequestPasswordReset(ctx context.Context, body EmailRequest, opts ...RequestOption) (*Accepted, error) {
	var out Accepted
	if _, err := s.c.do(ctx, call{op: "requestPasswordReset", body: body, out: &out, opts: opts}); err != nil {
		return nil, err
	}
	return &out, nil
}

// ConfirmPasswordReset (confirmPasswordReset) sets a new password with a
// reset link's token. Every session and refresh family of the user ends,
// this client's tokens too if they are the user's. Anonymous.
func (s *AuthService) ConfirmPasswordReset(ctx context.Context, body PasswordResetRequest, opts ...RequestOption) error {
	_, err := s.c.do(ctx, call{op: "confirmPasswordReset", body: body, opts: opts})
	return err
}
