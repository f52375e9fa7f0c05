package oauth_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/ory/fosite"

	"github.com/arsaka/puguh/keys"
	"github.com/arsaka/puguh/provider/credentials"
	"github.com/arsaka/puguh/provider/oauth"
	"github.com/arsaka/puguh/storage"
	"github.com/arsaka/puguh/storage/oauthstore"
	"github.com/arsaka/puguh/storage/revocation"
	"github.com/arsaka/puguh/storage/sqlstore"
	"github.com/arsaka/puguh/storage/sqlstore/sqltest"
)

var errRecord = errors.New("the denial could not be recorded")

// flakyDenylist fails every Deny while failing is set, recording nothing, as
// the real denylist does when its database write fails.
type flakyDenylist struct {
	*revocation.Memory
	failing atomic.Bool
}

func (l *flakyDenylist) Deny(ctx context.Context, key string, until time.Time) error {
	if l.failing.Load() {
		return errRecord
	}
	return l.Memory.Deny(ctx, key, until)
}

// failingRevoke is the oauthstore whose revocation of refresh tokens fails
// while failing is set.
type failingRevoke struct {
	*oauthstore.Store
	failing atomic.Bool
}

func (s *failingRevoke) RevokeRefreshToken(ctx context.Context, requestID string) error {
	if s.failing.Load() {
		return errRecord
	}
	return s.Store.RevokeRefreshToken(ctx, requestID)
}

// grantFixture is a provider with one confidential application and one
// authorization-code grant (with a refresh token) made to it.
type grantFixture struct {
	p                *oauth.Provider
	store            *failingRevoke
	deny             *flakyDenylist
	clientID, secret string
	access, refresh  string
}

func newGrantFixture(t *testing.T) *grantFixture {
	t.Helper()
	ctx := context.Background()
	db := sqltest.Open(t, sqltest.Backends()[0]) // the order of writes is the same on every database
	secret := []byte("test-secret-0123456789-abcdefghijklmnop")
	km, err := keys.Open(ctx, db, secret, keys.Config{MaxTokenLifetime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	cfg := oauth.Config{Issuer: "http://127.0.0.1:1", AccessTokenLifetime: time.Hour, RefreshTokenLifetime: 24 * time.Hour,
		AuthCodeLifetime: 10 * time.Minute, IDTokenLifetime: time.Hour, Secret: secret, Verifier: km.Verifier()}
	inner, err := oauthstore.New(db, oauthstore.Config{Clients: oauth.NewClientLookup(db, cfg), NewSession: oauth.NewSession})
	if err != nil {
		t.Fatal(err)
	}
	f := &grantFixture{store: &failingRevoke{Store: inner}, deny: &flakyDenylist{Memory: revocation.NewMemory(nil)},
		clientID: uuid.NewString(), secret: "secret-0123456789abcdef0123456789abcdef"}
	if f.p, err = oauth.New(cfg, f.store, db, km.FositeSigner(), f.deny, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	user, org := registerOwner(t, db)
	const redirect = "https://app.example.com/callback"
	if err := db.CreateApplication(ctx, &storage.Application{ID: f.clientID, OrganizationID: org, Name: "App",
		RedirectURIs: []string{redirect}, GrantTypes: []string{"authorization_code", "refresh_token"},
		ResponseTypes: []string{"code"}, Scopes: []string{"offline_access"}, TokenEndpointAuthMethod: "client_secret_post",
		SecretHash: credentials.HashClientSecret(f.secret)}); err != nil {
		t.Fatal(err)
	}

	q := url.Values{"response_type": {"code"}, "client_id": {f.clientID}, "redirect_uri": {redirect},
		"scope": {"offline_access"}, "state": {"state-0123456789"}}
	r, _ := http.NewRequest(http.MethodGet, cfg.Issuer+"/oauth/authorize?"+q.Encode(), nil)
	ar, err := f.p.Public().NewAuthorizeRequest(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	ar.GrantScope("offline_access")
	ar.GrantAudience(f.clientID)
	sess := oauth.NewUserSession(user, ar.GetClient().(*oauth.Client), ar.GetGrantedScopes(), time.Now(), time.Now(), ar.GetID())
	resp, err := f.p.Public().NewAuthorizeResponse(ctx, ar, sess)
	if err != nil {
		t.Fatal(err)
	}
	tr := f.form("/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {resp.GetParameters().Get("code")},
		"redirect_uri": {redirect}})
	acr, err := f.p.Public().NewAccessRequest(ctx, tr, oauth.NewSession())
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := f.p.Public().NewAccessResponse(ctx, acr)
	if err != nil {
		t.Fatal(err)
	}
	f.access = tokens.GetAccessToken()
	f.refresh, _ = tokens.GetExtra("refresh_token").(string)
	if f.refresh == "" {
		t.Fatal("no refresh token issued")
	}
	return f
}

func registerOwner(t *testing.T, db *sqlstore.Store) (*storage.User, string) {
	t.Helper()
	now := time.Now().UTC()
	u := &storage.User{ID: uuid.NewString(), Email: uuid.NewString() + "@example.com", FullName: "Owner",
		PasswordHash: "$argon2id$x", CreatedAt: now, UpdatedAt: now}
	org := &storage.Organization{ID: uuid.NewString(), Name: "Owner", Plan: storage.PlanFree, Personal: true, CreatedAt: now, UpdatedAt: now}
	if err := db.Register(context.Background(), u, org); err != nil {
		t.Fatal(err)
	}
	return u, org.ID
}

// form is a client-authenticated form post to the public composition.
func (f *grantFixture) form(path string, v url.Values) *http.Request {
	v.Set("client_id", f.clientID)
	v.Set("client_secret", f.secret)
	r, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:1"+path, strings.NewReader(v.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

// claims returns the jti and sid of the grant's access token.
func (f *grantFixture) claims(t *testing.T) (jti, sid string) {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(f.access, ".")[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		JTI string `json:"jti"`
		SID string `json:"sid"`
	}
	if err := json.Unmarshal(raw, &c); err != nil || c.JTI == "" || c.SID == "" {
		t.Fatalf("access token claims: %+v, %v", c, err)
	}
	return c.JTI, c.SID
}

// familyDenied reports whether the grant's access token is denied.
func (f *grantFixture) familyDenied(t *testing.T) bool {
	t.Helper()
	jti, sid := f.claims(t)
	return f.p.Denied(jti, sid, "")
}

// A revocation that fails part-way must leave working the credential its
// retry presents, or the retry would find it revoked, answer as if done, and
// leave the rest alive: the family's access tokens for RFC 7009 revocation
// of a refresh token (the retry presents the refresh token), and the access
// token for a logout (the retry presents it).
func TestPartialRevocationCanBeRetried(t *testing.T) {
	t.Run("RFC 7009, refresh token, denial fails", func(t *testing.T) {
		f := newGrantFixture(t)
		revoke := func() error {
			return f.p.Public().NewRevocationRequest(context.Background(), f.form("/oauth/revoke", url.Values{"token": {f.refresh}}))
		}
		f.deny.failing.Store(true)
		if err := revoke(); !errors.Is(err, fosite.ErrTemporarilyUnavailable) {
			t.Fatalf("revocation whose denial failed: %v, want temporarily_unavailable", err)
		}
		f.deny.failing.Store(false)
		if err := revoke(); err != nil {
			t.Fatalf("retried revocation: %v", err)
		}
		if !f.familyDenied(t) {
			t.Fatal("the retry reported the refresh token revoked, but the family's access tokens were never denied")
		}
	})
	t.Run("family, refresh tokens not revoked", func(t *testing.T) {
		f := newGrantFixture(t)
		_, family := f.claims(t)
		f.store.failing.Store(true)
		if err := f.p.RevokeFamily(context.Background(), family); !errors.Is(err, errRecord) {
			t.Fatalf("RevokeFamily whose database revocation failed: %v", err)
		}
		if f.familyDenied(t) {
			t.Fatal("the access token is denied though its refresh tokens were not revoked: a retried logout would be refused")
		}
	})
	t.Run("family, denial fails", func(t *testing.T) {
		f := newGrantFixture(t)
		_, family := f.claims(t)
		f.deny.failing.Store(true)
		if err := f.p.RevokeFamily(context.Background(), family); !errors.Is(err, errRecord) {
			t.Fatalf("RevokeFamily whose denial failed: %v, want the error (a success would not be true)", err)
		}
	})
}
