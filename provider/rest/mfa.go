package rest

import (
	"context"
	"net/http"

	"github.com/arsaka/puguh/provider/httpapi"
	"github.com/arsaka/puguh/provider/mfa"
	"github.com/arsaka/puguh/storage"
)

// SecondFactor is the second step of sign-in (mfa.Service).
type SecondFactor interface {
	StatusOf(ctx context.Context, userID string) (*mfa.Status, error)
	StartLogin(ctx context.Context, userID string, amr []string) (*mfa.Pending, error)
	CompleteLogin(ctx context.Context, token, code string) (*mfa.Proof, error)
}

// MFARequiredDetail is the detail of the login's answer when a second
// factor is needed.
const MFARequiredDetail = "A second factor is required"

// mfaRequired is the login's 401 for a user with a second factor: the
// FastAPI error shape ({"detail": …}) with the challenge to answer at
// POST /api/v1/auth/mfa. A client that only reads detail sees a failed
// login; one that knows mfa_required asks for the code.
type mfaRequired struct {
	Detail      string   `json:"detail"`
	MFARequired bool     `json:"mfa_required"`
	Challenge   string   `json:"challenge"`
	Methods     []string `json:"methods"`
	ExpiresIn   int      `json:"expires_in"`
}

// askSecondFactor answers the login with mfa_required when the user has a
// second factor; asked is false when they have none.
func (a *IdentityAPI) askSecondFactor(w http.ResponseWriter, ctx context.Context, u *storage.User) (asked bool, err error) {
	st, err := a.MFA.StatusOf(ctx, u.ID)
	if err != nil {
		return false, err
	}
	if !st.Enabled() {
		return false, nil
	}
	p, err := a.MFA.StartLogin(ctx, u.ID, []string{mfa.AMRPassword})
	if err != nil {
		return false, err
	}
	// REST sign-ins answer with a code: passkeys sign in through the pages.
	methods := []string{}
	for _, m := range p.Methods {
		if m != mfa.FactorPasskey {
			methods = append(methods, m)
		}
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="puguh"`)
	httpapi.WriteJSON(w, http.StatusUnauthorized, mfaRequired{
		Detail: MFARequiredDetail, MFARequired: true, Challenge: p.Token, Methods: methods,
		ExpiresIn: int(mfa.ChallengeLifetime.Seconds()),
	})
	return true, nil
}

type mfaRequest struct {
	Challenge *string `json:"challenge"`
	Code      *string `json:"code"`
}

// completeMFA answers a login's challenge with a TOTP or recovery code and
// returns the tokens the login would have (POST /api/v1/auth/mfa).
func (a *IdentityAPI) completeMFA(w http.ResponseWriter, r *http.Request) error {
	var req mfaRequest
	if err := httpapi.DecodeJSON(w, r, a.MaxBody, &req); err != nil {
		return err
	}
	var v httpapi.Validator
	if req.Challenge == nil {
		v.Required("body", "challenge")
	}
	if req.Code == nil {
		v.Required("body", "code")
	}
	if err := v.Err(); err != nil {
		return err
	}
	if a.MFA == nil {
		return httpapi.NotFound("")
	}
	ctx := r.Context()
	proof, err := a.MFA.CompleteLogin(ctx, *req.Challenge, *req.Code)
	if err != nil {
		return err
	}
	u := proof.User
	orgID, err := a.SignIn.PersonalOrganization(ctx, u)
	if err != nil {
		return err
	}
	pair, err := a.Tokens.IssueUserTokens(ctx, u.ID, orgID)
	if err != nil {
		return err
	}
	httpapi.Logger(ctx).Info("user logged in", "user_id", u.ID, "amr", mfa.JoinAMR(proof.AMR))
	writeTokens(w, pair)
	return nil
}
