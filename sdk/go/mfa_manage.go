package puguh

import (
	"context"
	"encoding/json"
	"time"
)

// MFAStatus (getMfaStatus) is which second factors the calling user has.
type MFAStatus struct {
	Enabled           bool `json:"enabled"`
	TOTP              bool `json:"totp"`
	RecoveryCodesLeft int  `json:"recovery_codes_left"`
	Passkeys          int  `json:"passkeys"`
}

// TOTPEnrollment is an authenticator-app enrolment waiting for its first
// code: the secret, its otpauth:// URI and the QR code as a PNG data: URI.
type TOTPEnrollment struct {
	Secret     string    `json:"secret"`
	OtpauthURI string    `json:"otpauth_uri"`
	QRCode     string    `json:"qr_code"`
	ExpiresAt  time.Time `json:"expires_at"`
	ConfirmURL string    `json:"confirm_url"`
}

// RecoveryCodes are the ten single-use recovery codes, shown once.
type RecoveryCodes struct {
	RecoveryCodes []string `json:"recovery_codes"`
}

// RemoveTOTPRequest is the body of MFA.RemoveTOTP: the password and a
// current code (or a recovery code).
type RemoveTOTPRequest struct {
	Password string `json:"password"`
	Code     string `json:"code"`
}

// MFAPolicy is an organization's rule that its members use a second factor.
type MFAPolicy struct {
	OrganizationID     string     `json:"organization_id"`
	Required           bool       `json:"required"`
	GracePeriod        string     `json:"grace_period"`
	GracePeriodSeconds int64      `json:"grace_period_seconds"`
	RequiredSince      *time.Time `json:"required_since"`
	EnforcedFrom       *time.Time `json:"enforced_from"`
	UpdatedAt          *time.Time `json:"updated_at"`
}

// MFAPolicyRequest is the body of Organizations.SetMFAPolicy. GracePeriod
// is a Go duration ("168h"); empty is the server's default (168h).
type MFAPolicyRequest struct {
	Required    bool   `json:"required"`
	GracePeriod string `json:"grace_period,omitempty"`
}

// EnrolledTokenPair is the token pair of a login finished by enrolling,
// with the new recovery codes.
type EnrolledTokenPair struct {
	TokenPair
	RecoveryCodes []string `json:"recovery_codes"`
}

// MFAService is the calling user's own second factors (/api/v1/users/me/mfa…).
type MFAService struct{ c *Client }

// Status (getMfaStatus).
func (s *MFAService) Status(ctx context.Context, opts ...RequestOption) (*MFAStatus, error) {
	return one[MFAStatus](ctx, s.c, call{op: "getMfaStatus", opts: opts})
}

// BeginTOTP (beginTotpEnrollment) starts setting up an authenticator app.
func (s *MFAService) BeginTOTP(ctx context.Context, opts ...RequestOption) (*TOTPEnrollment, error) {
	return one[TOTPEnrollment](ctx, s.c, call{op: "beginTotpEnrollment", opts: opts})
}

// ConfirmTOTP (confirmTotpEnrollment) turns the app on with its first code
// and returns the recovery codes, shown this once.
func (s *MFAService) ConfirmTOTP(ctx context.Context, code string, opts ...RequestOption) (*RecoveryCodes, error) {
	return one[RecoveryCodes](ctx, s.c, call{op: "confirmTotpEnrollment", body: map[string]string{"code": code}, opts: opts})
}

// RemoveTOTP (removeTotp) turns the app off, with the password and a code.
func (s *MFAService) RemoveTOTP(ctx context.Context, body RemoveTOTPRequest, opts ...RequestOption) error {
	_, err := s.c.do(ctx, call{op: "removeTotp", body: body, opts: opts})
	return err
}

// GetMFAPolicy (getMfaPolicy): owners and admins.
func (s *OrganizationsService) GetMFAPolicy(ctx context.Context, organizationID string, opts ...RequestOption) (*MFAPolicy, error) {
	return one[MFAPolicy](ctx, s.c, call{op: "getMfaPolicy", path: []string{organizationID}, opts: opts})
}

// SetMFAPolicy (setMfaPolicy) requires, or stops requiring, a second factor
// of the organization's members.
func (s *OrganizationsService) SetMFAPolicy(ctx context.Context, organizationID string, body MFAPolicyRequest, opts ...RequestOption) (*MFAPolicy, error) {
	return one[MFAPolicy](ctx, s.c, call{op: "setMfaPolicy", path: []string{organizationID}, body: body, opts: opts})
}

// MFAEnrollmentRequiredError is the login's answer when an organization of
// the user requires a second factor, its grace period is over and the user
// has none: a 403 whose body has "mfa_enrollment_required": true and a
// challenge. Show Auth.BeginLoginEnrollment(ctx, err.Challenge), then
// finish with Auth.CompleteLoginEnrollment. errors.As also finds the
// *PermissionDeniedError (and *APIError) inside.
type MFAEnrollmentRequiredError struct {
	*PermissionDeniedError
	// Challenge is the enrolment's; it lives ExpiresIn seconds.
	Challenge string
	ExpiresIn int
	// Organizations are the organizations that require it.
	Organizations []RequiringOrganization
}

// RequiringOrganization is an organization whose second-factor policy
// applies to the user.
type RequiringOrganization struct {
	ID           string    `json:"id"`
	Name         string    `json:"name"`
	EnforcedFrom time.Time `json:"enforced_from"`
}

func (e *MFAEnrollmentRequiredError) Unwrap() error { return e.PermissionDeniedError }

// enrollmentRequiredOr returns the MFAEnrollmentRequiredError a 403 carries, or p itself.
func enrollmentRequiredOr(p *PermissionDeniedError) error {
	var body struct {
		Required      bool                    `json:"mfa_enrollment_required"`
		Challenge     string                  `json:"challenge"`
		ExpiresIn     int                     `json:"expires_in"`
		Organizations []RequiringOrganization `json:"organizations"`
	}
	if json.Unmarshal(p.Body, &body) != nil || !body.Required || body.Challenge == "" {
		return p
	}
	return &MFAEnrollmentRequiredError{PermissionDeniedError: p, Challenge: body.Challenge, ExpiresIn: body.ExpiresIn, Organizations: body.Organizations}
}

// BeginLoginEnrollment (beginLoginEnrollment) shows the authenticator-app
// enrolment of an MFAEnrollmentRequiredError's challenge. Anonymous.
func (s *AuthService) BeginLoginEnrollment(ctx context.Context, challenge string, opts ...RequestOption) (*TOTPEnrollment, error) {
	return one[TOTPEnrollment](ctx, s.c, call{op: "beginLoginEnrollment", body: map[string]string{"challenge": challenge}, opts: opts})
}

// CompleteLoginEnrollment (completeLoginEnrollment) turns the app on with
// its first code and finishes the login; like Login, the client keeps the
// pair. The recovery codes are in the answer, this once. Anonymous.
func (s *AuthService) CompleteLoginEnrollment(ctx context.Context, challenge, code string, opts ...RequestOption) (*EnrolledTokenPair, error) {
	var out EnrolledTokenPair
	if _, err := s.c.do(ctx, call{op: "completeLoginEnrollment", body: MFARequest{Challenge: challenge, Code: code}, out: &out, opts: opts}); err != nil {
		return nil, err
	}
	if err := s.c.tokens.store(ctx, out.TokenPair); err != nil {
		return &out, err
	}
	return &out, nil
}
