package oauth_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
	"github.com/arsaka/puguh/keys"
	"github.com/arsaka/puguh/provider/oauth"
	"github.com/arsaka/puguh/storage/oauthstore"
	"github.com/arsaka/puguh/storage/revocation"
	"github.com/arsaka/puguh/storage/sqlstore/sqltest"
)

// TestAccessTokensVerifyWithGoOIDC is what a resource server does: verify our
// access tokens offline with go-oidc against /.well-known/jwks.json, then
// read the claims RFC 9068 and docs/oauth.md ask for.
func TestAccessTokensVerifyWithGoOIDC(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, e *apptest.Env) {
		ctx := context.Background()
		u := e.NewUser()
		r := e.Do(http.MethodPost, "/api/v1/auth/refresh", map[string]string{"refresh_token": u.RefreshToken})
		if r.Status != http.StatusOK {
			t.Fatalf("refresh: %d %s", r.Status, r.Body)
		}
		var refreshed struct {
			AccessToken string `json:"access_token"`
		}
		r.JSON(t, &refreshed)

		keySet := oidc.NewRemoteKeySet(ctx, e.URL+"/.well-known/jwks.json")
		audience := e.URL + "/api"
		verifier := oidc.NewVerifier(e.URL, keySet, &oidc.Config{ClientID: audience, SupportedSigningAlgs: []string{oidc.RS256}})
		var jtis []string
		for name, token := range map[string]string{"login": u.AccessToken, "refresh": refreshed.AccessToken} {
			t.Run(name, func(t *testing.T) {
				payload, err := keySet.VerifySignature(ctx, token)
				if err != nil {
					t.Fatalf("go-oidc rejects the signature: %v", err)
				}
				if _, err := verifier.Verify(ctx, token); err != nil {
					t.Fatalf("go-oidc rejects iss/aud/exp: %v", err)
				}
				header := jwtHeader(t, token)
				if header["alg"] != "RS256" || header["typ"] != "at+jwt" || header["kid"] == nil || header["kid"] == "" {
					t.Fatalf("header %v, want alg RS256, typ at+jwt and a kid", header)
				}
				if !jwksHasKID(t, e, header["kid"].(string)) {
					t.Fatalf("kid %v is not in the JWKS", header["kid"])
				}
				var c struct {
					Iss      string   `json:"iss"`
					Sub      string   `json:"sub"`
					Aud      []string `json:"aud"`
					Exp      int64    `json:"exp"`
					Iat      int64    `json:"iat"`
					JTI      string   `json:"jti"`
					ClientID string   `json:"client_id"`
					Scope    string   `json:"scope"`
					OrgID    string   `json:"org_id"`
					SID      string   `json:"sid"`
				}
				if err := json.Unmarshal(payload, &c); err != nil {
					t.Fatalf("claims: %v: %s", err, payload)
				}
				now := time.Now().Unix()
				switch {
				case c.Iss != e.URL:
					t.Errorf("iss %q, want %q", c.Iss, e.URL)
				case c.Sub != u.ID:
					t.Errorf("sub %q, want %q", c.Sub, u.ID)
				case len(c.Aud) != 1 || c.Aud[0] != audience:
					t.Errorf("aud %v, want [%s]", c.Aud, audience)
				case c.Exp-c.Iat < 3599 || c.Exp-c.Iat > 3601 || c.Iat > now+1 || c.Iat < now-60:
					t.Errorf("iat %d exp %d, want issued now for an hour", c.Iat, c.Exp)
				case c.JTI == "":
					t.Error("no jti")
				case c.ClientID != oauth.FirstPartyClientID:
					t.Errorf("client_id %q, want %q", c.ClientID, oauth.FirstPartyClientID)
				case c.Scope != "offline_access":
					t.Errorf("scope %q, want offline_access", c.Scope)
				case c.OrgID != u.OrganizationID:
					t.Errorf("org_id %q, want %q", c.OrgID, u.OrganizationID)
				case c.SID == "":
					t.Error("no sid (the refresh family)")
				}
				jtis = append(jtis, c.JTI)
			})
		}
		if len(jtis) == 2 && jtis[0] == jtis[1] {
			t.Fatal("login and refresh issued the same jti")
		}
	})
}

func jwtHeader(t *testing.T, token string) map[string]any {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	return h
}

func jwksHasKID(t *testing.T, e *apptest.Env, kid string) bool {
	t.Helper()
	var set struct {
		Keys []struct {
			KID string `json:"kid"`
		} `json:"keys"`
	}
	e.Do(http.MethodGet, "/.well-known/jwks.json", nil).JSON(t, &set)
	for _, k := range set.Keys {
		if k.KID == kid {
			return true
		}
	}
	return false
}

// clock is a settable clock for the oauthstore's grace period.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// lateRotation is the oauthstore with a hook that runs before a rotation,
// after fosite's read of the token: the place where time moves on between the
// two in production.
type lateRotation struct {
	*oauthstore.Store
	beforeRotate atomic.Pointer[func()]
}

func (s *lateRotation) RotateRefreshToken(ctx context.Context, requestID, signature string) error {
	if f := s.beforeRotate.Swap(nil); f != nil {
		(*f)()
	}
	return s.Store.RotateRefreshToken(ctx, requestID, signature)
}

// TestReplayAsGraceEndsRevokesFamily: a used refresh token replayed so that
// fosite reads it just inside the grace period but the storage rotates it just
// after. The storage refuses the rotation; the replay must still revoke the
// family (RFC 9700 §4.14.2), not only answer 401 and leave the family alive.
func TestReplayAsGraceEndsRevokesFamily(t *testing.T) {
	const grace = 5 * time.Second
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			db := sqltest.Open(t, b)
			secret := []byte("test-secret-0123456789-abcdefghijklmnop")
			km, err := keys.Open(ctx, db, secret, keys.Config{MaxTokenLifetime: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			cfg := oauth.Config{Issuer: "http://127.0.0.1:1", AccessTokenLifetime: time.Hour, RefreshTokenLifetime: 24 * time.Hour,
				AuthCodeLifetime: 10 * time.Minute, IDTokenLifetime: time.Hour, Secret: secret}
			clk := &clock{now: time.Now().UTC()}
			inner, err := oauthstore.New(db, oauthstore.Config{Clients: oauth.NewClientLookup(db, cfg), NewSession: oauth.NewSession,
				Now: clk.Now, RefreshGracePeriod: grace})
			if err != nil {
				t.Fatal(err)
			}
			store := &lateRotation{Store: inner}
			deny := revocation.NewMemory(nil)
			p, err := oauth.New(cfg, store, db, km.FositeSigner(), deny, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}

			p0, err := p.IssueUserTokens(ctx, "user-1", "org-1")
			if err != nil {
				t.Fatal(err)
			}
			p1, err := p.Refresh(ctx, p0.RefreshToken)
			if err != nil {
				t.Fatal(err)
			}
			clk.Advance(grace - time.Millisecond)
			late := func() { clk.Advance(2 * time.Millisecond) }
			store.beforeRotate.Store(&late)
			if _, err := p.Refresh(ctx, p0.RefreshToken); !errors.Is(err, oauth.ErrInvalidGrant) {
				t.Fatalf("replay as the grace period ends: %v, want ErrInvalidGrant", err)
			}
			if store.beforeRotate.Load() != nil {
				t.Fatal("the replay never reached the rotation; the test does not test the boundary")
			}
			if _, err := p.Refresh(ctx, p1.RefreshToken); !errors.Is(err, oauth.ErrInvalidGrant) {
				t.Fatalf("the family survived the replay: refreshing its newest token: %v", err)
			}
			var c struct {
				JTI string `json:"jti"`
				SID string `json:"sid"`
			}
			raw, _ := base64.RawURLEncoding.DecodeString(strings.Split(p1.AccessToken, ".")[1])
			if err := json.Unmarshal(raw, &c); err != nil || !p.Denied(c.JTI, c.SID, "") {
				t.Fatalf("the family's access token is not denied (claims %+v, %v)", c, err)
			}
		})
	}
}

// TestRefreshWithoutRotationKeepsOneToken: with KeepRefreshTokens a refresh
// answers the presented token and stores nothing new, so the token's expiry
// never slides; the family's absolute cap still ends it, and so does a
// revocation.
func TestRefreshWithoutRotationKeepsOneToken(t *testing.T) {
	const maxFamily = 2 * time.Hour
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			db := sqltest.Open(t, b)
			secret := []byte("test-secret-0123456789-abcdefghijklmnop")
			km, err := keys.Open(ctx, db, secret, keys.Config{MaxTokenLifetime: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			cfg := oauth.Config{Issuer: "http://127.0.0.1:1", AccessTokenLifetime: time.Hour, RefreshTokenLifetime: 24 * time.Hour,
				AuthCodeLifetime: 10 * time.Minute, IDTokenLifetime: time.Hour, Secret: secret, KeepRefreshTokens: true}
			clk := &clock{now: time.Now().UTC()}
			store, err := oauthstore.New(db, oauthstore.Config{Clients: oauth.NewClientLookup(db, cfg), NewSession: oauth.NewSession,
				Now: clk.Now, MaxRefreshFamilyLifetime: maxFamily})
			if err != nil {
				t.Fatal(err)
			}
			p, err := oauth.New(cfg, store, db, km.FositeSigner(), revocation.NewMemory(nil), slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			rows := func() (n int, expires time.Time) {
				t.Helper()
				var all []time.Time
				if err := db.DB().SelectContext(ctx, &all, "SELECT expires_at FROM oauth_refresh_tokens"); err != nil {
					t.Fatal(err)
				}
				for _, e := range all {
					if e.After(expires) {
						expires = e
					}
				}
				return len(all), expires
			}

			login, err := p.IssueUserTokens(ctx, "user-1", "org-1")
			if err != nil {
				t.Fatal(err)
			}
			_, expires := rows()
			for i := range 3 {
				clk.Advance(10 * time.Minute) // far past any grace period
				pair, err := p.Refresh(ctx, login.RefreshToken)
				if err != nil || pair.RefreshToken != login.RefreshToken || pair.AccessToken == login.AccessToken {
					t.Fatalf("refresh %d: %+v %v, want a new access token and the same refresh token", i+1, pair, err)
				}
				if n, exp := rows(); n != 1 || !exp.Equal(expires) {
					t.Fatalf("refresh %d: %d refresh rows expiring %s, want 1 expiring %s", i+1, n, exp, expires)
				}
			}
			clk.Advance(maxFamily)
			if _, err := p.Refresh(ctx, login.RefreshToken); !errors.Is(err, oauth.ErrInvalidGrant) {
				t.Fatalf("refresh past the family's absolute lifetime: %v, want ErrInvalidGrant", err)
			}

			other, err := p.IssueUserTokens(ctx, "user-1", "org-1")
			if err != nil {
				t.Fatal(err)
			}
			var c struct {
				SID string `json:"sid"`
			}
			raw, _ := base64.RawURLEncoding.DecodeString(strings.Split(other.AccessToken, ".")[1])
			if err := json.Unmarshal(raw, &c); err != nil {
				t.Fatal(err)
			}
			if err := p.RevokeFamily(ctx, c.SID); err != nil {
				t.Fatal(err)
			}
			if _, err := p.Refresh(ctx, other.RefreshToken); !errors.Is(err, oauth.ErrInvalidGrant) {
				t.Fatalf("refresh of a revoked family: %v, want ErrInvalidGrant", err)
			}
		})
	}
}
