package oauth

import (
	"context"
	"net/http"
	"net/url"

	"github.com/ory/fosite"
)

// Client authentication at the token and revocation endpoints.
//
// fosite accepts exactly the method a client registered as its
// token_endpoint_auth_method: a client_secret_basic client that posts its
// secret in the form (as the API guide's "Exchange Code for Token" does) is
// invalid_client, and so is a client_secret_post client sending HTTP Basic.
// RFC 6749 §2.3.1 requires servers to support HTTP Basic for every client
// with a password, and lets them take the secret in the body too, and other
// servers (Keycloak among them) accept either from a confidential client.
// Puguh does the same: a client registered with client_secret_basic or
// client_secret_post authenticates with its secret sent either way. The
// registered value stays the client's declared preference, as the REST API
// and discovery show it; `none` stays strict, so a public client cannot
// present a secret (there is none to check, and accepting one would only
// hide a misconfiguration), and a method added later (private_key_jwt) is
// strict too.
//
// fosite asks the client lookup (GetClient) for the client and then compares
// GetTokenEndpointAuthMethod with what the request carries, so the lookup
// answers with the method the request used, when that is a secret method and
// the registered one is too. authenticateClient tells it through the context.

// Secret-based client authentication methods (RFC 7591 §2).
const (
	AuthMethodBasic = "client_secret_basic"
	AuthMethodPost  = "client_secret_post"
	AuthMethodNone  = "none"
)

type secretMethodKey struct{}

// presentedSecretMethod is the secret method a token-endpoint request uses,
// read as fosite reads it: HTTP Basic with a non-empty secret, or client_id
// and client_secret in the form; "" for neither, and both set for a request
// that sends its secret both ways.
func presentedSecretMethod(r *http.Request, form url.Values) (method string, both bool) {
	_, secret, basic := r.BasicAuth()
	basic = basic && secret != ""
	post := form.Get("client_id") != "" && form.Get("client_secret") != ""
	switch {
	case basic && post:
		return "", true
	case basic:
		return AuthMethodBasic, false
	case post:
		return AuthMethodPost, false
	}
	return "", false
}

// acceptPresentedSecret makes c accept the secret method recorded in ctx
// when c is registered with either secret method.
func acceptPresentedSecret(ctx context.Context, c *Client) *Client {
	method, _ := ctx.Value(secretMethodKey{}).(string)
	if method == "" || !isSecretMethod(c.TokenEndpointAuthMethod) || c.IsPublic() {
		return c
	}
	c.TokenEndpointAuthMethod = method
	return c
}

func isSecretMethod(m string) bool { return m == AuthMethodBasic || m == AuthMethodPost }

type clientAuthenticationKey struct{}

// clientAuthentication is the outcome of authenticating a request's client.
type clientAuthentication struct {
	client fosite.Client
	err    error
}

// withClientAuthentication records the outcome of authenticating the
// request's client, which the token endpoint needs before fosite runs (its
// rate limit is per client); authenticateClient answers with it instead of
// authenticating again.
func withClientAuthentication(ctx context.Context, client fosite.Client, err error) context.Context {
	return context.WithValue(ctx, clientAuthenticationKey{}, clientAuthentication{client: client, err: err})
}

// authenticateClient is fosite's client authentication strategy for the
// public composition: fosite's own, with the presented secret method in the
// context for the client lookup (see above).
func (p *Provider) authenticateClient(ctx context.Context, r *http.Request, form url.Values) (fosite.Client, error) {
	if done, ok := ctx.Value(clientAuthenticationKey{}).(clientAuthentication); ok {
		return done.client, done.err
	}
	method, both := presentedSecretMethod(r, form)
	if both {
		// RFC 6749 §2.3: "The client MUST NOT use more than one
		// authentication method in each request." fosite would refuse it
		// too, with advice to change the client's registration.
		return nil, fosite.ErrInvalidClient.WithHint("The request sends a client secret both with HTTP Basic and in the form; use one of them.")
	}
	ctx = context.WithValue(ctx, secretMethodKey{}, method)
	return p.publicFosite.DefaultClientAuthenticationStrategy(ctx, r, form)
}
