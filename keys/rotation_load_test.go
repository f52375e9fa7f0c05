package keys

import (
	"context"
	"errors"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// TestNoVerificationFailuresThroughRotations covers docs/security.md, "Tokens and keys": two replicas
// sign tokens while the clock runs through several scheduled rotations; each
// token is verified by the other replica and by a go-oidc resource server that
// caches our JWKS. No token that is still valid may fail.
func TestNoVerificationFailuresThroughRotations(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.cfg.RotationPeriod = 2 * time.Hour
		m1, m2 := e.open(t), e.openReplica(t)
		replicas := []*Manager{m1, m2}
		srv := httptest.NewServer(jwksServer(m2))
		defer srv.Close()
		rs := oidc.NewRemoteKeySet(ctx, srv.URL)

		var (
			stop              atomic.Bool
			verified, expired atomic.Int64
			failures          atomic.Int64
			firstErr          atomic.Value
			kidsMu            sync.Mutex
			kids              = map[string]bool{}
			wg                sync.WaitGroup
			lifetime          = e.cfg.MaxTokenLifetime
		)
		for w := range 4 {
			wg.Go(func() {
				for i := 0; !stop.Load(); i++ {
					signer, verifier := replicas[(w+i)%2], replicas[(w+i+1)%2]
					iat := e.clock.Now()
					token, err := signer.Sign(accessTokenClaims(iat, lifetime), "at+jwt")
					if err != nil {
						failures.Add(1)
						firstErr.CompareAndSwap(nil, err)
						continue
					}
					vt, err := verifier.Verifier().Verify(token)
					if err == nil {
						_, err = rs.VerifySignature(ctx, token)
					}
					switch {
					case err == nil:
						verified.Add(1)
						kidsMu.Lock()
						kids[vt.KeyID] = true
						kidsMu.Unlock()
					case !e.clock.Now().Before(iat.Add(lifetime)):
						// The fake clock ran past exp while we worked: no
						// resource server would accept it anyway.
						expired.Add(1)
					default:
						failures.Add(1)
						firstErr.CompareAndSwap(nil, err)
					}
				}
			})
		}

		// About eight rotations, in five-minute steps; the replicas refresh in
		// turn, so one always lags the other.
		for i := range 200 {
			e.clock.Advance(5 * time.Minute)
			for j := range replicas {
				if err := replicas[(i+j)%2].Refresh(ctx); err != nil {
					t.Errorf("Refresh: %v", err)
				}
			}
		}
		stop.Store(true)
		wg.Wait()

		if n := failures.Load(); n != 0 {
			t.Fatalf("%d verification failures (first: %v); %d verified", n, firstErr.Load(), verified.Load())
		}
		if len(kids) < 5 {
			t.Fatalf("tokens were signed with %d keys; the test did not rotate enough", len(kids))
		}
		t.Logf("%d tokens verified across %d keys, %d expired in flight", verified.Load(), len(kids), expired.Load())
	})
}

// TestRunStopsWithContext checks the background loop returns on cancellation.
func TestRunStopsWithContext(t *testing.T) {
	m, _ := newMemManager(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- m.Run(ctx) }()
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v", err)
	}
}
