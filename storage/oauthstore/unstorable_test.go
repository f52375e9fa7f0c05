package oauthstore

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/ory/fosite"

	"github.com/arsaka/puguh/storage/sqlstore/sqltest"
)

// unstorableKeys are signatures a client can make fosite look up by sending
// "x.<key>" as a code or token: bytes PostgreSQL refuses in text.
var unstorableKeys = map[string]string{
	"invalid byte":            "\xff",
	"invalid byte after text": "abc\xff",
	"NUL":                     "\x00",
	"NUL inside":              "abc\x00def",
	"overlong slash":          "\xc0\xaf",
	"encoded surrogate":       "\xed\xa0\x80",
	"truncated sequence":      "\xe2\x82",
	"overlong NUL, 8 KiB":     strings.Repeat("\xc0\x80", 4096),
}

// Every lookup, update and delete by signature treats a key that is not
// UTF-8 or holds NUL as a row that does not exist, on every backend (it was a
// database error, so a 500, on PostgreSQL).
func TestUnstorableSignatureIsNotFound(t *testing.T) {
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b, nil)
			ctx := context.Background()
			calls := []struct {
				name string
				call func(key string) error
				want error // nil: no error
			}{
				{"GetAuthorizeCodeSession", func(k string) error {
					_, err := e.store.GetAuthorizeCodeSession(ctx, k, &testSession{})
					return err
				}, fosite.ErrNotFound},
				{"InvalidateAuthorizeCodeSession", func(k string) error { return e.store.InvalidateAuthorizeCodeSession(ctx, k) }, fosite.ErrNotFound},
				{"GetPKCERequestSession", func(k string) error {
					_, err := e.store.GetPKCERequestSession(ctx, k, &testSession{})
					return err
				}, fosite.ErrNotFound},
				{"DeletePKCERequestSession", func(k string) error { return e.store.DeletePKCERequestSession(ctx, k) }, nil},
				{"GetOpenIDConnectSession", func(k string) error {
					_, err := e.store.GetOpenIDConnectSession(ctx, k, nil)
					return err
				}, fosite.ErrNotFound},
				{"DeleteOpenIDConnectSession", func(k string) error { return e.store.DeleteOpenIDConnectSession(ctx, k) }, nil},
				{"GetRefreshTokenSession", func(k string) error {
					_, err := e.store.GetRefreshTokenSession(ctx, k, &testSession{})
					return err
				}, fosite.ErrNotFound},
				{"RotateRefreshToken", func(k string) error { return e.store.RotateRefreshToken(ctx, "req-1", k) }, fosite.ErrInactiveToken},
				{"DeleteRefreshTokenSession", func(k string) error { return e.store.DeleteRefreshTokenSession(ctx, k) }, nil},
				{"GetAccessTokenSession", func(k string) error {
					_, err := e.store.GetAccessTokenSession(ctx, k, &testSession{})
					return err
				}, fosite.ErrNotFound},
				{"DeleteAccessTokenSession", func(k string) error { return e.store.DeleteAccessTokenSession(ctx, k) }, nil},
			}
			for keyName, key := range unstorableKeys {
				for _, c := range calls {
					t.Run(c.name+"/"+keyName, func(t *testing.T) {
						err := c.call(key)
						if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
							t.Fatalf("got %v, want %v", err, c.want)
						}
					})
				}
			}
		})
	}
}

// Through fosite, a code or refresh token "x.<bytes>" is invalid_grant, and
// introspection and revocation find nothing (RFC 7662 §2.2, RFC 7009 §2.2).
func TestUnstorableTokenThroughFosite(t *testing.T) {
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b, nil)
			ctx := context.Background()
			for keyName, key := range unstorableKeys {
				token := "x." + key
				t.Run(keyName, func(t *testing.T) {
					_, err := e.exchange(ctx, token, randomString(t))
					if got := errorName(err); got != "invalid_grant" {
						t.Errorf("authorization code: %s (%v), want invalid_grant", got, err)
					}
					_, err = e.token(ctx, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {token}})
					if got := errorName(err); got != "invalid_grant" {
						t.Errorf("refresh token: %s (%v), want invalid_grant", got, err)
					}
					// fosite wraps whatever the store answers as request_unauthorized
					// (inactive); the store must have found nothing, not failed.
					for _, use := range []fosite.TokenUse{fosite.RefreshToken, fosite.AccessToken} {
						_, _, err := e.provider.IntrospectToken(ctx, token, use, &testSession{})
						if !errors.Is(err, fosite.ErrNotFound) {
							t.Errorf("introspection as %s: %v, want an unknown token", use, err)
						}
					}
					client, _ := e.clients.GetClient(ctx, testClientID)
					for _, hint := range []fosite.TokenType{fosite.RefreshToken, fosite.AccessToken} {
						if err := revoke(ctx, e, token, hint, client); err != nil {
							t.Errorf("revocation (hint %s): %v, want nothing to revoke", hint, err)
						}
					}
				})
			}
		})
	}
}

// revoke runs the revocation endpoint's handlers for token.
func revoke(ctx context.Context, e *env, token string, hint fosite.TokenType, client fosite.Client) error {
	f, ok := e.provider.(*fosite.Fosite)
	if !ok {
		return errors.New("provider is not *fosite.Fosite")
	}
	for _, h := range f.Config.GetRevocationHandlers(ctx) {
		if err := h.RevokeToken(ctx, token, hint, client); err != nil {
			return err
		}
	}
	return nil
}
