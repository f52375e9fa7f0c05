// Package oauth composes fosite into Puguh's OAuth 2.0 / OpenID Connect
// provider. Two compositions share one storage and one signer:
//
//   - the public one behind /oauth: authorization code with PKCE, refresh
//     tokens, client credentials, OpenID Connect (explicit flow), revocation
//     and introspection, and nothing else (no implicit, hybrid or password grant);
//   - an internal one that only the REST API's login and refresh use, with the
//     built-in first-party client, so that REST tokens are fosite's tokens:
//     refreshed, revoked and introspected by the same code.
package oauth

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/compose"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/handler/pkce"
	fositestorage "github.com/ory/fosite/storage"
	"github.com/ory/fosite/token/jwt"

	"github.com/arsaka/puguh/storage/revocation"
)

// Config is what the composition needs from Puguh's configuration.
type Config struct {
	Issuer               string
	AccessTokenLifetime  time.Duration
	RefreshTokenLifetime time.Duration
	AuthCodeLifetime     time.Duration
	IDTokenLifetime      time.Duration
	// Secret is PUGUH_SECRET; fosite's HMAC key (authorization codes, refresh
	// tokens) is derived from it, so it survives restarts and is shared by replicas.
	Secret []byte
	// Verifier checks the signature of our JWTs (keys.Verifier): access tokens
	// are introspected, revoked and accepted at /oauth/userinfo from their
	// claims (stateless.go).
	Verifier TokenVerifier
	// Users finds the user a grant was made for: a refresh or a code
	// exchange for a disabled or deleted user is refused (the user cache).
	Users UserLookup
	// KeepRefreshTokens turns refresh-token rotation off
	// (PUGUH_REFRESH_TOKEN_ROTATION=false): a refresh answers the presented
	// refresh token again (refresh.go).
	KeepRefreshTokens bool
	// SigningAlgorithms are the JWS algorithms the signer has keys for
	// (keys.Manager.Algorithms), listed in discovery; nil means RS256.
	SigningAlgorithms []string
}

// APIAudience is the audience of tokens meant for Puguh's own REST API. Tokens
// that applications obtain for themselves carry their client id instead, so an
// application's token cannot be replayed against the REST API.
func (c Config) APIAudience() string { return c.Issuer + "/api" }

// Storage is what the compositions need from the storage (oauthstore): every
// fosite storage interface they use, and the bulk revocation of a deleted
// client's grants. Its errors name a database outage storage.ErrUnavailable
// and a missing row fosite.ErrNotFound, whichever database is behind it.
type Storage interface {
	fosite.Storage
	oauth2.CoreStorage
	oauth2.TokenRevocationStorage
	pkce.PKCERequestStorage
	openid.OpenIDConnectRequestStorage
	fositestorage.Transactional
	// RevokeClient revokes every refresh family of the client and its refresh
	// tokens, and returns the ids of the families it revoked.
	RevokeClient(ctx context.Context, clientID string) ([]string, error)
	refreshKeeper
}

// Everything the compositions' factories take from their storage: compose
// checks it only by type assertions, which would panic when the provider is
// built, and fosite runs a flow without a transaction, silently, when the
// storage is not fositestorage.Transactional.
var (
	_ fosite.Storage                                      = (*scopedStorage)(nil)
	_ oauth2.CoreStorage                                  = (*scopedStorage)(nil)
	_ oauth2.AccessTokenStorage                           = (*scopedStorage)(nil)
	_ oauth2.TokenRevocationStorage                       = (*scopedStorage)(nil)
	_ oauth2.ResourceOwnerPasswordCredentialsGrantStorage = (*scopedStorage)(nil)
	_ pkce.PKCERequestStorage                             = (*scopedStorage)(nil)
	_ openid.OpenIDConnectRequestStorage                  = (*scopedStorage)(nil)
	_ fositestorage.Transactional                         = (*scopedStorage)(nil)
)

// NewClientLookup returns the lookup for the storage adapter, which must
// resolve every client (the first-party one included) to rebuild stored requests.
func NewClientLookup(source ClientSource, cfg Config) interface {
	GetClient(ctx context.Context, id string) (fosite.Client, error)
} {
	return &clientLookup{source: source, firstParty: firstPartyClient(cfg.APIAudience()), withFirstParty: true, apiAudience: cfg.APIAudience()}
}

// Provider is the composed OAuth 2.0 / OIDC engine.
type Provider struct {
	cfg           Config
	public        fosite.OAuth2Provider
	internal      fosite.OAuth2Provider
	publicClients *clientLookup // the clients the public composition knows
	// publicFosite is public as fosite built it, for its default client
	// authentication (clientauth.go).
	publicFosite *fosite.Fosite
	store        Storage
	firstParty   *Client
	deny         revocation.List
	signer       jwt.Signer
	log          *slog.Logger
}

// New composes the public and internal providers over store and signer.
// deny receives the refresh families whose access tokens were revoked.
func New(cfg Config, store Storage, source ClientSource, signer jwt.Signer, deny revocation.List, log *slog.Logger) (*Provider, error) {
	if len(cfg.Secret) == 0 || cfg.Issuer == "" {
		return nil, errors.New("oauth: issuer and secret are required")
	}
	hmacKey, err := hkdf.Key(sha256.New, cfg.Secret, nil, "puguh fosite hmac v1", 32)
	if err != nil {
		return nil, fmt.Errorf("oauth: derive hmac key: %w", err)
	}
	p := &Provider{cfg: cfg, store: store, firstParty: firstPartyClient(cfg.APIAudience()), deny: deny, signer: signer, log: log,
		publicClients: &clientLookup{source: source, apiAudience: cfg.APIAudience()}}

	public := p.fositeConfig(hmacKey)
	// docs/security.md, "fosite defaults Puguh changes":
	public.EnforcePKCEForPublicClients = true     // PKCE required for public clients
	public.EnablePKCEPlainChallengeMethod = false // S256 only
	public.RefreshTokenScopes = []string{"offline_access", "offline"}
	public.ClientAuthenticationStrategy = p.authenticateClient // either secret method (clientauth.go)
	publicStore := &scopedStorage{Storage: store, clients: p.publicClients, p: p}
	p.public = compose.Compose(public, publicStore, p.strategy(public),
		compose.OAuth2AuthorizeExplicitFactory,
		compose.OAuth2PKCEFactory,
		compose.OAuth2ClientCredentialsGrantFactory,
		p.refreshTokenFactory,
		compose.OpenIDConnectExplicitFactory,
		compose.OpenIDConnectRefreshFactory,
		p.introspectionFactory,
		p.revocationFactory,
	)
	var ok bool
	if p.publicFosite, ok = p.public.(*fosite.Fosite); !ok {
		return nil, errors.New("oauth: compose did not return a *fosite.Fosite")
	}

	internal := p.fositeConfig(hmacKey)
	internal.RefreshTokenScopes = []string{} // first-party logins always get a refresh token
	internalStore := &scopedStorage{Storage: store, clients: &clientLookup{source: source, firstParty: p.firstParty, withFirstParty: true, apiAudience: cfg.APIAudience()}, p: p}
	p.internal = compose.Compose(internal, internalStore, p.strategy(internal),
		compose.OAuth2ResourceOwnerPasswordCredentialsFactory, // populates login responses; see IssueUserTokens
		p.refreshTokenFactory,
		p.revocationFactory,
	)
	return p, nil
}

func (p *Provider) fositeConfig(hmacKey []byte) *fosite.Config {
	cfg := &fosite.Config{
		AccessTokenLifespan:   p.cfg.AccessTokenLifetime,
		RefreshTokenLifespan:  p.cfg.RefreshTokenLifetime,
		AuthorizeCodeLifespan: p.cfg.AuthCodeLifetime, // 10 minutes, not fosite's 15 (ASVS 10.4.3)
		IDTokenLifespan:       p.cfg.IDTokenLifetime,
		AccessTokenIssuer:     p.cfg.Issuer,
		IDTokenIssuer:         p.cfg.Issuer,
		TokenURL:              p.cfg.Issuer + "/oauth/token",
		GlobalSecret:          hmacKey,
		ScopeStrategy:         fosite.ExactScopeStrategy,
		JWTScopeClaimKey:      jwt.JWTScopeFieldString, // RFC 9068 §2.2.3: "scope" as a string
		ClientSecretsHasher:   SecretHasher{},
		AllowedPromptValues:   []string{"login", "none", "consent"},
		MinParameterEntropy:   fosite.MinParameterEntropy,
	}
	// fosite writes some defaults into the config the first time they are
	// read, which races when the first requests arrive together (go test
	// -race saw it). Set them here, while one goroutine holds the config.
	cfg.AudienceMatchingStrategy = fosite.DefaultAudienceMatchingStrategy
	cfg.GetJWKSFetcherStrategy(context.Background())
	return cfg
}

func (p *Provider) strategy(cfg *fosite.Config) *compose.CommonStrategy {
	hmac := compose.NewOAuth2HMACStrategy(cfg)
	return &compose.CommonStrategy{
		CoreStrategy:               &oauth2.DefaultJWTStrategy{Signer: p.signer, HMACSHAStrategy: hmac, Config: cfg},
		OpenIDConnectTokenStrategy: &openid.DefaultStrategy{Signer: p.signer, Config: cfg},
		Signer:                     p.signer,
	}
}

// Public is the composition behind /oauth.
func (p *Provider) Public() fosite.OAuth2Provider { return p.public }

// Config returns the configuration the provider was built with.
func (p *Provider) Config() Config { return p.cfg }

// scopedStorage is the storage as one composition sees it: its own client
// lookup, and revocations of access tokens echoed to the denylist.
type scopedStorage struct {
	Storage
	clients *clientLookup
	p       *Provider
}

// GetClient resolves clients visible to this composition.
func (s *scopedStorage) GetClient(ctx context.Context, id string) (fosite.Client, error) {
	return s.clients.GetClient(ctx, id)
}

// Authenticate is part of fosite's password-grant storage. The internal
// composition never parses password-grant requests (the REST login checks the
// password itself, then asks fosite to issue the tokens), so it always fails.
func (s *scopedStorage) Authenticate(context.Context, string, string) (string, error) {
	return "", fosite.ErrNotFound
}

// DenyFamily denies every access token of a refresh family until the longest
// one could still be valid.
func (p *Provider) DenyFamily(ctx context.Context, familyID string) error {
	return p.deny.Deny(ctx, "sid:"+familyID, time.Now().Add(p.cfg.AccessTokenLifetime+time.Minute))
}

// DenyToken denies one access token by its jti until it expires.
func (p *Provider) DenyToken(ctx context.Context, jti string, exp time.Time) error {
	return p.deny.Deny(ctx, "jti:"+jti, exp.Add(time.Minute))
}

// DenyClient denies every access token issued to a client until the longest
// one could still be valid; deleting an application calls it. Client ids are
// never reused, so nothing issued later is caught by it.
func (p *Provider) DenyClient(ctx context.Context, clientID string) error {
	return p.deny.Deny(ctx, "client:"+clientID, time.Now().Add(p.cfg.AccessTokenLifetime+time.Minute))
}

// Denied reports whether an access token with this jti, family and client
// was revoked.
func (p *Provider) Denied(jti, familyID, clientID string) bool {
	keys := [3]string{"jti:" + jti}
	n := 1
	if familyID != "" {
		keys[n] = "sid:" + familyID
		n++
	}
	if clientID != "" {
		keys[n] = "client:" + clientID
		n++
	}
	return p.deny.Denied(keys[:n]...)
}
