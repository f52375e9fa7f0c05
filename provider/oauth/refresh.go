package oauth

import (
	"context"
	"errors"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/compose"
	"github.com/ory/fosite/handler/oauth2"
)

// Refresh tokens rotate by default: every refresh answers a new refresh
// token and retires the presented one, and presenting a retired one after
// the grace period revokes the whole grant (reuse detection, RFC 9700
// §4.14.2; storage/oauthstore/refresh.go). A client that keeps the refresh
// token of its login, as one written from the API guide's refresh example
// (whose response shows no refresh_token) does, is logged out by its second
// refresh.
//
// Config.KeepRefreshTokens (PUGUH_REFRESH_TOKEN_ROTATION=false) is for
// deployments whose clients do that: a refresh answers a new access token and
// the same refresh token, which stays valid until its own lifetime ends (it
// does not slide) or the family's absolute cap, whichever comes first, and is
// still revoked by logout, a password change, disabling the user, RFC 7009
// revocation and deleting the client. What is given up is reuse detection: a
// stolen refresh token works alongside the owner's until one of those.

// refreshTokenFactory builds fosite's refresh-token grant handler, or the
// non-rotating one.
func (p *Provider) refreshTokenFactory(config fosite.Configurator, storage, strategy any) any {
	h := compose.OAuth2RefreshTokenGrantFactory(config, storage, strategy).(*oauth2.RefreshTokenGrantHandler)
	if !p.cfg.KeepRefreshTokens {
		return h
	}
	return &keepRefreshTokens{RefreshTokenGrantHandler: h, store: storage.(refreshKeeper)}
}

// refreshKeeper confirms that a refresh token may be answered again
// (oauthstore.Store.KeepRefreshToken); a refusal is fosite.ErrInactiveToken.
type refreshKeeper interface {
	KeepRefreshToken(ctx context.Context, requestID, signature string) error
}

// keepRefreshTokens is fosite's refresh-token grant without rotation:
// fosite's HandleTokenEndpointRequest validates the presented token (its
// family, expiry, client, scopes), and PopulateTokenEndpointResponse below
// issues an access token and answers the presented refresh token again
// instead of minting and storing a new one.
type keepRefreshTokens struct {
	*oauth2.RefreshTokenGrantHandler
	store refreshKeeper
}

// PopulateTokenEndpointResponse implements fosite.TokenEndpointHandler.
func (h *keepRefreshTokens) PopulateTokenEndpointResponse(ctx context.Context, requester fosite.AccessRequester, responder fosite.AccessResponder) error {
	if !h.CanHandleTokenEndpointRequest(ctx, requester) {
		return fosite.ErrUnknownRequest
	}
	presented := requester.GetRequestForm().Get("refresh_token")
	signature := h.RefreshTokenStrategy.RefreshTokenSignature(ctx, presented)
	if err := h.store.KeepRefreshToken(ctx, requester.GetID(), signature); err != nil {
		if errors.Is(err, fosite.ErrInactiveToken) || errors.Is(err, fosite.ErrNotFound) {
			// Revoked (logout, a password change) since fosite read it.
			return fosite.ErrInvalidGrant.WithWrap(err).WithHint("The refresh token was revoked.").WithDebug(err.Error())
		}
		return fosite.ErrServerError.WithWrap(err).WithDebug(err.Error())
	}
	accessToken, accessSignature, err := h.AccessTokenStrategy.GenerateAccessToken(ctx, requester)
	if err != nil {
		return fosite.ErrServerError.WithWrap(err).WithDebug(err.Error())
	}
	stored := requester.Sanitize([]string{})
	stored.SetID(requester.GetID())
	if err := h.TokenRevocationStorage.CreateAccessTokenSession(ctx, accessSignature, stored); err != nil {
		return fosite.ErrServerError.WithWrap(err).WithDebug(err.Error())
	}
	lifespan := fosite.GetEffectiveLifespan(requester.GetClient(), fosite.GrantTypeRefreshToken, fosite.AccessToken, h.Config.GetAccessTokenLifespan(ctx))
	if exp := requester.GetSession().GetExpiresAt(fosite.AccessToken); !exp.IsZero() {
		lifespan = time.Until(exp)
	}
	responder.SetAccessToken(accessToken)
	responder.SetTokenType(TokenTypeBearer)
	responder.SetExpiresIn(lifespan)
	responder.SetScopes(requester.GetGrantedScopes())
	responder.SetExtra("refresh_token", presented)
	return nil
}
