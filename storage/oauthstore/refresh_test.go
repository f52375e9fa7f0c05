package oauthstore

import (
	"context"
	"errors"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ory/fosite"

	"github.com/arsaka/puguh/storage/sqlstore/sqltest"
)

// docs/security.md, "Reliability under failure": twenty concurrent refreshes with one token inside the grace
// period all get a working pair of the same family; a replay after the grace
// period revokes the family, the pairs the race produced included.
func TestConcurrentRefreshWithinGraceThenReplayRevokesFamily(t *testing.T) {
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b, nil)
			ctx := context.Background()
			first := e.login(t)
			family, err := e.requestIDOf(first.refresh, fosite.RefreshToken)
			if err != nil {
				t.Fatal(err)
			}

			const n = 20
			pairs := make([]pair, n)
			errs := make([]error, n)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					pairs[i], errs[i] = e.refresh(ctx, first.refresh)
				}()
			}
			close(start)
			wg.Wait()

			seen := map[string]bool{}
			for i := range n {
				if errs[i] != nil {
					t.Fatalf("refresh %d: %s: %v", i, errorName(errs[i]), errs[i])
				}
				if seen[pairs[i].access] || seen[pairs[i].refresh] {
					t.Fatalf("refresh %d returned a token another refresh returned", i)
				}
				seen[pairs[i].access], seen[pairs[i].refresh] = true, true
			}
			for i := range n {
				e.assertActive(t, pairs[i], family)
			}

			e.clock.Advance(testGrace + time.Second)
			_, err = e.refresh(ctx, first.refresh)
			if got := errorName(err); got != "invalid_grant" {
				t.Fatalf("replay after the grace period: %q (%v), want invalid_grant", got, err)
			}
			for i := range n {
				e.assertRevoked(t, pairs[i])
			}
			// A pair minted in the grace window cannot be refreshed any more either.
			if _, err := e.refresh(ctx, pairs[0].refresh); errorName(err) != "invalid_grant" {
				t.Fatalf("refresh of a revoked family's token: %v, want invalid_grant", err)
			}
		})
	}
}

// A repeat inside the grace period must not revoke the pair the first refresh
// returned (two tabs: each keeps working), and each new refresh token can be
// rotated in turn.
func TestRefreshRepeatWithinGraceKeepsSiblingPairs(t *testing.T) {
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b, nil)
			ctx := context.Background()
			first := e.login(t)
			family, _ := e.requestIDOf(first.refresh, fosite.RefreshToken)

			tab1, err := e.refresh(ctx, first.refresh)
			if err != nil {
				t.Fatal(err)
			}
			e.clock.Advance(testGrace - time.Second)
			tab2, err := e.refresh(ctx, first.refresh)
			if err != nil {
				t.Fatalf("repeat within the grace period: %v", err)
			}
			e.assertActive(t, tab1, family)
			e.assertActive(t, tab2, family)

			// Each tab rotates its own token; the other tab's pair is untouched.
			tab1b, err := e.refresh(ctx, tab1.refresh)
			if err != nil {
				t.Fatal(err)
			}
			e.assertActive(t, tab1b, family)
			e.assertActive(t, tab2, family)

			// The grace period runs from the first use: a repeat one second later
			// than testGrace after it is reuse, though the last repeat was recent.
			e.clock.Advance(2 * time.Second)
			if _, err := e.refresh(ctx, first.refresh); errorName(err) != "invalid_grant" {
				t.Fatalf("replay after the grace period: %v, want invalid_grant", err)
			}
			for _, p := range []pair{tab1b, tab2} {
				e.assertRevoked(t, p)
			}
		})
	}
}

// With the grace period turned off every repeat is reuse, fosite's own rule.
func TestRefreshWithoutGraceRevokesOnFirstRepeat(t *testing.T) {
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b, func(c *Config) { c.RefreshGracePeriod = -1 })
			ctx := context.Background()
			first := e.login(t)
			next, err := e.refresh(ctx, first.refresh)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.refresh(ctx, first.refresh); errorName(err) != "invalid_grant" {
				t.Fatalf("immediate repeat: %v, want invalid_grant", err)
			}
			e.assertRevoked(t, next)
		})
	}
}

// ASVS 10.4.8: however often a family is refreshed, it ends at its absolute
// lifetime.
func TestRefreshFamilyAbsoluteLifetime(t *testing.T) {
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b, func(c *Config) { c.MaxRefreshFamilyLifetime = time.Hour })
			ctx := context.Background()
			p := e.login(t)
			e.clock.Advance(40 * time.Minute)
			p, err := e.refresh(ctx, p.refresh)
			if err != nil {
				t.Fatalf("refresh inside the family's lifetime: %v", err)
			}
			e.clock.Advance(40 * time.Minute)
			if _, err := e.refresh(ctx, p.refresh); errorName(err) != "invalid_grant" {
				t.Fatalf("refresh after the family's lifetime: %v, want invalid_grant", err)
			}
			if _, err := e.store.GetRefreshTokenSession(ctx, e.strategy.RefreshTokenSignature(ctx, p.refresh), nil); !errors.Is(err, fosite.ErrNotFound) {
				t.Fatalf("GetRefreshTokenSession after the family's lifetime: %v, want ErrNotFound", err)
			}
		})
	}
}

// RFC 7009: revoking a refresh token ends its family at once, and a revoked
// family cannot be rotated even inside the grace period.
func TestRevocationEndsFamilyEvenWithinGrace(t *testing.T) {
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b, nil)
			ctx := context.Background()
			first := e.login(t)
			next, err := e.refresh(ctx, first.refresh)
			if err != nil {
				t.Fatal(err)
			}
			form := url.Values{"token": {next.refresh}, "token_type_hint": {"refresh_token"}}
			r := httptest.NewRequest("POST", "https://puguh.test/oauth/revoke", strings.NewReader(form.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.SetBasicAuth(testClientID, testClientSecret)
			if err := e.provider.NewRevocationRequest(ctx, r); err != nil {
				t.Fatalf("revoke: %v", err)
			}
			e.assertRevoked(t, next)
			if _, err := e.refresh(ctx, first.refresh); errorName(err) != "invalid_grant" {
				t.Fatalf("repeat within grace after revocation: %v, want invalid_grant", err)
			}
		})
	}
}

// A revocation that starts while a rotation's transaction is open waits for it
// and then also ends the pair that rotation minted: no token escapes (RFC 9700
// §4.14.2). This is the order fosite produces when a reuse is detected while
// a legitimate refresh of the same family commits.
func TestRevocationWaitsForConcurrentRotation(t *testing.T) {
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b, nil)
			ctx := context.Background()
			r := newRequest(t, e, "grant-1", time.Now().Add(time.Hour))
			if err := e.store.CreateRefreshTokenSession(ctx, "rt-1", "at-1", r); err != nil {
				t.Fatal(err)
			}

			rotation, err := e.store.BeginTX(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, step := range []func() error{
				func() error { return e.store.RotateRefreshToken(rotation, "grant-1", "rt-1") },
				func() error { return e.store.CreateAccessTokenSession(rotation, "at-2", r) },
				func() error { return e.store.CreateRefreshTokenSession(rotation, "rt-2", "at-2", r) },
			} {
				if err := step(); err != nil {
					t.Fatal(err)
				}
			}
			revoked := make(chan error, 1)
			go func() {
				rctx, err := e.store.BeginTX(ctx)
				if err == nil {
					err = errors.Join(e.store.RevokeRefreshToken(rctx, "grant-1"), e.store.RevokeAccessToken(rctx, "grant-1"))
				}
				if err == nil {
					err = e.store.Commit(rctx)
				}
				revoked <- err
			}()
			time.Sleep(100 * time.Millisecond) // let the revocation block on the rotation's lock
			if err := e.store.Commit(rotation); err != nil {
				t.Fatal(err)
			}
			if err := <-revoked; err != nil {
				t.Fatalf("revocation: %v", err)
			}
			for _, sig := range []string{"rt-1", "rt-2"} {
				if _, err := e.store.GetRefreshTokenSession(ctx, sig, nil); !errors.Is(err, fosite.ErrInactiveToken) {
					t.Errorf("refresh token %s: %v, want ErrInactiveToken", sig, err)
				}
			}
		})
	}
}
