package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/ory/fosite"
	"github.com/ory/fosite/compose"

	"github.com/arsaka/puguh/keys"
)

// Access tokens are RFC 9068 JWTs that carry everything introspection and
// the REST API need (subject, client, organization, scopes, audience, expiry,
// family), so they are not stored. Storing them cost a database write per
// token issued and a read per introspection; revocation never needed the row,
// because a JWT stays valid wherever it is verified offline until it is
// denied: by its jti (RFC 7009 revocation, logout), its family "sid"
// (refresh-token reuse, a revoked grant, a changed password), or its client
// (a deleted application). The denylist holds those (storage/revocation),
// shared through Redis when configured.
//
// Refresh tokens and authorization codes are opaque and stay in the database.
//
// The storage (oauthstore) answers fosite's access-token methods as a store
// without access tokens: creating one stores nothing, looking one up finds
// nothing, and its RevokeAccessToken has nothing to mark. Ending the access
// tokens of a revoked grant is the denial below, which is why scopedStorage
// overrides RevokeAccessToken and nothing else of them.
//
// What is given up: fosite's storage-backed introspection reported an access
// token inactive as soon as it was refreshed. A refresh now leaves the previous
// access token valid until it expires (at most the access-token lifetime), as
// it always was for the REST API and for every resource server verifying
// offline; revoking the family ends both.

// RevokeAccessToken denies the family ("sid") so that its JWTs stop working
// at once. fosite calls it when a family is revoked: RFC 7009 revocation of a
// refresh token, reuse of a refresh token or of an authorization code. On
// refresh-token reuse it runs inside fosite's transaction, which the denial's
// write joins (sqlstore.WithTx): it commits with the family's revocation, and
// on SQLite it does not wait on the transaction's own write lock. An error
// (the denial could not be recorded) fails fosite's request: 503 at
// /oauth/revoke, and a rolled-back revocation on reuse.
func (s *scopedStorage) RevokeAccessToken(ctx context.Context, requestID string) error {
	return s.p.DenyFamily(ctx, requestID)
}

// RevokeRefreshToken denies the family first, then revokes its refresh tokens.
// fosite's RFC 7009 handler calls RevokeRefreshToken, then RevokeAccessToken,
// and a retry of a request that failed in between would find the refresh
// token revoked and answer 200 without denying the family's access tokens.
// In this order a failure leaves the refresh token working, so the retry the
// 503 asks for does both.
func (s *scopedStorage) RevokeRefreshToken(ctx context.Context, requestID string) error {
	if err := s.p.DenyFamily(ctx, requestID); err != nil {
		return err
	}
	return s.Storage.RevokeRefreshToken(ctx, requestID)
}

// looksLikeJWT tells a compact JWS (our access tokens) from fosite's opaque
// HMAC tokens, which have one dot.
func looksLikeJWT(token string) bool { return strings.Count(token, ".") == 2 }

// accessTokenClaims are the claims of our access tokens.
type accessTokenClaims struct {
	jwt.Claims
	Scope    string `json:"scope"`
	Kind     string `json:"kind"`
	Family   string `json:"sid"`
	ClientID string `json:"client_id"`
	OrgID    string `json:"org_id"`
}

// accessTokenLeeway is the clock skew allowed on exp and iat.
const accessTokenLeeway = 30 * time.Second

// errNoVerifier is a wiring mistake: Config.Verifier is required to accept
// access tokens.
var errNoVerifier = errors.New("oauth: no token verifier configured")

// VerifyAccessToken checks one of our access tokens wherever its audience:
// signature, typ at+jwt (an ID token is refused), issuer, exp/nbf/iat (by
// keys.Verifier), and the denylist (jti, family, client).
func (p *Provider) VerifyAccessToken(token string) (*accessTokenClaims, error) {
	if p.cfg.Verifier == nil {
		return nil, errNoVerifier
	}
	vt, err := p.cfg.Verifier.VerifyJWT(token, keys.Expected{
		Issuer: p.cfg.Issuer, AnyAudience: true, Type: AccessTokenType, Leeway: accessTokenLeeway})
	if err != nil {
		return nil, err
	}
	var c accessTokenClaims
	if err := json.Unmarshal(vt.Payload, &c); err != nil {
		return nil, errors.New("claims are not a JSON object")
	}
	if c.Subject == "" || c.ID == "" {
		return nil, errors.New("missing sub or jti")
	}
	if p.Denied(c.ID, c.Family, c.ClientID) {
		return nil, errors.New("token revoked")
	}
	return &c, nil
}

// statelessIntrospector is the composition's introspection handler: JWT
// access tokens from their claims, opaque tokens (refresh tokens) through
// fosite's storage-backed validator.
type statelessIntrospector struct {
	p       *Provider
	clients fosite.ClientManager
	opaque  fosite.TokenIntrospector
	scopes  fosite.ScopeStrategyProvider
}

// introspectionFactory is a compose.Factory.
func (p *Provider) introspectionFactory(config fosite.Configurator, storage any, strategy any) any {
	return &statelessIntrospector{
		p:       p,
		clients: storage.(fosite.ClientManager),
		opaque:  compose.OAuth2TokenIntrospectionFactory(config, storage, strategy).(fosite.TokenIntrospector),
		scopes:  config,
	}
}

// IntrospectToken implements fosite.TokenIntrospector. Any error makes the
// token inactive ({"active":false}).
func (i *statelessIntrospector) IntrospectToken(ctx context.Context, token string, use fosite.TokenUse, ar fosite.AccessRequester, scopes []string) (fosite.TokenUse, error) {
	if !looksLikeJWT(token) {
		return i.opaque.IntrospectToken(ctx, token, fosite.RefreshToken, ar, scopes)
	}
	c, err := i.p.VerifyAccessToken(token)
	if err != nil {
		return "", fosite.ErrRequestUnauthorized.WithWrap(err).WithDebug(err.Error())
	}
	// The client must still exist: a deleted application's or service
	// account's tokens are inactive even where no denial reached.
	var client fosite.Client = i.p.firstParty // tokens of the REST API's login
	if c.ClientID != FirstPartyClientID {
		client, err = i.clients.GetClient(ctx, c.ClientID)
	}
	if err != nil {
		return "", fosite.ErrRequestUnauthorized.WithWrap(err).WithDebug(err.Error())
	}
	granted := fosite.Arguments(strings.Fields(c.Scope))
	strategy := i.scopes.GetScopeStrategy(ctx)
	for _, s := range scopes {
		if s != "" && !strategy(granted, s) {
			return "", fosite.ErrInvalidScope.WithHintf("The request scope '%s' has not been granted.", s)
		}
	}
	ar.Merge(c.requester(client, granted))
	return fosite.AccessToken, nil
}

// requester rebuilds what fosite's introspection response writer reads.
func (c *accessTokenClaims) requester(client fosite.Client, granted fosite.Arguments) *fosite.Request {
	sess := NewSession().(*Session)
	sess.Subject = c.Subject
	sess.Kind = c.Kind
	sess.ClientID = c.ClientID
	sess.OrganizationID = c.OrgID
	sess.FamilyID = c.Family
	sess.SetExpiresAt(fosite.AccessToken, c.Expiry.Time())
	r := fosite.NewRequest()
	r.ID = c.Family
	r.Client = client
	r.Session = sess
	if c.IssuedAt != nil {
		r.RequestedAt = c.IssuedAt.Time()
	}
	r.RequestedScope = granted
	r.GrantedScope = granted
	r.RequestedAudience = fosite.Arguments(c.Audience)
	r.GrantedAudience = fosite.Arguments(c.Audience)
	return r
}

// statelessRevoker is the composition's RFC 7009 handler: JWT access tokens
// are denied by jti and their family revoked, opaque tokens (refresh tokens)
// go to fosite's storage-backed handler.
type statelessRevoker struct {
	p      *Provider
	opaque fosite.RevocationHandler
}

// revocationFactory is a compose.Factory.
func (p *Provider) revocationFactory(config fosite.Configurator, storage any, strategy any) any {
	return &statelessRevoker{p: p, opaque: compose.OAuth2TokenRevocationFactory(config, storage, strategy).(fosite.RevocationHandler)}
}

// RevokeToken implements fosite.RevocationHandler. A token that is not one
// of our valid access tokens (expired, already revoked, forged) needs no
// revoking: the answer is 200, as RFC 7009 §2.2 asks. Like fosite's handler,
// revoking an access token revokes its grant's refresh tokens too (§2.1).
// A storage failure is temporarily_unavailable (§2.2.1): nothing may be
// reported revoked that was not recorded.
func (r *statelessRevoker) RevokeToken(ctx context.Context, token string, hint fosite.TokenType, client fosite.Client) error {
	if !looksLikeJWT(token) {
		return r.opaque.RevokeToken(ctx, token, hint, client)
	}
	c, err := r.p.VerifyAccessToken(token)
	if err != nil {
		return nil
	}
	if c.ClientID != client.GetID() {
		return fosite.ErrUnauthorizedClient.WithHint("The token was not issued to the client making the revocation request.")
	}
	// The family's denial covers this token (it lasts as long as any token
	// of the family can), and comes last in RevokeFamily: until everything
	// is recorded the token keeps working, so a retry can revoke it all.
	if c.Family != "" {
		err = r.p.RevokeFamily(ctx, c.Family)
	} else {
		err = r.p.DenyToken(ctx, c.ID, c.Expiry.Time())
	}
	if err != nil {
		return fosite.ErrTemporarilyUnavailable.WithWrap(err).WithDebug(err.Error())
	}
	return nil
}
