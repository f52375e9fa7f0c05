package oauthstore

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ory/fosite"

	"github.com/arsaka/puguh/storage/sqlstore/sqltest"
)

// docs/security.md, "Token endpoint": of concurrent redemptions of one code exactly one succeeds.
// A loser either reads the code as used (invalid_grant) or loses the
// conditional invalidation inside its transaction, which fosite reports as
// server_error wrapping ErrInvalidatedAuthorizeCode.
func TestConcurrentCodeRedemptionSucceedsOnce(t *testing.T) {
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b, nil)
			ctx := context.Background()
			code, verifier := e.authorize(t)

			const n = 10
			errs := make([]error, n)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					_, errs[i] = e.exchange(ctx, code, verifier)
				}()
			}
			close(start)
			wg.Wait()

			wins := 0
			for i, err := range errs {
				switch {
				case err == nil:
					wins++
				case errorName(err) == "invalid_grant", errors.Is(err, fosite.ErrInvalidatedAuthorizeCode):
				default:
					t.Errorf("redemption %d: %s: %v", i, errorName(err), err)
				}
			}
			if wins != 1 {
				t.Fatalf("%d redemptions succeeded, want exactly 1", wins)
			}
		})
	}
}

// docs/security.md, "Token endpoint": a second redemption is invalid_grant and revokes what the first
// issued.
func TestCodeReuseRevokesIssuedTokens(t *testing.T) {
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b, nil)
			ctx := context.Background()
			code, verifier := e.authorize(t)
			first, err := e.exchange(ctx, code, verifier)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.exchange(ctx, code, verifier); errorName(err) != "invalid_grant" {
				t.Fatalf("second redemption: %v, want invalid_grant", err)
			}
			e.assertRevoked(t, first)
		})
	}
}

// The same race at the store, made certain: every redeemer reads the code as
// active before any invalidates it, as fosite's token handler does (read
// outside, invalidate inside its transaction). Exactly one invalidation wins.
func TestConcurrentCodeInvalidationWinsOnce(t *testing.T) {
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b, nil)
			ctx := context.Background()
			if err := e.store.CreateAuthorizeCodeSession(ctx, "code-sig", newRequest(t, e, "grant-1", time.Now().Add(time.Hour))); err != nil {
				t.Fatal(err)
			}
			const n = 8
			var read, wg sync.WaitGroup
			read.Add(n)
			errs := make([]error, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := e.store.GetAuthorizeCodeSession(ctx, "code-sig", nil)
					read.Done()
					if err != nil {
						errs[i] = err
						return
					}
					read.Wait()
					txCtx, err := e.store.BeginTX(ctx)
					if err != nil {
						errs[i] = err
						return
					}
					if errs[i] = e.store.InvalidateAuthorizeCodeSession(txCtx, "code-sig"); errs[i] != nil {
						_ = e.store.Rollback(txCtx)
						return
					}
					errs[i] = e.store.Commit(txCtx)
				}()
			}
			wg.Wait()
			wins := 0
			for i, err := range errs {
				switch {
				case err == nil:
					wins++
				case !errors.Is(err, fosite.ErrInvalidatedAuthorizeCode):
					t.Errorf("redeemer %d: %v, want ErrInvalidatedAuthorizeCode", i, err)
				}
			}
			if wins != 1 {
				t.Fatalf("%d invalidations won, want exactly 1", wins)
			}
		})
	}
}
