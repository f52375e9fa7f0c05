package oauth

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/arsaka/puguh/storage"

	"github.com/ory/fosite"
)

// TokenPair is what the REST API's login and refresh answer with.
type TokenPair struct {
	AccessToken  string
	RefreshToken string
	ExpiresIn    int // seconds
}

// ErrInvalidGrant means a refresh token is unknown, expired, revoked or reused.
var ErrInvalidGrant = errors.New("oauth: invalid grant")

// IssueUserTokens issues an access and refresh token to the first-party client
// for a user whose password the caller has verified, acting in orgID.
//
// fosite does the issuing: the request is built as a password grant that is
// already authenticated, and fosite's password-grant handler populates the
// response (signing the JWT, storing token signatures), so refresh, revocation
// and introspection treat these tokens like any other.
func (p *Provider) IssueUserTokens(ctx context.Context, userID, orgID string) (*TokenPair, error) {
	sess := NewSession().(*Session)
	sess.Subject = userID
	sess.Kind = KindUser
	sess.OrganizationID = orgID
	sess.ClientID = FirstPartyClientID
	now := time.Now().UTC()
	sess.SetExpiresAt(fosite.AccessToken, now.Add(p.cfg.AccessTokenLifetime).Round(time.Second))
	sess.SetExpiresAt(fosite.RefreshToken, now.Add(p.cfg.RefreshTokenLifetime).Round(time.Second))

	req := fosite.NewAccessRequest(sess)
	req.GrantTypes = fosite.Arguments{"password"}
	req.Client = p.firstParty
	req.RequestedAt = now
	req.SetRequestedScopes(fosite.Arguments{"offline_access"})
	req.GrantScope("offline_access")
	req.SetRequestedAudience(fosite.Arguments{p.cfg.APIAudience()})
	req.GrantAudience(p.cfg.APIAudience())
	sess.FamilyID = req.GetID()

	resp, err := p.internal.NewAccessResponse(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("oauth: issue tokens: %w", unwrapFosite(err))
	}
	return p.pair(resp, sess.GetExpiresAt(fosite.AccessToken))
}

// Refresh exchanges a first-party refresh token through fosite's refresh flow
// (rotation, reuse detection, grace period and family cap live in the storage).
//
// fosite answers invalid_request ("please retry") when the storage refuses a
// rotation after its read accepted the token: the grace period ended in
// between, or a concurrent rotation won. Refresh retries then, so the
// outcome is definite: a new pair, or, the token now reading as reused, its
// family revoked. Answering 401 without the retry left the family alive
// after a replay that came just as the grace period ended.
func (p *Provider) Refresh(ctx context.Context, refreshToken string) (*TokenPair, error) {
	var err error
	for range maxRefreshAttempts {
		var pair *TokenPair
		pair, err = p.refreshOnce(ctx, refreshToken)
		if err == nil {
			return pair, nil
		}
		if !storageRefused(err) {
			break
		}
	}
	return nil, refreshError(err)
}

// maxRefreshAttempts bounds Refresh's retries; one is enough for the grace
// period's boundary, the others absorb PostgreSQL serialization failures.
const maxRefreshAttempts = 3

func (p *Provider) refreshOnce(ctx context.Context, refreshToken string) (*TokenPair, error) {
	form := url.Values{
		"grant_type":    {"refresh_token"},
		"refresh_token": {refreshToken},
		"client_id":     {FirstPartyClientID},
	}
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, p.cfg.Issuer+"/api/v1/auth/refresh", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("oauth: refresh request: %w", err)
	}
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	sess := NewSession()
	req, err := p.internal.NewAccessRequest(ctx, r, sess)
	if err != nil {
		return nil, err
	}
	if err := p.userStillActive(ctx, req); err != nil {
		return nil, err
	}
	resp, err := p.internal.NewAccessResponse(ctx, req)
	if err != nil {
		return nil, err
	}
	return p.pair(resp, req.GetSession().GetExpiresAt(fosite.AccessToken))
}

// storageRefused reports fosite's "please retry" answer to a storage refusal
// during a refresh (flow_refresh.go, handleRefreshTokenEndpointStorageError).
func storageRefused(err error) bool {
	var rfc *fosite.RFC6749Error
	return errors.As(err, &rfc) && rfc.ErrorField == fosite.ErrInvalidRequest.ErrorField &&
		(errors.Is(err, fosite.ErrInactiveToken) || errors.Is(err, fosite.ErrNotFound) || errors.Is(err, fosite.ErrSerializationFailure))
}

// RevokeFamily revokes a token family: its refresh tokens in the database,
// then its access tokens (never stored) through the denylist (logout,
// password change, a revoked grant, RFC 7009 revocation of an access token).
// An error means the revocation is not complete, and the caller must say so
// (storage.ErrUnavailable in the chain: the database is down).
// The denial comes last: a caller retrying with the family's access token
// (a logout) must find it working until everything is recorded.
func (p *Provider) RevokeFamily(ctx context.Context, familyID string) error {
	if err := p.store.RevokeRefreshToken(ctx, familyID); err != nil && !errors.Is(err, fosite.ErrNotFound) {
		return err
	}
	return p.DenyFamily(ctx, familyID)
}

func (p *Provider) pair(resp fosite.AccessResponder, accessExpiry time.Time) (*TokenPair, error) {
	refresh, _ := resp.GetExtra("refresh_token").(string)
	if resp.GetAccessToken() == "" || refresh == "" {
		return nil, errors.New("oauth: fosite issued no token pair")
	}
	// RFC 6749 §5.1: expires_in is the token's lifetime, the configured 3600,
	// not the 3599 left after fosite rounded the expiry to the second (up to
	// half a second down) and the request waited on the database. Only an
	// expiry cut well short of the lifetime is reported as what is left.
	expiresIn := int(p.cfg.AccessTokenLifetime / time.Second)
	if left := time.Until(accessExpiry); left < p.cfg.AccessTokenLifetime-time.Minute {
		expiresIn = int(math.Round(left.Seconds()))
	}
	return &TokenPair{AccessToken: resp.GetAccessToken(), RefreshToken: refresh, ExpiresIn: expiresIn}, nil
}

// refreshError keeps server-side failures (database down) apart from a bad
// refresh token, which is the client's problem.
func refreshError(err error) error {
	var rfc *fosite.RFC6749Error
	if errors.As(err, &rfc) && rfc.ErrorField == fosite.ErrServerError.ErrorField || errors.Is(err, storage.ErrUnavailable) {
		return fmt.Errorf("oauth: refresh: %w", unwrapFosite(err))
	}
	return fmt.Errorf("%w: %w", ErrInvalidGrant, err)
}

// unwrapFosite returns the storage error inside a fosite server error, so that
// storage.ErrUnavailable, which the storage puts on a database outage, still
// reaches the HTTP layer as a 503.
func unwrapFosite(err error) error {
	var rfc *fosite.RFC6749Error
	if errors.As(err, &rfc) {
		if cause := rfc.Unwrap(); cause != nil {
			err = fmt.Errorf("%s: %w", rfc.ErrorField, cause)
		}
	}
	return err
}

// RevokeClient ends every grant made to a client: its refresh families in
// the database, and every access token it was issued (client_credentials
// tokens and code grants without a refresh token included) through the
// denylist; deleting an application calls it.
func (p *Provider) RevokeClient(ctx context.Context, clientID string) error {
	families, err := p.store.RevokeClient(ctx, clientID)
	if err != nil {
		return err
	}
	// The client's denial covers every token it was issued; the families'
	// ones are recorded too, so that a family's tokens stay denied whatever
	// happens to the client's entry. A failure fails the deletion, whose
	// retry revokes again.
	errs := []error{p.DenyClient(ctx, clientID)}
	for _, f := range families {
		errs = append(errs, p.DenyFamily(ctx, f))
	}
	return errors.Join(errs...)
}

// userStillActive refuses a token request made for a user who has since been
// disabled or deleted: disabling revokes the user's grants, and this check
// catches a grant that escaped it (a code redeemed, or a family refreshed,
// while the account was being disabled). It runs after fosite validated the
// request and before it issues anything, so nothing is rotated or stored.
func (p *Provider) userStillActive(ctx context.Context, ar fosite.AccessRequester) error {
	sess, ok := ar.GetSession().(*Session)
	if !ok || sess.Kind != KindUser || sess.Subject == "" || p.cfg.Users == nil {
		return nil
	}
	u, err := p.cfg.Users.UserByID(ctx, sess.Subject)
	switch {
	case errors.Is(err, storage.ErrNotFound) || (err == nil && u.Disabled):
		return fosite.ErrInvalidGrant.WithHint("The user's account is disabled.")
	case err != nil:
		return fosite.ErrServerError.WithWrap(err).WithDebug(err.Error())
	}
	return nil
}
