package oauth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"

	"github.com/ory/fosite"

	"github.com/arsaka/puguh/keys"
	"github.com/arsaka/puguh/provider/credentials"
	"github.com/arsaka/puguh/storage"
)

// FirstPartyClientID is the built-in client that the REST API's login and
// refresh issue tokens to. It exists only inside the internal provider: the
// public /oauth endpoints do not know it, so nobody can run an OAuth flow with it.
const FirstPartyClientID = "puguh"

// Client is an OAuth client as fosite sees it, plus what we need beside.
type Client struct {
	fosite.DefaultOpenIDConnectClient
	Kind                   string // "application", "service_account" or "first_party"
	OrganizationID         string
	Trusted                bool // skips consent
	PostLogoutRedirectURIs []string
	ServiceAccountID       string
	Role                   string // a service account's role
	Name                   string
	// IDTokenAlg and AccessTokenAlg are the JWS algorithms of the client's
	// ID tokens and access tokens; empty means RS256.
	IDTokenAlg     string
	AccessTokenAlg string
}

// signingAlgorithms is the client's choice of algorithms, for keys.WithAlgorithms.
func (c *Client) signingAlgorithms() keys.AlgorithmChoice {
	return keys.AlgorithmChoice{IDToken: c.IDTokenAlg, AccessToken: c.AccessTokenAlg}
}

// Client kinds.
const (
	ClientApplication    = "application"
	ClientServiceAccount = "service_account"
	ClientFirstParty     = "first_party"
)

// ClientSource is where registered clients live.
type ClientSource interface {
	ApplicationByID(ctx context.Context, id string) (*storage.Application, error)
	ServiceAccountByClientID(ctx context.Context, clientID string) (*storage.ServiceAccount, error)
}

// clientLookup resolves client ids for fosite. withFirstParty says whether the
// built-in client is visible (only to the internal provider and to the storage
// adapter, which rebuilds stored requests of every client).
type clientLookup struct {
	source         ClientSource
	firstParty     *Client
	withFirstParty bool
	apiAudience    string
}

// GetClient implements fosite.ClientManager's lookup.
func (l *clientLookup) GetClient(ctx context.Context, id string) (fosite.Client, error) {
	if id == FirstPartyClientID {
		if l.withFirstParty {
			return l.firstParty, nil
		}
		return nil, fmt.Errorf("client %q: %w", id, fosite.ErrNotFound)
	}
	if id == "" || len(id) > 128 {
		return nil, fmt.Errorf("client id: %w", fosite.ErrNotFound)
	}
	app, err := l.source.ApplicationByID(ctx, id)
	if err == nil {
		return acceptPresentedSecret(ctx, applicationClient(app)), nil
	}
	if !errors.Is(err, storage.ErrNotFound) {
		return nil, fmt.Errorf("client %q: %w", id, err)
	}
	sa, err := l.source.ServiceAccountByClientID(ctx, id)
	if err == nil {
		return acceptPresentedSecret(ctx, serviceAccountClient(sa, l.apiAudience)), nil
	}
	if errors.Is(err, storage.ErrNotFound) {
		return nil, fmt.Errorf("client %q: %w", id, fosite.ErrNotFound)
	}
	return nil, fmt.Errorf("client %q: %w", id, err)
}

func applicationClient(a *storage.Application) *Client {
	c := &Client{
		DefaultOpenIDConnectClient: fosite.DefaultOpenIDConnectClient{
			DefaultClient: &fosite.DefaultClient{
				ID:            a.ID,
				Secret:        a.SecretHash,
				RedirectURIs:  a.RedirectURIs,
				GrantTypes:    a.GrantTypes,
				ResponseTypes: a.ResponseTypes,
				Scopes:        a.Scopes,
				Audience:      []string{a.ID},
				Public:        a.Public,
			},
			TokenEndpointAuthMethod: a.TokenEndpointAuthMethod,
		},
		Kind:                   ClientApplication,
		OrganizationID:         a.OrganizationID,
		Trusted:                a.Trusted,
		PostLogoutRedirectURIs: a.PostLogoutRedirectURIs,
		Name:                   a.Name,
		IDTokenAlg:             a.IDTokenSignedResponseAlg,
		AccessTokenAlg:         a.AccessTokenSignedResponseAlg,
	}
	return c
}

func serviceAccountClient(sa *storage.ServiceAccount, apiAudience string) *Client {
	return &Client{
		DefaultOpenIDConnectClient: fosite.DefaultOpenIDConnectClient{
			DefaultClient: &fosite.DefaultClient{
				ID:         sa.ClientID,
				Secret:     sa.SecretHash,
				GrantTypes: []string{"client_credentials"},
				Scopes:     []string{},
				Audience:   []string{apiAudience},
			},
			TokenEndpointAuthMethod: "client_secret_basic",
		},
		Kind:             ClientServiceAccount,
		OrganizationID:   sa.OrganizationID,
		ServiceAccountID: sa.ID,
		Role:             sa.Role,
		Name:             sa.Name,
	}
}

func firstPartyClient(apiAudience string) *Client {
	return &Client{
		DefaultOpenIDConnectClient: fosite.DefaultOpenIDConnectClient{
			DefaultClient: &fosite.DefaultClient{
				ID:         FirstPartyClientID,
				GrantTypes: []string{"password", "refresh_token"},
				Scopes:     []string{"offline_access"},
				Audience:   []string{apiAudience},
				Public:     true,
			},
			TokenEndpointAuthMethod: "none",
		},
		Kind:    ClientFirstParty,
		Trusted: true,
		Name:    "Puguh",
	}
}

// SecretHasher hashes client secrets with SHA-256. Our client secrets are
// 256-bit random strings from a CSPRNG, so a slow password hash would add
// nothing but latency: nobody can brute-force 2^256 inputs, fast hash or not.
// fosite's default (bcrypt) would cap the token endpoint at a few hundred
// requests per second.
type SecretHasher struct{}

// Hash returns SHA-256(data), as credentials.HashClientSecret.
func (SecretHasher) Hash(_ context.Context, data []byte) ([]byte, error) {
	return credentials.HashClientSecret(string(data)), nil
}

// Compare checks data against hash in constant time.
func (SecretHasher) Compare(_ context.Context, hash, data []byte) error {
	if subtle.ConstantTimeCompare(hash, credentials.HashClientSecret(string(data))) != 1 {
		return errors.New("client secret mismatch")
	}
	return nil
}

var _ fosite.ResponseModeClient = (*Client)(nil)

// GetResponseModes allows an explicit response_mode=query, the only mode of
// the code flow we serve; fragment and form_post are refused.
func (c *Client) GetResponseModes() []fosite.ResponseModeType {
	return []fosite.ResponseModeType{fosite.ResponseModeDefault, fosite.ResponseModeQuery}
}
