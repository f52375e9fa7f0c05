package rest

import (
	"context"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/arsaka/puguh/provider/auth"
	"github.com/arsaka/puguh/provider/authz"
	"github.com/arsaka/puguh/provider/httpapi"
	"github.com/arsaka/puguh/provider/mfa"
)

// Factors is what a signed-in user does with their own second factors
// (mfa.Service).
type Factors interface {
	Status(ctx context.Context, p *authz.Principal) (*mfa.Status, error)
	BeginTOTP(ctx context.Context, p *authz.Principal) (*mfa.Enrolment, error)
	ConfirmTOTP(ctx context.Context, p *authz.Principal, code *string) ([]string, error)
	RemoveTOTPWithCode(ctx context.Context, p *authz.Principal, password, code *string) error
	BeginEnrolment(ctx context.Context, token string) (*mfa.Enrolment, error)
	CompleteEnrolment(ctx context.Context, token string, code *string) (*mfa.Proof, []string, error)
}

// MFAPolicies is the organization policy (mfa.Policies).
type MFAPolicies interface {
	Get(ctx context.Context, p *authz.Principal, orgID string) (*mfa.Policy, error)
	Set(ctx context.Context, p *authz.Principal, orgID string, in mfa.PolicyInput) (*mfa.Policy, error)
	AtSignIn(ctx context.Context, userID string) (*mfa.Enforcement, error)
}

// MFAAPI serves a user's own second factors (/api/v1/users/me/mfa…), an
// organization's second-factor policy (/api/v1/organizations/{id}/mfa-policy)
// and the enrolment a sign-in stops at when that policy's grace period is
// over (/api/v1/auth/mfa/enroll…), docs/mfa.md.
type MFAAPI struct {
	Factors  Factors
	Policies MFAPolicies
	SignIn   SignIn
	Tokens   Tokens
	Auth     *auth.Authenticator
	MaxBody  int64
}

// Mount registers the routes.
func (a *MFAAPI) Mount(r *mux.Router) {
	h := func(f httpapi.HandlerFunc) http.Handler { return a.Auth.Required(f) }
	r.Handle("/api/v1/users/me/mfa", h(a.status)).Methods(http.MethodGet)
	r.Handle("/api/v1/users/me/mfa/totp", h(a.beginTOTP)).Methods(http.MethodPost)
	r.Handle("/api/v1/users/me/mfa/totp/confirm", h(a.confirmTOTP)).Methods(http.MethodPost)
	r.Handle("/api/v1/users/me/mfa/totp", h(a.removeTOTP)).Methods(http.MethodDelete)
	r.Handle("/api/v1/organizations/{id}/mfa-policy", h(a.getPolicy)).Methods(http.MethodGet)
	r.Handle("/api/v1/organizations/{id}/mfa-policy", h(a.putPolicy)).Methods(http.MethodPut)
	r.Handle("/api/v1/auth/mfa/enroll", httpapi.HandlerFunc(a.beginEnrolment)).Methods(http.MethodPost)
	r.Handle("/api/v1/auth/mfa/enroll/confirm", httpapi.HandlerFunc(a.completeEnrolment)).Methods(http.MethodPost)
}

type mfaStatusJSON struct {
	Enabled           bool `json:"enabled"`
	TOTP              bool `json:"totp"`
	RecoveryCodesLeft int  `json:"recovery_codes_left"`
	Passkeys          int  `json:"passkeys"`
}

func (a *MFAAPI) status(w http.ResponseWriter, r *http.Request) error {
	st, err := a.Factors.Status(r.Context(), principal(r))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, mfaStatusJSON{Enabled: st.Enabled(), TOTP: st.TOTP, RecoveryCodesLeft: st.RecoveryCodesLeft, Passkeys: st.Passkeys})
	return nil
}

// totpEnrolmentJSON is an enrolment waiting for its first code: the secret
// to type in, the otpauth URI, and its QR code as a PNG data: URI.
type totpEnrolmentJSON struct {
	Secret     string    `json:"secret"`
	URI        string    `json:"otpauth_uri"`
	QRCode     string    `json:"qr_code"`
	ExpiresAt  time.Time `json:"expires_at"`
	ConfirmURL string    `json:"confirm_url"`
}

func writeEnrolment(w http.ResponseWriter, e *mfa.Enrolment, confirm string) error {
	png, err := mfa.QRPNGDataURI(e.URI)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	httpapi.WriteJSON(w, http.StatusOK, totpEnrolmentJSON{Secret: e.Secret, URI: e.URI, QRCode: png,
		ExpiresAt: time.Now().UTC().Add(mfa.EnrolmentLifetime).Truncate(time.Second), ConfirmURL: confirm})
	return nil
}

// beginTOTP starts an authenticator-app enrolment (POST /api/v1/users/me/mfa/totp).
func (a *MFAAPI) beginTOTP(w http.ResponseWriter, r *http.Request) error {
	e, err := a.Factors.BeginTOTP(r.Context(), principal(r))
	if err != nil {
		return err
	}
	return writeEnrolment(w, e, "/api/v1/users/me/mfa/totp/confirm")
}

type codeRequest struct {
	Code *string `json:"code"`
}

type recoveryCodesJSON struct {
	RecoveryCodes []string `json:"recovery_codes"`
}

// confirmTOTP turns the app on with its first code and answers the ten
// recovery codes, this once (POST /api/v1/users/me/mfa/totp/confirm).
func (a *MFAAPI) confirmTOTP(w http.ResponseWriter, r *http.Request) error {
	var req codeRequest
	if err := httpapi.DecodeJSON(w, r, a.MaxBody, &req); err != nil {
		return err
	}
	codes, err := a.Factors.ConfirmTOTP(r.Context(), principal(r), req.Code)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	httpapi.WriteJSON(w, http.StatusOK, recoveryCodesJSON{RecoveryCodes: codes})
	return nil
}

type removeTOTPRequest struct {
	Password *string `json:"password"`
	Code     *string `json:"code"`
}

// removeTOTP turns the app off with the password and a code
// (DELETE /api/v1/users/me/mfa/totp).
func (a *MFAAPI) removeTOTP(w http.ResponseWriter, r *http.Request) error {
	var req removeTOTPRequest
	if err := httpapi.DecodeJSON(w, r, a.MaxBody, &req); err != nil {
		return err
	}
	if err := a.Factors.RemoveTOTPWithCode(r.Context(), principal(r), req.Password, req.Code); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type mfaPolicyJSON struct {
	OrganizationID     string     `json:"organization_id"`
	Required           bool       `json:"required"`
	GracePeriod        string     `json:"grace_period"`
	GracePeriodSeconds int64      `json:"grace_period_seconds"`
	RequiredSince      *time.Time `json:"required_since"`
	EnforcedFrom       *time.Time `json:"enforced_from"`
	UpdatedAt          *time.Time `json:"updated_at"`
}

func policyJSON(p *mfa.Policy) mfaPolicyJSON {
	out := mfaPolicyJSON{OrganizationID: p.OrganizationID, Required: p.Required,
		GracePeriod: mfa.FormatGracePeriod(p.GracePeriod), GracePeriodSeconds: int64(p.GracePeriod / time.Second),
		RequiredSince: p.RequiredSince, EnforcedFrom: p.EnforcedFrom()}
	if !p.UpdatedAt.IsZero() {
		t := p.UpdatedAt.UTC()
		out.UpdatedAt = &t
	}
	if out.RequiredSince != nil {
		t := out.RequiredSince.UTC()
		out.RequiredSince = &t
	}
	return out
}

func (a *MFAAPI) getPolicy(w http.ResponseWriter, r *http.Request) error {
	orgID, err := pathID(r, "id")
	if err != nil {
		return err
	}
	p, err := a.Policies.Get(r.Context(), principal(r), orgID)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, policyJSON(p))
	return nil
}

func (a *MFAAPI) putPolicy(w http.ResponseWriter, r *http.Request) error {
	orgID, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in mfa.PolicyInput
	if err := httpapi.DecodeJSON(w, r, a.MaxBody, &in); err != nil {
		return err
	}
	p, err := a.Policies.Set(r.Context(), principal(r), orgID, in)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, policyJSON(p))
	return nil
}

type enrolRequest struct {
	Challenge *string `json:"challenge"`
	Code      *string `json:"code"`
}

func (req *enrolRequest) validate(withCode bool) error {
	var v httpapi.Validator
	if req.Challenge == nil {
		v.Required("body", "challenge")
	}
	if withCode && req.Code == nil {
		v.Required("body", "code")
	}
	return v.Err()
}

// beginEnrolment shows the authenticator-app enrolment of a sign-in that
// answered mfa_enrollment_required (POST /api/v1/auth/mfa/enroll).
func (a *MFAAPI) beginEnrolment(w http.ResponseWriter, r *http.Request) error {
	var req enrolRequest
	if err := httpapi.DecodeJSON(w, r, a.MaxBody, &req); err != nil {
		return err
	}
	if err := req.validate(false); err != nil {
		return err
	}
	e, err := a.Factors.BeginEnrolment(r.Context(), *req.Challenge)
	if err != nil {
		return err
	}
	return writeEnrolment(w, e, "/api/v1/auth/mfa/enroll/confirm")
}

// enrolledTokens is the login's token pair with the recovery codes of the
// authenticator app the sign-in just set up.
type enrolledTokens struct {
	tokenResponse
	RecoveryCodes []string `json:"recovery_codes"`
}

// completeEnrolment turns the app on with its first code and finishes the
// sign-in (POST /api/v1/auth/mfa/enroll/confirm).
func (a *MFAAPI) completeEnrolment(w http.ResponseWriter, r *http.Request) error {
	var req enrolRequest
	if err := httpapi.DecodeJSON(w, r, a.MaxBody, &req); err != nil {
		return err
	}
	if err := req.validate(true); err != nil {
		return err
	}
	ctx := r.Context()
	proof, codes, err := a.Factors.CompleteEnrolment(ctx, *req.Challenge, req.Code)
	if err != nil {
		return err
	}
	orgID, err := a.SignIn.PersonalOrganization(ctx, proof.User)
	if err != nil {
		return err
	}
	pair, err := a.Tokens.IssueUserTokens(ctx, proof.User.ID, orgID)
	if err != nil {
		return err
	}
	httpapi.Logger(ctx).Info("user logged in", "user_id", proof.User.ID, "amr", mfa.JoinAMR(proof.AMR), "enrolled", mfa.FactorTOTP)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	httpapi.WriteJSON(w, http.StatusOK, enrolledTokens{tokenResponse: tokenResponse{
		AccessToken: pair.AccessToken, TokenType: "Bearer", ExpiresIn: pair.ExpiresIn, RefreshToken: pair.RefreshToken,
	}, RecoveryCodes: codes})
	return nil
}
