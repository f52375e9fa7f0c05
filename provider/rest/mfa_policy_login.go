package rest

import (
	"context"
	"net/http"
	"time"

	"github.com/arsaka/puguh/provider/httpapi"
	"github.com/arsaka/puguh/provider/mfa"
	"github.com/arsaka/puguh/provider/oauth"
	"github.com/arsaka/puguh/storage"
)

// EnrolmentStarter starts the enrolment a sign-in stops at (mfa.Service).
type EnrolmentStarter interface {
	StartEnrolment(ctx context.Context, userID string, amr []string) (*mfa.Pending, error)
}

// MFAEnrollmentRequiredDetail is the detail of the login's 403 when an
// organization's policy requires a second factor the user has not set up
// and its grace period is over.
const MFAEnrollmentRequiredDetail = "Your organization requires a second factor: set one up to sign in"

// mfaEnrollmentRequired is that 403: the FastAPI error shape with the
// challenge that POST /api/v1/auth/mfa/enroll and …/enroll/confirm take.
type mfaEnrollmentRequired struct {
	Detail                string                      `json:"detail"`
	MFAEnrollmentRequired bool                        `json:"mfa_enrollment_required"`
	Challenge             string                      `json:"challenge"`
	ExpiresIn             int                         `json:"expires_in"`
	EnrollURL             string                      `json:"enroll_url"`
	Organizations         []mfa.RequiringOrganization `json:"organizations"`
}

// mfaEnrollmentJSON tells a login within a grace period that it ends.
type mfaEnrollmentJSON struct {
	Required      bool                        `json:"required"`
	Deadline      time.Time                   `json:"deadline"`
	Organizations []mfa.RequiringOrganization `json:"organizations"`
	EnrollURL     string                      `json:"enroll_url"`
}

// loginTokens is the login's answer within a grace period.
type loginTokens struct {
	tokenResponse
	MFAEnrollment *mfaEnrollmentJSON `json:"mfa_enrollment,omitempty"`
}

// policyAtLogin applies the organization policies to a password sign-in of
// a user who was not asked for a second factor. Past the grace period it
// answers 403 mfa_enrollment_required (stop); within it, grace says when it
// ends, for the token answer.
func (a *IdentityAPI) policyAtLogin(w http.ResponseWriter, ctx context.Context, u *storage.User) (grace *mfa.Enforcement, stop bool, err error) {
	if a.Policies == nil || a.Enrol == nil {
		return nil, false, nil
	}
	e, err := a.Policies.AtSignIn(ctx, u.ID)
	if err != nil || !e.Required {
		return nil, false, err
	}
	if !e.Enforced {
		return e, false, nil
	}
	p, err := a.Enrol.StartEnrolment(ctx, u.ID, []string{mfa.AMRPassword})
	if err != nil {
		return nil, false, err
	}
	httpapi.WriteJSON(w, http.StatusForbidden, mfaEnrollmentRequired{
		Detail: MFAEnrollmentRequiredDetail, MFAEnrollmentRequired: true, Challenge: p.Token,
		ExpiresIn: int(mfa.EnrolmentLifetime.Seconds()), EnrollURL: "/api/v1/auth/mfa/enroll", Organizations: e.Organizations,
	})
	return nil, true, nil
}

// writeLoginTokens is writeTokens with, within a grace period, when it ends.
func writeLoginTokens(w http.ResponseWriter, p *oauth.TokenPair, grace *mfa.Enforcement) {
	if grace == nil {
		writeTokens(w, p)
		return
	}
	w.Header().Set("Pragma", "no-cache")
	httpapi.WriteJSON(w, http.StatusOK, loginTokens{
		tokenResponse: tokenResponse{AccessToken: p.AccessToken, TokenType: oauth.TokenTypeBearer, ExpiresIn: p.ExpiresIn, RefreshToken: p.RefreshToken},
		MFAEnrollment: &mfaEnrollmentJSON{Required: true, Deadline: grace.Deadline, Organizations: grace.Organizations,
			EnrollURL: "/api/v1/users/me/mfa/totp"},
	})
}
